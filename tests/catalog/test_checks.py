"""Signal.check: every VSS datatype, its width's edges, NaN/inf, allowed values and arrays."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from volta.catalog import Signal, default_catalog
from volta.catalog.checks import FLOAT32_MAX
from volta.errors import CatalogError

NAN = float("nan")
INF = float("inf")


def make(datatype: str, **kw: object) -> Signal:
    return Signal(path="Test.Value", id=1, kind="sensor", datatype=datatype, **kw)  # type: ignore[arg-type]


# -- integers ----------------------------------------------------------------------------------

WIDTHS = [
    ("int8", -128, 127),
    ("int16", -32768, 32767),
    ("int32", -(2**31), 2**31 - 1),
    ("int64", -(2**53), 2**53),
    ("uint8", 0, 255),
    ("uint16", 0, 65535),
    ("uint32", 0, 2**32 - 1),
    ("uint64", 0, 2**53),
]


@pytest.mark.parametrize(("datatype", "lo", "hi"), WIDTHS)
def test_integer_width_edges_are_accepted(datatype: str, lo: int, hi: int) -> None:
    sig = make(datatype)
    assert sig.check(lo) is None
    assert sig.check(hi) is None


@pytest.mark.parametrize(("datatype", "lo", "hi"), WIDTHS)
def test_integer_one_past_the_width_is_rejected(datatype: str, lo: int, hi: int) -> None:
    sig = make(datatype)
    assert sig.check(hi + 1) == f"Test.Value: {hi + 1} is above max {hi}{_note(datatype)}"
    assert sig.check(lo - 1) == f"Test.Value: {lo - 1} is below min {lo}{_note(datatype)}"


def _note(datatype: str) -> str:
    if datatype in ("int64", "uint64"):
        return f" ({datatype} values must fit float64 exactly)"
    return f" ({datatype} range)"


def test_bool_is_not_accepted_as_int() -> None:
    sig = make("uint8")
    assert sig.check(True) == "Test.Value expects uint8, got True"
    assert sig.check(False) == "Test.Value expects uint8, got False"


def test_integral_float_is_not_accepted_as_int() -> None:
    assert (
        make("int32").check(3.0) == "Test.Value expects int32, got 3.0 (a float; send an integer)"
    )
    assert make("int32").check(3.5) == "Test.Value expects int32, got 3.5"


def test_string_is_not_accepted_as_int() -> None:
    assert make("uint16").check("3") == "Test.Value expects uint16, got '3'"


def test_int_spec_range_is_enforced_without_type_note() -> None:
    sig = make("uint8", min=0, max=100)
    assert sig.check(100) is None
    assert sig.check(101) == "Test.Value: 101 is above max 100"


def test_huge_integer_is_described_not_printed() -> None:
    reason = make("int64").check(10**5000)
    assert reason == "Test.Value: an integer of 16610 bits is above max 9007199254740992" + _note(
        "int64"
    )


# -- floats ------------------------------------------------------------------------------------


@pytest.mark.parametrize("datatype", ["float", "double"])
def test_float_accepts_float_and_int(datatype: str) -> None:
    sig = make(datatype)
    assert sig.check(42.5) is None
    assert sig.check(42) is None
    assert sig.check(-0.0) is None


@pytest.mark.parametrize("datatype", ["float", "double"])
def test_bool_is_not_accepted_as_float(datatype: str) -> None:
    assert make(datatype).check(True) == f"Test.Value expects {datatype}, got True"


@pytest.mark.parametrize("datatype", ["float", "double"])
def test_nan_is_rejected(datatype: str) -> None:
    assert make(datatype).check(NAN) == "Test.Value: NaN is not a number"


@pytest.mark.parametrize("datatype", ["float", "double"])
def test_infinities_are_rejected(datatype: str) -> None:
    assert make(datatype).check(INF) == "Test.Value: inf is not a finite number"
    assert make(datatype).check(-INF) == "Test.Value: -inf is not a finite number"


def test_nan_is_rejected_even_without_range() -> None:
    # Nothing else stops NaN: it compares False with everything.
    sig = make("double", min=None, max=None)
    assert sig.check(NAN) is not None


def test_float_must_fit_float32_range() -> None:
    sig = make("float")
    assert sig.check(FLOAT32_MAX) is None
    assert sig.check(-FLOAT32_MAX) is None
    assert sig.check(1e39) == f"Test.Value: 1e+39 is above max {FLOAT32_MAX!r} (float range)"
    assert sig.check(-1e39) == f"Test.Value: -1e+39 is below min {-FLOAT32_MAX!r} (float range)"


def test_double_takes_values_beyond_float32() -> None:
    assert make("double").check(1e300) is None


def test_float_spec_range_is_enforced() -> None:
    sig = make("float", min=0, max=400)
    assert sig.check(400.0) is None
    assert sig.check(0) is None
    assert sig.check(900.0) == "Test.Value: 900.0 is above max 400"
    assert sig.check(-0.5) == "Test.Value: -0.5 is below min 0"


def test_float_type_error_names_the_value() -> None:
    speed = default_catalog().get("Vehicle.Speed")
    assert speed.check("fast") == "Vehicle.Speed expects float, got 'fast'"
    assert speed.check(None) == "Vehicle.Speed expects float, got None"
    assert speed.check([1.0]) == "Vehicle.Speed expects float, got a list of 1 item"
    assert speed.check({"v": 1, "w": 2}) == "Vehicle.Speed expects float, got a dict of 2 items"
    assert speed.check(b"1") == "Vehicle.Speed expects float, got a value of type bytes"


def test_long_string_value_is_shortened_in_reason() -> None:
    reason = make("float").check("x" * 1000)
    assert reason == "Test.Value expects float, got " + repr("x" * 40) + "…"


# -- booleans ----------------------------------------------------------------------------------


def test_boolean_accepts_true_and_false() -> None:
    sig = make("boolean")
    assert sig.check(True) is None
    assert sig.check(False) is None


@pytest.mark.parametrize(("value", "shown"), [(1, "1"), (0, "0"), (1.0, "1.0"), ("true", "'true'")])
def test_boolean_rejects_lookalikes(value: object, shown: str) -> None:
    assert make("boolean").check(value) == f"Test.Value expects boolean, got {shown}"


# -- strings -----------------------------------------------------------------------------------


def test_string_accepts_text_up_to_the_limit() -> None:
    sig = make("string", max_length=8)
    assert sig.check("") is None
    assert sig.check("12345678") is None
    assert sig.check("123456789") == ("Test.Value: a string of 9 characters is over the limit of 8")


def test_string_default_limit_is_1024() -> None:
    sig = make("string")
    assert sig.check("é" * 1024) is None
    assert sig.check("é" * 1025) is not None


def test_string_rejects_non_strings() -> None:
    assert make("string").check(5) == "Test.Value expects string, got 5"


def test_string_rejects_lone_surrogates() -> None:
    assert make("string").check("a\ud800") == (
        "Test.Value: 'a\\ud800' is not valid Unicode (lone surrogate)"
    )


def test_allowed_values_are_enforced() -> None:
    sig = make("string", allowed=("B", "A"))
    assert sig.check("A") is None
    assert sig.check("X") == "Test.Value: 'X' is not one of ['B', 'A']"  # the spec's order
    assert sig.check("a") == "Test.Value: 'a' is not one of ['B', 'A']"


def test_real_allowed_values_come_from_the_spec() -> None:
    level = default_catalog().get("Vehicle.ADAS.ActiveAutonomyLevel")
    assert level.check("SAE_2") is None
    assert level.check("SAE_6") is not None
    assert level.check("SAE_6").startswith(  # type: ignore[union-attr]
        "Vehicle.ADAS.ActiveAutonomyLevel: 'SAE_6' is not one of ['SAE_0', 'SAE_1',"
    )


def test_numeric_allowed_values_are_enforced() -> None:
    sig = make("uint8", allowed=(1, 2, 4))
    assert sig.check(2) is None
    assert sig.check(3) == "Test.Value: 3 is not one of [1, 2, 4]"
    assert sig.check(256) == "Test.Value: 256 is above max 255 (uint8 range)"
    assert sig.check(True) == "Test.Value expects uint8, got True"


def test_vin_pattern_from_spec_is_enforced() -> None:
    vin = default_catalog().get("Vehicle.VehicleIdentification.VIN")
    assert vin.check("JHMZZ1A1XRV000001") is None
    assert vin.check("JHMZZ1A1XRV00000I") is not None
    assert vin.check("abc") == (
        "Vehicle.VehicleIdentification.VIN: 'abc' does not match the pattern "
        "^([0-9A-HJ-NPR-Z]{3})([0-9A-HJ-NPR-Z]{6})([0-9A-HJ-NPR-Z]{4}[0-9]{4})$"
    )


# -- arrays ------------------------------------------------------------------------------------


def test_array_accepts_list_of_fitting_items() -> None:
    sig = make("float[]")
    assert sig.check([]) is None
    assert sig.check([3.7, 4, -1.5]) is None
    assert sig.check((3.7, 4.1)) is None


def test_array_names_the_first_bad_item() -> None:
    sig = make("float[]")
    assert sig.check([3.7, "x", NAN]) == "Test.Value[1] expects float, got 'x'"
    assert sig.check([3.7, NAN]) == "Test.Value[1]: NaN is not a number"


def test_array_length_is_bounded() -> None:
    sig = make("uint8[]", max_items=3)
    assert sig.check([1, 2, 3]) is None
    assert sig.check([1, 2, 3, 4]) == "Test.Value: 4 items are over the limit of 3"


def test_array_default_length_limit_is_256() -> None:
    sig = make("boolean[]")
    assert sig.check([True] * 256) is None
    assert sig.check([True] * 257) == "Test.Value: 257 items are over the limit of 256"


def test_array_rejects_scalars_and_strings() -> None:
    sig = make("string[]")
    assert sig.check("A") == "Test.Value expects string[], got 'A'"
    assert sig.check(None) == "Test.Value expects string[], got None"


def test_array_items_obey_width_and_bool_rules() -> None:
    sig = make("uint8[]")
    assert sig.check([0, 255]) is None
    assert sig.check([0, 256]) == "Test.Value[1]: 256 is above max 255 (uint8 range)"
    assert sig.check([True]) == "Test.Value[0] expects uint8, got True"


def test_array_items_must_be_allowed() -> None:
    inlets = default_catalog().get(
        "Vehicle.Powertrain.TractionBattery.Charging.ChargingPort.AnyPosition.SupportedInletTypes"
    )
    assert inlets.check(["IEC_TYPE_2_AC", "IEC_TYPE_2_CCS_DC"]) is None
    reason = inlets.check(["IEC_TYPE_2_AC", "TYPE2"])
    assert reason is not None
    assert reason.startswith(f"{inlets.path}[1]: 'TYPE2' is not one of ['IEC_TYPE_1_AC', ")


def test_array_item_strings_are_bounded() -> None:
    sig = make("string[]", max_length=3)
    assert sig.check(["abc"]) is None
    assert sig.check(["abcd"]) == "Test.Value[0]: a string of 4 characters is over the limit of 3"


# -- construction ------------------------------------------------------------------------------


def test_unknown_datatype_is_a_catalog_error() -> None:
    with pytest.raises(CatalogError, match="unsupported datatype 'int128'"):
        make("int128")


def test_unknown_kind_is_a_catalog_error() -> None:
    with pytest.raises(CatalogError, match="kind 'branch'"):
        Signal(path="Test.Value", id=1, kind="branch", datatype="float")


def test_min_above_max_is_a_catalog_error() -> None:
    with pytest.raises(CatalogError, match="min 5 is above max 1"):
        make("float", min=5, max=1)


@pytest.mark.parametrize(
    ("datatype", "numeric"),
    [
        ("boolean", True),
        ("uint8", True),
        ("int64", True),
        ("float", True),
        ("double", True),
        ("string", False),
        ("float[]", False),
        ("string[]", False),
    ],
)
def test_numeric_means_stored_in_the_number_column(datatype: str, numeric: bool) -> None:
    assert make(datatype).numeric is numeric


# -- robustness: the gateway calls check on whatever a vehicle sent ----------------------------

json_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()  # NaN and ±inf included
    | st.text(alphabet=st.sampled_from("aZ_.0é\ud800"), max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["a", "b"]), inner),
    max_leaves=12,
)
ALL_SIGNALS = list(default_catalog())


@given(st.sampled_from(ALL_SIGNALS), json_like)
def test_check_never_raises_and_accepted_values_round_trip(sig: Signal, value: object) -> None:
    reason = sig.check(value)
    if reason is None:
        num, txt = sig.to_stored(value)
        assert (num is not None) is sig.numeric
        assert (txt is not None) is not sig.numeric
        assert num is None or num == num  # never NaN in the numeric column
        assert sig.from_stored(num, txt) == value
    else:
        assert reason.startswith(sig.path)
