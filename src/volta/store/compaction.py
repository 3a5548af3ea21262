"""Compaction: the chunks of `samples` rewritten as `signal_hours` rows (migration 0006).

`samples` is write-optimised: one row per batch and hour, every signal of the batch packed
together, so an append is one row per batch. Reading a vehicle-day from it means ~4,300 rows
on as many pages, all signals. `signal_hours` is read-optimised: one row per (vehicle,
signal, UTC hour), so a history of 5 signals over a day is 120 rows found by the primary key.

`compact` moves the chunks of some vehicles in a time range: it deletes them from `samples`
(RETURNING their content), merges their samples with the `signal_hours` rows they fall in
(deleted and returned too, when a late batch lands in an hour compacted before), and writes
the merged rows back with binary COPY — all in the caller's transaction, so a reader's
statement sees every sample exactly once, before or after. Writers never touch the rows it
deletes (appends only insert chunks), and compactors serialise on an advisory lock, so no
two write the same `signal_hours` key.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from volta.store import chunks

HOUR_MS = chunks.HOUR_MS
COPY = "COPY signal_hours (vin, signal_id, hour, n, ts, num, txt) FROM STDIN (FORMAT binary)"
COPY_TYPES = ["text", "int4", "int8", "int4", "bytea", "bytea", "bytea"]
LOCK = "SELECT pg_advisory_xact_lock(hashtext(%s))"

_TAKE_CHUNKS = """
DELETE FROM samples WHERE vin = ANY(%(vins)s) AND ts_min >= %(lo)s AND ts_min < %(hi)s
RETURNING vin, signal_ids, ts, num, txt
"""
# The rows of the keys (vin, signal, hour) that the taken chunks fall in, if compacted before.
_TAKE_HOURS = """
DELETE FROM signal_hours s USING unnest(%(vins)s::text[], %(sids)s::int[], %(hours)s::bigint[])
    AS k(vin, signal_id, hour)
WHERE s.vin = k.vin AND s.signal_id = k.signal_id AND s.hour = k.hour
  AND s.hour >= %(lo)s AND s.hour <= %(hi)s
