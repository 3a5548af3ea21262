"""Fuzzing of the telemetry decoders and validators (issue #7, hardening).

Every input goes through `harness.check_input` (the JSON and MessagePack decoder and the whole
`prepare` path: decode, header and VIN checks, catalog validation), which asserts that nothing
but the documented refusals escapes and that every input ends accepted, or refused or rejected
with a reason. The validators are also fuzzed on their own with (signal, value) pairs for every
VSS datatype.

Most tests let hypothesis draw a seed or a structure and run a cheap inner loop of inputs
derived from it, so that well over 100,000 inputs really go through the decoder in a few
seconds; `test_inputs_executed_add_up_to_100k` counts them. Hypothesis is derandomized and its
database is off: a CI run is the same run every time. `VOLTA_FUZZ_SCALE=10` runs ten times as
many examples (a longer hunt, same invariants).
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import os
import random
import time
from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from volta.catalog import Signal, default_catalog
from volta.catalog.checks import FLOAT_RANGES, INT_RANGES, element_rule
from volta.errors import DecodeError, PayloadTooLarge
from volta.wire import decode_batch

from .harness import FUZZ_SIGNALS, MAX_REASON, NOW_MS, T0, VIN, check_input, fuzz_catalog
from .mutate import corpus, mutate

WIRE_INPUTS_MIN = 100_000
# Normal inputs take tens of microseconds of CPU; this catches a hang or a quadratic blow-up.
SLOW_INPUT_S = 0.5
SCALE = int(os.environ.get("VOLTA_FUZZ_SCALE", "1"))
TEST_TIMEOUT_S = 120 * SCALE


def fuzz_settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


class Runner:
    """Counts the inputs that really went through `check_input` and the slowest one."""

    def __init__(self) -> None:
        self.inputs = 0
        self.slowest_s = 0.0
        self.refused = 0
        self.accepted = 0
        self.rejected = 0

    def __call__(self, data: bytes) -> None:
        start = time.process_time()
        outcome = check_input(data)
        elapsed = time.process_time() - start
        if elapsed > SLOW_INPUT_S:
            # A garbage collection of hypothesis' heap can land on any input: time it again,
            # after one, before calling it slow.
            gc.collect()
            start = time.process_time()
            check_input(data)
            elapsed = min(elapsed, time.process_time() - start)
        self.inputs += 1
        self.slowest_s = max(self.slowest_s, elapsed)
        self.refused += outcome.refused is not None
        self.accepted += outcome.accepted
        self.rejected += outcome.rejected

    def done(self, name: str, at_least: int) -> int:
        assert self.inputs >= at_least, f"{name}: only {self.inputs} inputs ran"
        assert self.slowest_s < SLOW_INPUT_S, f"{name}: an input took {self.slowest_s:.2f} s CPU"
        EXECUTED[name] = self.inputs
        return self.inputs


EXECUTED: dict[str, int] = {}  # inputs run per fuzzer in this session
CORPUS = corpus()

# --- (a) the wire decoders and the whole prepare path ------------------------------------

MUTATION_SEEDS, MUTATIONS_PER_SEED = 700 * SCALE, 100


def fuzz_mutations() -> int:
    """Bit flips, truncation, splices, repeats and hard tokens on the valid corpus."""
    run = Runner()

    @fuzz_settings(MUTATION_SEEDS)
    @given(st.integers(0, 2**64 - 1))
    def one_seed(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(MUTATIONS_PER_SEED):
            run(mutate(rng, rng.choice(CORPUS), CORPUS))

    one_seed()
    return run.done("mutations", MUTATION_SEEDS * MUTATIONS_PER_SEED)


_JSON_HEAD = (
    b'{"v":1,"vin":"' + VIN.encode() + b'","seq":1,"ts":' + str(T0).encode() + b',"samples":['
)
_MSGPACK_HEAD = msgspec.msgpack.encode({"v": 1, "vin": VIN, "seq": 1, "ts": T0})[1:]
RAW_BYTES_EXAMPLES = 3_000 * SCALE


def _byte_variants(data: bytes) -> list[bytes]:
    """Raw bytes as they are, forced into each decoder, and behind a sound header."""
    return [
        data,
        b"{" + data,
        b"\x85" + data,
        b"\xde\x00\x05" + data,
        _JSON_HEAD + data,
        b"\x85" + _MSGPACK_HEAD + b"\xa7samples\xdc\x00\x03" + data,
    ]


def fuzz_raw_bytes() -> int:
    run = Runner()

    @fuzz_settings(RAW_BYTES_EXAMPLES)
    @given(st.binary(max_size=512))
    def one(data: bytes) -> None:
        for variant in _byte_variants(data):
            run(variant)

    one()
    return run.done("raw_bytes", RAW_BYTES_EXAMPLES * 6)


# Structures: mostly batch-shaped, with every field liable to be missing, extra or ill-typed,
# and samples naming real and fuzz signals with values of any type.
_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.integers(),
    st.floats(),
    _text,
    st.just("ON"),
)
_value = st.one_of(
    _scalar,
    st.lists(_scalar, max_size=10),
    st.lists(st.lists(_scalar, max_size=3), max_size=3),
    st.dictionaries(_text, _scalar, max_size=3),
)
_REAL = [
    "Vehicle.Speed",
    "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current",
    "Vehicle.ADAS.ActiveAutonomyLevel",
    "Vehicle.OBD.DTCList",
    "Vehicle.Powertrain.TractionBattery.CellVoltage.CellVoltages",
    "Vehicle.Cabin.Door.Row1.DriverSide.IsOpen",
]
_signal = st.one_of(
    st.sampled_from([s.path for s in FUZZ_SIGNALS] + _REAL),
    st.sampled_from([s.id for s in FUZZ_SIGNALS]),
    st.sampled_from(["Vehicle", "vehicle.speed", "Vehicle.Sped", "Vehicle.Fuzz", ""]),
    st.text(max_size=300),
    st.integers(),
    _scalar,
)
_offset = st.one_of(st.integers(0, 400_000), st.integers(), _scalar)
_sample = st.one_of(
    st.tuples(_offset, _signal, _value).map(list),
    st.tuples(st.integers(0, 1000), _signal, _value).map(list),
    st.lists(_value, max_size=5),
    _value,
)
_batch = st.fixed_dictionaries(
    {
        "v": st.one_of(st.just(1), st.just(1), _scalar),
        "vin": st.one_of(st.just(VIN), st.just(VIN), _text, _scalar),
        "seq": st.one_of(st.integers(0, 2**63 - 1), st.integers(), _scalar),
        "ts": st.one_of(st.integers(T0 - 10**6, NOW_MS + 10**6), st.integers(), _scalar),
        "samples": st.one_of(st.lists(_sample, max_size=25), _value),
    },
    optional={"extra": _value},
)
STRUCTURED_EXAMPLES = 2_000 * SCALE


def _encodings(obj: Any) -> list[bytes]:
    """JSON (ASCII; with raw UTF-8 and lone surrogates; with leading space) and MessagePack;
    the encodings a value cannot have (a 5,000-digit int, a surrogate in MessagePack) left out."""
    out = []
    try:
        text = json.dumps(obj, allow_nan=True, separators=(",", ":"))
        raw = json.dumps(obj, allow_nan=True, ensure_ascii=False)
        out += [text.encode(), b" \n" + raw.encode("utf-8", "surrogatepass")]
    except ValueError:  # an int over Python's 4,300-digit str() limit
        pass
    with contextlib.suppress(OverflowError, UnicodeEncodeError, TypeError):
        out.append(msgspec.msgpack.encode(obj))
    return out


def fuzz_structures() -> int:
    run = Runner()

    @fuzz_settings(STRUCTURED_EXAMPLES)
    @given(_batch)
    def one(batch: dict[str, Any]) -> None:
        for data in _encodings(batch):
            run(data)

    one()
    return run.done("structures", STRUCTURED_EXAMPLES * 2)


NESTING_EXAMPLES = 150 * SCALE
_MARK = "@@X@@"
_NEST_TEMPLATES: list[dict[str, Any]] = [
    {"v": 1, "vin": VIN, "seq": 1, "ts": T0, "samples": [[0, "Vehicle.Speed", _MARK]]},
    {"v": 1, "vin": VIN, "seq": 1, "ts": T0, "samples": [_MARK, [0, "Vehicle.Speed", 1.0]]},
    {"v": 1, "vin": VIN, "seq": 1, "ts": T0, "samples": [[0, _MARK, 1.0]]},
    {"v": 1, "vin": VIN, "seq": 1, "ts": T0, "samples": [[_MARK, "Vehicle.Speed", 1.0]]},
    {"v": 1, "vin": VIN, "seq": _MARK, "ts": T0, "samples": []},
    {"v": 1, "vin": VIN, "seq": 1, "ts": T0, "samples": _MARK},
    {"v": 1, "vin": VIN, "seq": 1, "ts": T0, "samples": [], "x": _MARK},
]


def _nested(depth: int, fmt: str) -> list[bytes]:
    """An array, an object and an unclosed array `depth` levels deep."""
    if fmt == "json":
        return [b"[" * depth + b"]" * depth, b'{"a":' * depth + b"1" + b"}" * depth, b"[" * depth]
    return [b"\x91" * depth + b"\x90", b"\x81\xa1a" * depth + b"\x01", b"\x91" * depth]


def fuzz_nesting() -> int:
    """Deep nesting in every place of a batch, in both encodings, up to the size limit."""
    run = Runner()
    templates = {
        "json": [msgspec.json.encode(t) for t in _NEST_TEMPLATES],
        "msgpack": [msgspec.msgpack.encode(t) for t in _NEST_TEMPLATES],
    }
    marks = {"json": msgspec.json.encode(_MARK), "msgpack": msgspec.msgpack.encode(_MARK)}

    @fuzz_settings(NESTING_EXAMPLES)
    @given(st.integers(0, 5_000))
    def one(depth: int) -> None:
        for fmt, encoded in templates.items():
            for nested in _nested(depth, fmt):
                for template in encoded:
                    run(template.replace(marks[fmt], nested))
                run((b" " if fmt == "json" else b"") + nested)

    one()
    return run.done("nesting", NESTING_EXAMPLES * 48)


# Values at and just past every edge the catalog and the decoders care about.
EXTREMES: list[Any] = [
    math.nan,
    math.inf,
    -math.inf,
    -0.0,
    5e-324,
    1.7976931348623157e308,
    3.4028234663852886e38,
    3.4028236e38,
    1e39,
    0.5,
    42.5,
    100.0,
    99.5,
    99.50000000000001,
    -1.5,
    -1.5000000000000002,
    0,
    1,
    -1,
    100,
    101,
    127,
    128,
    -129,
    255,
    256,
    2**31,
    2**32,
    2**53,
    2**53 + 1,
    -(2**53) - 1,
    2**63 - 1,
    2**63,
    2**64 - 1,
    -(2**63),
    2**64,
    10**400,
    True,
    False,
    "",
    "ON",
    "on",
    "ABC123",
    "ABC123\n",
    "x" * 64,
    "x" * 65,
    "x" * 5000,
    "\ud800",
    "\x00",
    "é" * 64,
    [],
    ["ON", "OFF"],
    [1] * 8,
    [1] * 9,
    [True, 1],
    [1, 2.5],
    [math.nan],
    [[1]],
    [None],
    {"a": 1},
    None,
]
EXTREME_SIGNALS: list[Signal] = [*FUZZ_SIGNALS]
_by_type: dict[str, int] = {}
for _sig in default_catalog():
    if _by_type.get(_sig.datatype, 0) < 2:  # two real signals of every datatype VSS uses
        _by_type[_sig.datatype] = _by_type.get(_sig.datatype, 0) + 1
        EXTREME_SIGNALS.append(_sig)


def fuzz_extremes() -> int:
    """Every edge value on every datatype's signals, by path and by id, in both encodings;
    the pipeline keeps a sample exactly when the catalog's check passes the decoded value."""
    run = Runner()
    for sig in EXTREME_SIGNALS:
        for value in EXTREMES:
            for key in (sig.path, sig.id):
                batch = {"v": 1, "vin": VIN, "seq": 1, "ts": T0, "samples": [[5, key, value]]}
                for data in _encodings(batch):
                    before = run.accepted
                    run(data)
                    kept = run.accepted - before
                    try:
                        decoded = decode_batch(data)
                    except (DecodeError, PayloadTooLarge):  # check_input held it to a reason
                        continue
                    if decoded.samples:
                        assert kept == (sig.check(decoded.samples[0][2]) is None), (sig, value)
                    else:
                        assert kept == 0
    return run.done("extremes", len(EXTREME_SIGNALS) * len(EXTREMES) * 2 * 2)


