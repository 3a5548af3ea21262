"""Validation of the samples of one decoded batch against the catalog, into store columns.

Two paths with the same result (a property test holds them to it): `all_good` handles the
usual batch — every sample a numeric signal with a fitting value — column-wise with `map`, so
that per sample only the catalog's check runs as Python; `each` goes sample by sample, keeps
the good ones and quarantines each bad one with its reason. `columns` tries the first, then
the second.
"""

from __future__ import annotations

import math
from operator import call, itemgetter
from typing import Any, NamedTuple, cast

import msgspec

from volta.catalog import Catalog, Signal
from volta.catalog.checks import Check
from volta.errors import UnknownSignal
from volta.ingest import codes
from volta.store.base import QuarantineRecord

Columns = tuple[list[int], list[int], list[float | None], list[str | None]]
Samples = list[tuple[int, str | int, Any]]

_SAMPLE_RAW_MAX = 512  # bytes kept of one rejected sample

_OFFSET, _KEY, _VALUE = itemgetter(0), itemgetter(1), itemgetter(2)
_FIRST, _SECOND = itemgetter(0), itemgetter(1)


class Header(NamedTuple):
    """What the checks of a batch's samples need from its header and the gateway."""

    vin: str
    seq: int
    ts: int  # the batch's base time
    received_ms: int
    now_ms: int
    max_future_skew_ms: int

    @property
    def latest_offset(self) -> int:
        """The largest offset a sample may have without being too far in the future."""
        return self.now_ms + self.max_future_skew_ms - self.ts


def columns(
    samples: Samples,
    indices: list[int] | None,
    header: Header,
    catalog: Catalog,
    quarantine: list[QuarantineRecord],
) -> Columns:
    """The good samples as store columns; a quarantine record appended per bad one."""
    found = all_good(samples, header, catalog)
    return found if found is not None else each(samples, indices, header, catalog, quarantine)


Rule = tuple[int, Check]  # (signal id, the catalog's check) of one numeric signal
Key = str | int
_SHAPES_MAX = 1024


class Shape(NamedTuple):
    """A sequence of signal keys, all numeric signals, with their ids and checks."""

    keys: list[Key]
    ids: list[int]
    checks: list[Check]


