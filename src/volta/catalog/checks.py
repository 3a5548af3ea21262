"""Value checks and storage conversions, specialised once per signal when the catalog loads.

`check` runs for every sample the gateway receives, so each signal gets its own closure with its
bounds bound in: the usual case (a float in range) is one type test and one chained comparison,
without looking at the datatype string again. NaN fails every comparison and ±inf lies outside
every finite bound, so they also fall off the fast path; the slow path (`explain`) then says why.

Decisions, each pinned by a test:
- booleans are only `True`/`False`, never 0/1; and a bool is never a number (`type(x) is int`).
- integer signals accept Python `int` only, not `3.0`: a float on an integer signal means the
  sender got the type wrong, and accepting it would hide a fraction one day.
- float/double signals accept `int` or `float` (JSON writes 42.0 as 42), finite only; float
  must fit float32's range, double float64's. Values are not rounded to float32.
- int64/uint64 are limited to ±2**53: the numeric column is float64 and must hold them exactly.
  (VSS 6.0 has no 64-bit integer signal; the limit keeps `from_stored(to_stored(v)) == v`.)
- strings are bounded in length and must be valid Unicode (no lone surrogates, which no store
  can encode); arrays are lists (or tuples) of bounded length whose every item passes the
  element type's check; `allowed` and min/max apply to each item of an array.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, NamedTuple

import msgspec

Check = Callable[[object], "str | None"]
Explain = Callable[[str, object], "str | None"]
ToStored = Callable[[Any], "tuple[float | None, str | None]"]
FromStored = Callable[["float | None", "str | None"], Any]
Number = int | float
Scalar = str | int | float  # an allowed value

FLOAT32_MAX = 3.4028234663852886e38
DOUBLE_MAX = sys.float_info.max
EXACT_INT_MAX = 2**53  # the largest range in which float64 holds every integer

INT_RANGES: dict[str, tuple[int, int]] = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-EXACT_INT_MAX, EXACT_INT_MAX),
    "uint8": (0, 2**8 - 1),
    "uint16": (0, 2**16 - 1),
    "uint32": (0, 2**32 - 1),
    "uint64": (0, EXACT_INT_MAX),
}
FLOAT_RANGES: dict[str, tuple[float, float]] = {
    "float": (-FLOAT32_MAX, FLOAT32_MAX),
    "double": (-DOUBLE_MAX, DOUBLE_MAX),
}
SCALAR_TYPES = frozenset([*INT_RANGES, *FLOAT_RANGES, "boolean", "string"])
DATATYPES = SCALAR_TYPES | {t + "[]" for t in SCALAR_TYPES}

# What the JSON text of a text-stored datatype decodes to (msgspec turns ints into floats for
# float[], so values come back with the Python type of their VSS type).
_TEXT_TYPES: dict[str, Any] = {
    "string": str,
    "string[]": list[str],
    "boolean[]": list[bool],
    **{t + "[]": list[int] for t in INT_RANGES},
    **{t + "[]": list[float] for t in FLOAT_RANGES},
}


class Rule(NamedTuple):
    """How one signal's values are checked: `fits` is the fast yes/no; `explain(where, value)`
    is the full check, None when the value fits, else the reason a user reads."""

    fits: Callable[[object], bool]
    explain: Explain


class Conversions(NamedTuple):
    """Everything a `Signal` derives from its metadata at load time."""

    numeric: bool
    check: Check
    to_stored: ToStored
    from_stored: FromStored


def show(value: object) -> str:
    """A short, safe rendering of a received value for an error message."""
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else repr(value[:40]) + "…"
    if isinstance(value, int) and value.bit_length() > 64:
        # repr of a huge int is slow and, past 4300 digits, refused by Python.
        return f"an integer of {value.bit_length()} bits"
    if value is None or isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple | dict):
        n = len(value)
        return f"a {type(value).__name__} of {n} item{'' if n == 1 else 's'}"
    return f"a value of type {type(value).__name__}"


def _number_rule(
    datatype: str,
    lo: Number,
    hi: Number,
    lo_note: str,
    hi_note: str,
    allowed: Sequence[Scalar] | None,
) -> Rule:
    is_int = datatype in INT_RANGES
    allowed_set = frozenset(allowed) if allowed is not None else None
    shown_allowed = list(allowed) if allowed is not None else None  # in the spec's order

    def explain(where: str, value: object) -> str | None:
        if is_int:
            if type(value) is not int:
                hint = ""
                if type(value) is float and value.is_integer():
                    hint = " (a float; send an integer)"
                return f"{where} expects {datatype}, got {show(value)}{hint}"
        elif type(value) is not float and type(value) is not int:
            return f"{where} expects {datatype}, got {show(value)}"
        elif type(value) is float and not math.isfinite(value):
            what = "NaN is not a number" if value != value else f"{value} is not a finite number"
            return f"{where}: {what}"
        if value < lo:
            return f"{where}: {show(value)} is below min {lo!r}{lo_note}"
        if value > hi:
            return f"{where}: {show(value)} is above max {hi!r}{hi_note}"
        if allowed_set is not None and value not in allowed_set:
            return f"{where}: {show(value)} is not one of {shown_allowed}"
        return None

    if allowed is not None:
        return Rule(lambda v: explain("", v) is None, explain)
    if is_int:
        return Rule(lambda v: type(v) is int and lo <= v <= hi, explain)
    return Rule(lambda v: (type(v) is float or type(v) is int) and lo <= v <= hi, explain)


def _boolean_rule() -> Rule:
    def explain(where: str, value: object) -> str | None:
        if value is True or value is False:
            return None
        return f"{where} expects boolean, got {show(value)}"

    return Rule(lambda v: v is True or v is False, explain)


def _string_rule(
    max_length: int, allowed: Sequence[Scalar] | None, pattern: re.Pattern[str] | None
) -> Rule:
    allowed_set = frozenset(allowed) if allowed is not None else None
    shown_allowed = list(allowed) if allowed is not None else None  # in the spec's order

    def explain(where: str, value: object) -> str | None:
        if type(value) is not str:
            return f"{where} expects string, got {show(value)}"
        if len(value) > max_length:
            return f"{where}: a string of {len(value)} characters is over the limit of {max_length}"
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return f"{where}: {show(value)} is not valid Unicode (lone surrogate)"
        if allowed_set is not None and value not in allowed_set:
            return f"{where}: {show(value)} is not one of {shown_allowed}"
        if pattern is not None and pattern.fullmatch(value) is None:
            return f"{where}: {show(value)} does not match the pattern {pattern.pattern}"
        return None

    return Rule(lambda v: explain("", v) is None, explain)


def _array_rule(datatype: str, element: Rule, max_items: int) -> Rule:
    fits, explain_item = element

    def explain(where: str, value: object) -> str | None:
        if type(value) is not list and type(value) is not tuple:
            return f"{where} expects {datatype}, got {show(value)}"
        if len(value) > max_items:
            return f"{where}: {len(value)} items are over the limit of {max_items}"
        for i, item in enumerate(value):
            if not fits(item):
                return explain_item(f"{where}[{i}]", item)
        return None

    return Rule(lambda v: explain("", v) is None, explain)


def _bounds(
    datatype: str, spec_min: Number | None, spec_max: Number | None
) -> tuple[Number, Number, str, str]:
    """Effective (lo, hi) and, for each, a note when the bound is the type's, not the spec's."""
    wlo, whi = INT_RANGES.get(datatype) or FLOAT_RANGES[datatype]
    why = f" ({datatype} range)"
    if datatype in ("int64", "uint64"):
        why = f" ({datatype} values must fit float64 exactly)"
    if spec_min is not None and spec_min >= wlo:
        lo, lo_note = spec_min, ""
    else:
        lo, lo_note = wlo, why
    if spec_max is not None and spec_max <= whi:
        hi, hi_note = spec_max, ""
    else:
        hi, hi_note = whi, why
    return lo, hi, lo_note, hi_note


def element_rule(
    base: str,
    spec_min: Number | None,
    spec_max: Number | None,
    allowed: Sequence[Scalar] | None,
    pattern: str | None,
    max_length: int,
) -> Rule:
    """The rule for one scalar VSS datatype (also used for each item of an array)."""
    if base == "boolean":
        return _boolean_rule()
    if base == "string":
        return _string_rule(max_length, allowed, re.compile(pattern) if pattern else None)
    lo, hi, lo_note, hi_note = _bounds(base, spec_min, spec_max)
    return _number_rule(base, lo, hi, lo_note, hi_note, allowed)


# The per-sample checks of the types a car streams most get an inlined fast path: one type test
# and one chained comparison, falling back on `explain` only to say why a value does not fit.


def _float_check(path: str, lo: Number, hi: Number, explain: Explain) -> Check:
    def check_float(value: object) -> str | None:
        if (type(value) is float or type(value) is int) and lo <= value <= hi:
            return None
        return explain(path, value)

    return check_float


def _int_check(path: str, lo: Number, hi: Number, explain: Explain) -> Check:
    def check_int(value: object) -> str | None:
        if type(value) is int and lo <= value <= hi:
            return None
        return explain(path, value)

    return check_int


def _bool_check(path: str, explain: Explain) -> Check:
    def check_bool(value: object) -> str | None:
        if value is True or value is False:
            return None
        return explain(path, value)

    return check_bool


def _encode_json(value: Any) -> tuple[float | None, str | None]:
    return None, msgspec.json.encode(value).decode()


def _to_float(value: Any) -> tuple[float | None, str | None]:
    return float(value), None


def _bool_to_float(value: Any) -> tuple[float | None, str | None]:
    return (1.0 if value else 0.0), None


def _from_stored(path: str, datatype: str) -> FromStored:
    if datatype.endswith("[]") or datatype == "string":
        decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(_TEXT_TYPES[datatype])

        def from_text(num: float | None, txt: str | None) -> Any:
            if txt is None:
                raise ValueError(f"{path}: a stored {datatype} needs text, got none")
            try:
                return decoder.decode(txt)
            except msgspec.MsgspecError as e:
                raise ValueError(f"{path}: stored text {show(txt)} is not a {datatype}") from e

        return from_text

    convert: Callable[[float], Any]
    if datatype == "boolean":
        convert = bool
    elif datatype in INT_RANGES:
        convert = round
    else:
        convert = float

    def from_number(num: float | None, txt: str | None) -> Any:
        if num is None:
            raise ValueError(f"{path}: a stored {datatype} needs a number, got none")
        return convert(num)

    return from_number


class Inline(NamedTuple):
    """A numeric signal's `check` as data, for checks generated as inline Python code
    (`volta.ingest.samples`): `kind` is "float" (a float or an int, lo <= v <= hi), "int" (an
    int, lo <= v <= hi) or "bool" (True or False; bounds unused)."""

    kind: str
    lo: Number
    hi: Number


def inline_check(
    datatype: str,
    spec_min: Number | None,
    spec_max: Number | None,
    allowed: Sequence[Scalar] | None,
) -> Inline | None:
    """What `build(...).check` accepts, as an `Inline`, for the signals whose check has a fast
    path (`_float_check`, `_int_check`, `_bool_check`); else None."""
    if datatype.endswith("[]") or datatype == "string" or allowed is not None:
        return None
    if datatype == "boolean":
        return Inline("bool", 0, 0)
    lo, hi, _, _ = _bounds(datatype, spec_min, spec_max)
    if datatype in INT_RANGES:
        return Inline("int", lo, hi)
    return Inline("float", float(lo), float(hi))  # as `build` binds them: see there


def build(
    path: str,
    datatype: str,
    spec_min: Number | None,
    spec_max: Number | None,
    allowed: Sequence[Scalar] | None,
    pattern: str | None,
    max_length: int,
    max_items: int,
) -> Conversions:
    """Specialise check and storage conversions for one signal. `datatype` must be valid."""
    base = datatype.removesuffix("[]")
    rule = element_rule(base, spec_min, spec_max, allowed, pattern, max_length)
    from_stored = _from_stored(path, datatype)
    if datatype.endswith("[]"):
        array = _array_rule(datatype, rule, max_items)
        return Conversions(False, partial(array.explain, path), _encode_json, from_stored)
    if base == "string":
        return Conversions(False, partial(rule.explain, path), _encode_json, from_stored)
    if base == "boolean":
        return Conversions(True, _bool_check(path, rule.explain), _bool_to_float, from_stored)
    if allowed is not None:  # a numeric enumeration: rare, no fast path needed
        return Conversions(True, partial(rule.explain, path), _to_float, from_stored)
    lo, hi, _, _ = _bounds(base, spec_min, spec_max)
    if base in INT_RANGES:
        return Conversions(True, _int_check(path, lo, hi, rule.explain), _to_float, from_stored)
    # float bounds: comparing a float with an int bound is ~20 ns slower than float with float.
    check = _float_check(path, float(lo), float(hi), rule.explain)
    return Conversions(True, check, _to_float, from_stored)