# --- (b) the catalog validators on their own ---------------------------------------------

_any_value = st.one_of(
    _scalar,
    st.binary(max_size=8),
    st.lists(_scalar, max_size=12),
    st.lists(_scalar, max_size=12).map(tuple),
    st.lists(st.sampled_from(["ON", "OFF", "AUTO", "ABC1"]), max_size=10),
    st.lists(st.integers(-200, 300), max_size=10),
    st.lists(st.floats(-1e40, 1e40), max_size=10),
    st.lists(st.booleans(), max_size=10),
    st.lists(st.lists(_scalar, max_size=2), max_size=3),
    st.dictionaries(_text, _scalar, max_size=2),
    st.sampled_from(EXTREMES),
)
VALIDATOR_EXAMPLES = 1_500 * SCALE


def _same_value(sig: Signal, back: Any, value: Any) -> bool:
    """Whether a stored value read back is the value sent (float types keep float(value))."""
    base = sig.datatype.removesuffix("[]")
    items = list(value) if isinstance(value, list | tuple) else None
    if base in FLOAT_RANGES:
        return bool(back == ([float(x) for x in items] if items is not None else float(value)))
    if base in INT_RANGES and items is None:
        return type(back) is int and back == value
    return bool(back == (items if items is not None else value))


def _check_pair(sig: Signal, value: Any) -> None:
    problem = sig.check(value)
    if problem is not None:
        assert isinstance(problem, str) and problem.strip()
        assert len(problem) <= MAX_REASON
        assert sig.path in problem, problem
    else:
        num, txt = sig.to_stored(value)
        assert (num is None) != (txt is None)
        assert num is None or math.isfinite(num)
        if txt is not None:
            txt.encode("utf-8")
        assert _same_value(sig, sig.from_stored(num, txt), value), (sig.path, value)
    # The specialised fast check and the full rule agree.
    base = sig.datatype.removesuffix("[]")
    rule = element_rule(base, sig.min, sig.max, sig.allowed, sig.pattern, sig.max_length)
    items = value if isinstance(value, list | tuple) else [value]
    for item in items:
        assert rule.fits(item) == (rule.explain(sig.path, item) is None), (sig.path, item)
    if not sig.datatype.endswith("[]"):
        assert (problem is None) == rule.fits(value), (sig.path, value)


