"""The fuzzing harness shared by the hypothesis tests and the atheris target.

`check_input(data)` sends one input through the two ways telemetry enters Volta — the wire
decoder (`decode_batch`) and the whole ingest preparation (`prepare`: decode, VIN and header
checks, catalog validation) — and asserts what a user relies on:

- `decode_batch` either answers a `DecodedBatch` or raises `DecodeError`/`PayloadTooLarge`
  with a short, non-empty reason; nothing else escapes it.
- `prepare` never raises. It refuses the message whole (a known code, a reason, one
  quarantine record) or accepts it, in which case every sample of the batch is either stored
  or quarantined with its own reason: nothing is lost, nothing is counted twice.
- Whatever is accepted can be read back (`from_stored`), holds no NaN/inf and no text a store
  could not encode.
- The two agree: `prepare` calls the message undecodable exactly when `decode_batch` refuses it.

It uses a catalog of the packaged VSS signals plus one or two synthetic signals per VSS
datatype (`FUZZ_SIGNALS`): VSS 6.0 has no int64, uint64, boolean[] or int8[] signal, and a fuzzer
should reach every validator anyway.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

from volta.catalog import Catalog, Signal, default_catalog
from volta.catalog.checks import DATATYPES, INT_RANGES
from volta.catalog.ids import signal_id
from volta.errors import DecodeError, PayloadTooLarge
from volta.ingest import codes
from volta.ingest.pipeline import Limits, prepare
from volta.wire import DecodedBatch, decode_batch, is_valid_vin
from volta.wire.batch import INT64_MAX, MAX_SIGNAL_LENGTH
from volta.wire.decode import MAX_QUARANTINE_SAMPLE_BYTES

VIN = "JHMZZ1A1XRV000001"
T0 = 1_764_201_600_000  # the golden vectors' base time
NOW_MS = T0 + 100_000  # the frozen gateway clock
MAX_BYTES = 16 * 1024  # small, so that "too large" is reachable by mutation
# A reason is read by people and stored with every quarantined message: it must stay short
# whatever the input (no echo of a 16 KiB string).
MAX_REASON = 1024
_TOO_DEEP = "nested too deeply to decode"
LIMITS = Limits(now_ms=NOW_MS, max_batch_bytes=MAX_BYTES, max_samples_per_batch=500)

WHOLE_CODES = frozenset(
    {
        codes.UNDECODABLE,
        codes.TOO_LARGE,
        codes.INVALID_VIN,
        codes.VIN_MISMATCH,
        codes.TS_IN_FUTURE,
        codes.TS_TOO_OLD,
        codes.TOO_MANY_SAMPLES,
    }
)
SAMPLE_CODES = frozenset(
    {
        codes.UNKNOWN_SIGNAL,
        codes.WRONG_TYPE,
        codes.OUT_OF_RANGE,
        codes.NOT_ALLOWED,
        codes.NOT_FINITE,
        codes.TOO_LONG,
        codes.INVALID_VALUE,
        codes.MALFORMED,
        codes.NEGATIVE_OFFSET,
        codes.TS_IN_FUTURE,
    }
)


def _fuzz_signal(datatype: str, constrained: bool) -> Signal:
    name = datatype.replace("[]", "Array").capitalize() + ("Constrained" if constrained else "")
    path = f"Vehicle.Fuzz.{name}"
    base = datatype.removesuffix("[]")
    lo: int | float | None = None
    hi: int | float | None = None
    allowed: tuple[str | int | float, ...] | None = None
    pattern = None
    if constrained:
        if base in INT_RANGES:
            lo, hi = 1, 100
        elif base in ("float", "double"):
            lo, hi = -1.5, 99.5
        elif base == "string":
            allowed = ("ON", "OFF", "AUTO")
    elif base == "string" and datatype == "string":
        pattern = "[A-Z]{3}[0-9]*"
    return Signal(
        path,
        signal_id(path),
        "sensor",
        datatype,
        min=lo,
        max=hi,
        allowed=allowed,
        pattern=pattern,
        max_length=64,
        max_items=8,
    )


# Every VSS datatype, with the type's own bounds and with narrower ones (or allowed values).
FUZZ_SIGNALS: tuple[Signal, ...] = tuple(
    _fuzz_signal(dt, constrained) for dt in sorted(DATATYPES) for constrained in (False, True)
)


@cache
def fuzz_catalog() -> Catalog:
    """The packaged catalog plus `FUZZ_SIGNALS`."""
    base = default_catalog()
    return Catalog([*base, *FUZZ_SIGNALS], base.branches | {"Vehicle.Fuzz"}, base.vss_version)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one input: refused whole (with the reason), or accepted in part."""

    refused: str | None
    accepted: int
    rejected: int