RETURNING s.vin, s.signal_id, s.hour, s.n, s.ts, s.num, s.txt
"""

# signal_id, hour, n, ts, num, txt
HourRow = tuple[int, int, int, bytes, bytes, list[str | None] | None]


def compact(conn: Any, vins: list[str], lo: int, hi: int) -> int:
    """Move the chunks of `vins` with `lo` <= ts_min < `hi` into `signal_hours`, in the
    caller's transaction; return how many samples moved."""
    taken = (
        conn.cursor(binary=True)
        .execute(_TAKE_CHUNKS, {"vins": vins, "lo": lo, "hi": hi})
        .fetchall()
    )
    if not taken:
        return 0
    names = sorted({r[0] for r in taken})
    index = {v: i for i, v in enumerate(names)}
    found = chunks.decode([r[1:] for r in taken])
    vin = np.repeat([index[r[0]] for r in taken], [len(r[1]) // 4 for r in taken])
    moved = len(vin)
    vin, found, starts = _by_row(vin, found)
    hour = found.ts[starts] - found.ts[starts] % HOUR_MS
    before = conn.cursor(binary=True).execute(
        _TAKE_HOURS,
        {"vins": [names[i] for i in vin[starts].tolist()], "sids": found.signal_id[starts].tolist(),
         "hours": hour.tolist(), "lo": int(hour.min()), "hi": int(hour.max())},
    ).fetchall()  # fmt: skip
    if before:  # late samples of hours compacted before: merged with those rows
        vin = np.r_[vin, np.repeat([index[r[0]] for r in before], [r[3] for r in before])]
        found = chunks.concat(found, decode_hours([r[1:] for r in before]))
        vin, found, starts = _by_row(vin, found)
    with conn.cursor().copy(COPY) as copy:
        copy.set_types(COPY_TYPES)
        for row in hour_rows(names, vin, found, starts):
            copy.write_row(row)
    return moved


def _by_row(
    vin: np.ndarray[Any, Any], found: chunks.Samples
) -> tuple[np.ndarray[Any, Any], chunks.Samples, np.ndarray[Any, Any]]:
    """Samples sorted by (vin, signal, time), and where each (vin, signal, hour) row starts.
    Not by number within a time: readers order ties themselves (`downsample.by_time`), and
    sorting by a fourth key cost ~10x the other three."""
    order = np.lexsort((found.ts, found.signal_id, vin))
    vin, found = vin[order], found.take(order)
    sid, hour = found.signal_id, found.ts - found.ts % HOUR_MS
    cut = (vin[1:] != vin[:-1]) | (sid[1:] != sid[:-1]) | (hour[1:] != hour[:-1])
    return vin, found, np.r_[0, np.flatnonzero(cut) + 1]


def hour_rows(
    names: list[str], vin: np.ndarray[Any, Any], found: chunks.Samples, starts: np.ndarray[Any, Any]
) -> Iterator[tuple[Any, ...]]:
    """The `signal_hours` rows of samples sorted by `_by_row` (`vin` indexes `names`)."""
    ends = np.r_[starts[1:], len(vin)]
    hours = found.ts[starts] - found.ts[starts] % HOUR_MS
    offsets = found.ts - np.repeat(hours, ends - starts)
    numbers = found.num.astype("<f8").tobytes()
    sid = found.signal_id
    for a, b, hour in zip(starts.tolist(), ends.tolist(), hours.tolist(), strict=True):
        txt = None
        if found.txt is not None and any(t is not None for t in found.txt[a:b]):
            txt = chunks.text_array(found.txt[a:b].tolist())
        yield (names[vin[a]], int(sid[a]), hour, b - a, pack_offsets(offsets[a:b]),
               numbers[8 * a : 8 * b], txt)  # fmt: skip


def pack_offsets(offsets: np.ndarray[Any, np.dtype[np.int64]]) -> bytes:
    """Sorted offsets within an hour as `ts` bytes: little-endian uint32 each or, when that is
    at most half as long, runs of equal steps (step, count): a signal sent at a steady rate
    packs into a few bytes an hour (the first step is from 0 to the first offset)."""
    step = np.diff(offsets, prepend=0)
    starts = np.r_[0, np.flatnonzero(step[1:] != step[:-1]) + 1]
    if 2 * len(starts) < len(offsets):
        counts = np.diff(np.r_[starts, len(step)])
        runs: bytes = np.c_[step[starts], counts].astype("<u4").tobytes()
        return runs
    return offsets.astype("<u4").tobytes()


def decode_hours(rows: Sequence[HourRow], extra: int = 0) -> chunks.Samples:
    """The samples of `signal_hours` rows (signal_id, hour, n, ts, num, txt), row after row,
    in arrays with room for `extra` more samples after them (uninitialised: the caller's).

    Row by row into arrays allocated once: a day of a signal is 24 rows, and the temporaries
    of a vectorised decode (whole-day arrays, each a fresh mmap to fault in) cost more."""
    total = sum(r[2] for r in rows) + extra
    sid = np.empty(total, np.int32)
    ts = np.empty(total, np.int64)
    num = np.empty(total, np.float64)
    txt = None
    at = 0
    for signal_id, hour, n, offsets, numbers, texts in rows:
        sid[at : at + n] = signal_id
        if len(offsets) == 4 * n:
            np.add(np.frombuffer(offsets, "<u4"), np.int64(hour), out=ts[at : at + n])
        else:  # runs of equal steps, the first from 0 (`pack_offsets`)
            runs = np.frombuffer(offsets, "<u4").reshape(-1, 2)
            np.cumsum(np.repeat(runs[:, 0], runs[:, 1]), dtype=np.int64, out=ts[at : at + n])
            ts[at : at + n] += hour
        num[at : at + n] = np.frombuffer(numbers, "<f8")
        if texts is not None:
            if txt is None:
                txt = np.full(total, None, dtype=object)
            txt[at : at + n] = texts
        at += n
    return chunks.Samples(sid, ts, num, txt)
