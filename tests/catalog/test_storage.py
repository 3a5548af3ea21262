"""to_stored / from_stored: values survive the two-column store exactly, with their VSS type."""

from __future__ import annotations

import pickle
import re
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from volta.catalog import Signal, default_catalog
from volta.catalog.checks import FLOAT32_MAX, INT_RANGES


def make(datatype: str, **kw: Any) -> Signal:
    return Signal(path="Test.Value", id=1, kind="sensor", datatype=datatype, **kw)


def roundtrip(sig: Signal, value: object) -> Any:
    assert sig.check(value) is None
    num, txt = sig.to_stored(value)
    assert (num is None) is (not sig.numeric)
    assert (txt is None) is sig.numeric
    return sig.from_stored(num, txt)


def test_numbers_are_stored_as_floats() -> None:
    assert make("uint8").to_stored(7) == (7.0, None)
    assert make("float").to_stored(42.5) == (42.5, None)
    assert make("double").to_stored(3) == (3.0, None)


def test_booleans_are_stored_as_one_and_zero() -> None:
    sig = make("boolean")
    assert sig.to_stored(True) == (1.0, None)
    assert sig.to_stored(False) == (0.0, None)
    assert sig.from_stored(1.0, None) is True
    assert sig.from_stored(0.0, None) is False


def test_strings_and_arrays_are_stored_as_json_text() -> None:
    assert make("string").to_stored('say "hi"') == (None, '"say \\"hi\\""')
    assert make("string[]").to_stored(["A", "B"]) == (None, '["A","B"]')
    assert make("float[]").to_stored((3.5, 4)) == (None, "[3.5,4]")


def test_from_stored_gives_the_vss_python_type() -> None:
    assert type(make("int16").from_stored(-3.0, None)) is int
    assert type(make("float").from_stored(2.0, None)) is float
    assert make("float[]").from_stored(None, "[1,2.5]") == [1.0, 2.5]
    assert all(type(x) is float for x in make("float[]").from_stored(None, "[1,2.5]"))
    assert make("string").from_stored(None, '"x"') == "x"


def test_from_stored_refuses_the_wrong_column() -> None:
    with pytest.raises(ValueError, match=re.escape("Test.Value: a stored float needs a number")):
        make("float").from_stored(None, "1.0")
    with pytest.raises(ValueError, match=re.escape("Test.Value: a stored string needs text")):
        make("string").from_stored(1.0, None)
    with pytest.raises(ValueError, match=r"stored text '\[1\]' is not a string"):
        make("string").from_stored(None, "[1]")


def test_catalog_from_stored_looks_up_by_path_or_id() -> None:
    cat = default_catalog()
    speed = cat.get("Vehicle.Speed")
    assert cat.from_stored("Vehicle.Speed", 42.5, None) == 42.5
    assert cat.from_stored(speed.id, 42.5, None) == 42.5


def test_signal_survives_pickle_and_replace_with_working_check() -> None:
    speed = default_catalog().get("Vehicle.Speed")
    copy = pickle.loads(pickle.dumps(speed))
    assert copy == speed
    assert copy.check(900.0) == "Vehicle.Speed: 900.0 is above max 400"
    narrowed = replace(speed, max=100)
    assert narrowed.check(150.0) == "Vehicle.Speed: 150.0 is above max 100"


# -- property: every value that passes check comes back equal and of the same type -----------

finite_float32 = st.floats(min_value=-FLOAT32_MAX, max_value=FLOAT32_MAX, allow_nan=False)
finite_double = st.floats(allow_nan=False, allow_infinity=False)
# A fixed alphabet (no Unicode table to build, so the test stays fast) aimed at what JSON escapes.
text = st.text(alphabet=st.sampled_from('aZ0 "\\/\n\t\x00\x7fé€😀\u2028'), max_size=32)


def ints(datatype: str) -> st.SearchStrategy[int]:
    lo, hi = INT_RANGES[datatype]
    return st.integers(min_value=lo, max_value=hi)


SCALARS: dict[str, st.SearchStrategy[Any]] = {
    **{t: ints(t) for t in INT_RANGES},
    "float": finite_float32,
    "double": finite_double,
    "boolean": st.booleans(),
    "string": text,
}

typed_values = st.sampled_from(sorted(SCALARS)).flatmap(
    lambda t: st.one_of(
        st.tuples(st.just(t), SCALARS[t]),
        st.tuples(st.just(t + "[]"), st.lists(SCALARS[t], max_size=8)),
    )
)


@given(typed_values)
def test_stored_value_round_trips_exactly(case: tuple[str, Any]) -> None:
    datatype, value = case
    back = roundtrip(make(datatype), value)
    assert back == value
    if isinstance(value, list):
        assert [type(x) for x in back] == [type(x) for x in value]
    else:
        assert type(back) is type(value)


@given(st.integers(min_value=-(2**31), max_value=2**31 - 1))
def test_int_given_for_float_signal_comes_back_as_equal_float(value: int) -> None:
    back = roundtrip(make("double"), value)
    assert back == value
    assert type(back) is float