def _check_reason(reason: object) -> None:
    assert isinstance(reason, str) and reason.strip(), f"empty reason {reason!r}"
    assert len(reason) <= MAX_REASON, f"reason of {len(reason)} characters: {reason[:200]!r}…"


def _check_decoded(decoded: DecodedBatch) -> int:
    """The decoded batch is well-formed; returns its number of samples (good + malformed)."""
    assert decoded.v == 1
    assert is_valid_vin(decoded.vin)
    assert 0 <= decoded.seq <= INT64_MAX
    n = len(decoded.samples) + len(decoded.malformed)
    positions = list(range(len(decoded.samples))) if decoded.indices is None else decoded.indices
    assert len(positions) == len(decoded.samples)
    bad = [i for i, _, _ in decoded.malformed]
    assert sorted([*positions, *bad]) == list(range(n)), "a sample was lost or doubled"
    for i, reason, raw in decoded.malformed:
        _check_reason(reason)
        assert reason.startswith(f"sample {i}: "), reason
        assert len(raw) <= MAX_QUARANTINE_SAMPLE_BYTES
    for offset, signal, value in decoded.samples:
        assert type(offset) is int and 0 <= offset <= INT64_MAX
        if type(signal) is str:
            assert 1 <= len(signal) <= MAX_SIGNAL_LENGTH
        else:
            assert type(signal) is int and 0 <= signal <= INT64_MAX
        items = value if type(value) is list else [value]
        assert all(type(x) in (bool, int, float, str) for x in items), repr(value)[:200]
    return n


def check_input(data: bytes, catalog: Catalog | None = None) -> Outcome:
    """Run `data` through `decode_batch` and `prepare` and check the invariants above.

    Raises AssertionError when one is broken; any other exception is a bug that escaped."""
    catalog = catalog if catalog is not None else fuzz_catalog()
    vin = VIN
    n_samples: int | None = None
    refusal: str | None = None
    try:
        decoded = decode_batch(data, MAX_BYTES)
    except (DecodeError, PayloadTooLarge) as err:
        refusal = str(err)
        _check_reason(refusal)
    else:
        n_samples = _check_decoded(decoded)
        vin = decoded.vin  # authenticate as the batch's vehicle, so that validation runs

    prepared = prepare(data, vin, NOW_MS, catalog, LIMITS)
    # Past MAX_NESTING levels the decoder may refuse a message whole ("nested too deeply"):
    # msgspec's recursion guard is the interpreter's, so where it trips depends on how deep the
    # caller's stack already is, and the two calls above may disagree (docs/wire-format.md).
    too_deep = any(_TOO_DEEP in (r or "") for r in (refusal, prepared.reason))
    if prepared.batch is None:
        assert prepared.error in WHOLE_CODES, prepared.error
        _check_reason(prepared.reason)
        assert len(prepared.quarantine) == 1
        assert prepared.quarantine[0].raw == data[: LIMITS.quarantine_max_bytes]
        if not too_deep:
            decodable = prepared.error not in (codes.UNDECODABLE, codes.TOO_LARGE)
            assert decodable == (refusal is None), (prepared.reason, refusal)
            assert refusal is None or prepared.reason == refusal
        return Outcome(prepared.reason, 0, 0)

    if too_deep:  # decode_batch refused it whole, prepare (at another stack depth) did not
        n_samples = len(prepared.batch.signal_ids) + prepared.batch.rejected
    assert n_samples is not None, "prepare accepted what decode refused"
    batch = prepared.batch
    accepted = len(batch.signal_ids)
    assert len(batch.ts) == len(batch.num) == len(batch.txt) == accepted
    assert batch.rejected == len(prepared.quarantine)
    assert accepted + batch.rejected == n_samples, "a sample was neither stored nor rejected"
    seen: set[int] = set()
    for record in prepared.quarantine:
        _check_reason(record.reason)
        assert record.code in SAMPLE_CODES, record.code
        assert record.sample_index is not None and 0 <= record.sample_index < n_samples
        assert record.sample_index not in seen, "a sample was rejected twice"
        seen.add(record.sample_index)
        assert record.reason.startswith(f"sample {record.sample_index}: "), record.reason
        assert len(record.raw) <= 512
    for sid, num, txt in zip(batch.signal_ids, batch.num, batch.txt, strict=True):
        assert (num is None) != (txt is None), "exactly one column holds a value"
        if num is not None:
            assert math.isfinite(num), f"stored {num!r} for signal {sid}"
        if txt is not None:
            txt.encode("utf-8")  # a lone surrogate would break every store
        catalog.get(sid).from_stored(num, txt)  # what is stored can be read back
    return Outcome(None, accepted, batch.rejected)
