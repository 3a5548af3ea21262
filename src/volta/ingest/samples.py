"""Validation of the samples of one decoded batch against the catalog, into store columns.

Two paths with the same result (property tests hold them to it): `all_good` handles the
usual batch — every sample a numeric signal with a fitting value — column-wise with `map`, so
that per sample only the catalog's check runs as Python; `each` goes sample by sample, keeps
the good ones and quarantines each bad one with its reason. `columns` tries the first, then
the second.

A shape (see `_Rules`) seen often gets its own generated function (`_compile`): the catalog's
checks of its signals written out inline, one after the other, with the batch unpacked in one
statement — no Python call per sample, about half the cost of `all_good`'s maps and calls.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from operator import call, itemgetter
from typing import Any, NamedTuple, cast

import msgspec

from volta.catalog import Catalog, Signal
from volta.catalog.checks import Check, Inline, inline_check
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


# A shape's checks are generated once it was seen this often (a vehicle on a schedule sends
# it every batch; a sender of ever-new shapes never gets there, so cannot make us compile
# for every batch), and only up to this many samples (bounded code size).
_COMPILE_AFTER = 8
_COMPILE_MAX_SAMPLES = 512

# (samples, base ts, largest offset allowed) -> (times, values) if all good, else None
Fast = Callable[[Samples, int, int], "tuple[list[int], list[Any]] | None"]


class Shape:
    """A sequence of signal keys, all numeric signals, with their ids and checks; once seen
    `_COMPILE_AFTER` times, `fast` is its generated check (None: not generated)."""

    __slots__ = ("checks", "fast", "hits", "ids", "inline", "keys")

    def __init__(
        self, keys: list[Key], ids: list[int], checks: list[Check], inline: list[Inline] | None
    ) -> None:
        self.keys, self.ids, self.checks, self.inline = keys, ids, checks, inline
        self.hits = 0
        self.fast: Fast | None = None


def _compile(inline: list[Inline]) -> Fast:
    """A function checking a batch of this shape as `all_good` does, with each sample's check
    (`checks.inline_check`, mirroring the catalog's `check`) written out in its place."""
    n = len(inline)
    env: dict[str, Any] = {"type": type, "float": float, "int": int}
    conditions: list[str] = []
    for i, rule in enumerate(inline):
        v = f"v{i}"
        if rule.kind == "bool":
            conditions.append(f"({v} is True or {v} is False)")
            continue
        env[f"L{i}"], env[f"H{i}"] = rule.lo, rule.hi
        if rule.kind == "int":
            conditions.append(f"(type({v}) is int and L{i} <= {v} <= H{i})")
        else:
            conditions.append(f"((type({v}) is float or type({v}) is int) and L{i} <= {v} <= H{i})")
    targets = ", ".join(f"(o{i}, _, v{i})" for i in range(n))
    offsets = ", ".join(f"o{i}" for i in range(n))
    lines = ["def fast(s, ts, latest):", f"    {targets}, = s"]
    for at in range(0, n, 8):
        lines.append(f"    if not ({' and '.join(conditions[at : at + 8])}):")
        lines.append("        return None")
    lines.append(f"    if max(({offsets},)) > latest:")
    lines.append("        return None")
    times = ", ".join(f"ts + o{i}" for i in range(n))
    values = ", ".join(f"v{i}" for i in range(n))
    lines.append(f"    return [{times}], [{values}]")
    # The code holds only names and the loop's indices; bounds and names of builtins are
    # passed in `env`, never written into it: nothing a sender sent becomes code.
    exec(compile("\n".join(lines), f"<volta shape of {n}>", "exec"), env)
    return cast(Fast, env["fast"])


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
        self.inline: dict[int, Inline | None] = {}
        for sig in catalog:
            if sig.numeric:
                self.by_key[sig.path] = self.by_key[sig.id] = (sig.id, sig.check)
                self.inline[sig.id] = inline_check(sig.datatype, sig.min, sig.max, sig.allowed)
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
        ids = list(map(_FIRST, rules))
        inline = list(map(self.inline.__getitem__, ids))
        generated = None if None in inline or len(ids) > _COMPILE_MAX_SAMPLES else inline
        shape = Shape(keys, ids, list(map(_SECOND, rules)), cast(list[Inline] | None, generated))
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
    shape = _rules(catalog).of(list(map(_KEY, samples)))
    if shape is None:
        return None
    fast = shape.fast
    if fast is None and shape.inline is not None:
        shape.hits += 1
        if shape.hits >= _COMPILE_AFTER:
            fast = shape.fast = _compile(shape.inline)
    if fast is not None:
        found = fast(samples, header.ts, header.latest_offset)
        if found is None:
            return None
        times, values = found
        # float() is what a numeric signal's to_stored does: a bool becomes 1.0/0.0.
        return shape.ids.copy(), times, list(map(float, values)), [None] * n
    offsets = list(map(_OFFSET, samples))
    if max(offsets) > header.latest_offset:
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