def fuzz_validators() -> int:
    """Random (signal, value) pairs into the checks of every VSS datatype."""
    pairs = [0]

    @fuzz_settings(VALIDATOR_EXAMPLES)
    @given(st.lists(_any_value, min_size=1, max_size=6))
    def one(values: list[Any]) -> None:
        for value in values:
            for sig in EXTREME_SIGNALS:
                _check_pair(sig, value)
                pairs[0] += 1

    one()
    assert pairs[0] >= VALIDATOR_EXAMPLES * len(EXTREME_SIGNALS)
    EXECUTED["validator_pairs"] = pairs[0]
    return pairs[0]


WIRE_FUZZERS: dict[str, Callable[[], int]] = {
    "mutations": fuzz_mutations,
    "raw_bytes": fuzz_raw_bytes,
    "structures": fuzz_structures,
    "nesting": fuzz_nesting,
    "extremes": fuzz_extremes,
}


@pytest.mark.timeout(TEST_TIMEOUT_S)
def test_mutated_valid_batches() -> None:
    fuzz_mutations()


@pytest.mark.timeout(TEST_TIMEOUT_S)
def test_raw_bytes() -> None:
    fuzz_raw_bytes()


@pytest.mark.timeout(TEST_TIMEOUT_S)
def test_random_structures_json_and_msgpack() -> None:
    fuzz_structures()