class _Rules:
    """Per catalog: path or id -> Rule of every numeric signal, so that one look-up gives
    both, instead of attribute reads per sample. Strings and arrays are not in it: they take
    the sample-by-sample path.

    Also the rules of recently seen batch *shapes* (the sequence of signal keys): a vehicle
    on a fixed schedule sends the same keys in the same order batch after batch. A hit costs
    one list comparison (string compares are memcmp) instead of hashing every key afresh:
    freshly decoded strings carry no cached hash, and hashing 50-character VSS paths was the
    largest single cost of validation."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.by_key: dict[Key, Rule] = {}
        for sig in catalog:
            if sig.numeric:
                self.by_key[sig.path] = self.by_key[sig.id] = (sig.id, sig.check)
        self.shapes: dict[tuple[int, Key, Key], Shape] = {}

    def of(self, keys: list[Key]) -> Shape | None:
        """The shape of these keys, or None if one of them is not a numeric signal."""
        probe = (len(keys), keys[0], keys[-1])
        hit = self.shapes.get(probe)
        if hit is not None and hit.keys == keys:
            return hit
        found = list(map(self.by_key.get, keys))
        # filter(None, ...) tests truth in C, without comparing items to None one by one.
        if len(list(filter(None, found))) != len(keys):
            return None
        rules = cast(list[Rule], found)
        shape = Shape(keys, list(map(_FIRST, rules)), list(map(_SECOND, rules)))
        if len(self.shapes) >= _SHAPES_MAX:  # many shapes: start over rather than track age
            self.shapes = {}
        self.shapes[probe] = shape
        return shape


# Keyed by id() as a Catalog has no weak references; catalogs are few and live as long as
# the process. Dict operations are atomic, so threads that prepare at once are safe.
_RULES: dict[int, _Rules] = {}


def _rules(catalog: Catalog) -> _Rules:
    rules = _RULES.get(id(catalog))
    if rules is None or rules.catalog is not catalog:
        rules = _RULES[id(catalog)] = _Rules(catalog)
    return rules


def all_good(samples: Samples, header: Header, catalog: Catalog) -> Columns | None:
    """The columns of a batch whose samples are all good and numeric, else None (then `each`
    decides, and says why)."""
    n = len(samples)
    if not n:
        return [], [], [], []
    offsets = list(map(_OFFSET, samples))
    if max(offsets) > header.latest_offset:
        return None
    shape = _rules(catalog).of(list(map(_KEY, samples)))
    if shape is None:
        return None
    values = list(map(_VALUE, samples))
    if any(map(call, shape.checks, values)):
        return None
    ts = header.ts
    # float() is what a numeric signal's to_stored does: a bool becomes 1.0/0.0.
    return (
        shape.ids.copy(),  # each batch owns its columns
        [ts + offset for offset in offsets],
        list(map(float, values)),
        [None] * n,
    )


def each(
    samples: Samples,
    indices: list[int] | None,
    header: Header,
    catalog: Catalog,
    quarantine: list[QuarantineRecord],
) -> Columns:
    """Sample by sample: keep the good ones, quarantine each bad one with its reason."""
    signal_ids: list[int] = []
    times: list[int] = []
    nums: list[float | None] = []
    txts: list[str | None] = []
    resolve, ts, latest_offset = catalog.resolve, header.ts, header.latest_offset
    for pos, (offset, key, value) in enumerate(samples):
        sig = resolve(key)
        problem = None if sig is None else sig.check(value)
        if problem is None and sig is not None and offset <= latest_offset:
            num, txt = sig.to_stored(value)
            signal_ids.append(sig.id)
            times.append(ts + offset)
            nums.append(num)
            txts.append(txt)
            continue
        index = pos if indices is None else indices[pos]
        quarantine.append(_rejected(catalog, header, index, (offset, key, value), sig, problem))
    return signal_ids, times, nums, txts


def _rejected(
    catalog: Catalog,
    header: Header,
    index: int,
    sample: tuple[int, str | int, Any],
    sig: Signal | None,
    problem: str | None,
) -> QuarantineRecord:
    offset, key, value = sample
    if sig is None:
        code, reason = codes.UNKNOWN_SIGNAL, f"sample {index}: {_why_unknown(catalog, key)}"
    elif problem is not None:
        code, reason = _code_of(value, problem), f"sample {index}: {problem}"
    else:  # the value is fine, its time is not
        at = header.ts + offset
        code = codes.TS_IN_FUTURE
        reason = (
            f"sample {index}: {sig.path} at {at} is {at - header.now_ms} ms ahead of the "
            f"gateway clock (at most {header.max_future_skew_ms} allowed)"
        )
    return QuarantineRecord(
        header.received_ms,
        reason,
        code,
        header.vin,
        header.seq,
        index,
        str(key) if sig is None else sig.path,
        _raw_sample(sample),
    )


def _why_unknown(catalog: Catalog, key: str | int) -> str:
    try:
        catalog.get(key)
    except UnknownSignal as err:
        return str(err)
    return f"unknown signal {key!r}"


def _code_of(value: object, problem: str) -> str:
    """The counter label of a catalog check failure; the reason text stays the catalog's."""
    if type(value) is float and not math.isfinite(value):
        return codes.NOT_FINITE
    if " expects " in problem:
        return codes.WRONG_TYPE
    if " below min " in problem or " above max " in problem:
        return codes.OUT_OF_RANGE
    if " is not one of " in problem:
        return codes.NOT_ALLOWED
    if " over the limit " in problem:
        return codes.TOO_LONG
    return codes.INVALID_VALUE


def _raw_sample(sample: tuple[int, str | int, Any]) -> bytes:
    try:
        raw = msgspec.json.encode(list(sample))
    except (TypeError, ValueError, OverflowError):
        raw = repr(list(sample)).encode("utf-8", "replace")
    return raw[:_SAMPLE_RAW_MAX]


def malformed_record(header: Header, index: int, why: str, raw: bytes) -> QuarantineRecord:
    """The quarantine record of a sample the decoder could not take apart."""
    code = codes.NEGATIVE_OFFSET if "offset must be" in why and "got -" in why else codes.MALFORMED
    reason = why if why.startswith("sample ") else f"sample {index}: {why}"
    return QuarantineRecord(
        header.received_ms,
        reason,
        code,
        header.vin,
        header.seq,
        index,
        None,
        raw[:_SAMPLE_RAW_MAX],
    )