@pytest.mark.timeout(TEST_TIMEOUT_S)
def test_deep_nesting() -> None:
    fuzz_nesting()


@pytest.mark.timeout(TEST_TIMEOUT_S)
def test_extreme_values_on_every_datatype() -> None:
    fuzz_extremes()


@pytest.mark.timeout(TEST_TIMEOUT_S)
def test_validators_every_datatype() -> None:
    fuzz_validators()


def test_fuzz_catalog_covers_every_datatype() -> None:
    from volta.catalog.checks import DATATYPES

    assert {s.datatype for s in FUZZ_SIGNALS} == DATATYPES
    assert all(s.path in fuzz_catalog() for s in FUZZ_SIGNALS)


@pytest.mark.timeout(TEST_TIMEOUT_S * 2)
def test_inputs_executed_add_up_to_100k() -> None:
    """At least 100,000 inputs went through the decoder in this session (the fuzzers not run
    yet, e.g. under `-k`, are run here)."""
    for name, fuzz in WIRE_FUZZERS.items():
        if name not in EXECUTED:
            fuzz()
    wire = sum(EXECUTED[name] for name in WIRE_FUZZERS)
    print(f"\nfuzz inputs: {EXECUTED} (wire total {wire})")
    assert wire >= WIRE_INPUTS_MIN
