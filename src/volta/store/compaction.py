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
    packs into a few bytes an hour. The first run is the first offset alone (its step from
    0), so that a reader can rebase it on the row's hour (`_times`)."""
    step = np.diff(offsets, prepend=0)
    cut = step[1:] != step[:-1]
    cut[:1] = True
    starts = np.r_[0, np.flatnonzero(cut) + 1]
    if 2 * len(starts) < len(offsets):
        counts = np.diff(np.r_[starts, len(step)])
        return np.c_[step[starts], counts].astype("<u4").tobytes()
    return offsets.astype("<u4").tobytes()


def decode_hours(rows: Sequence[HourRow]) -> chunks.Samples:
    """The samples of `signal_hours` rows (signal_id, hour, n, ts, num, txt), row after row."""
    if not rows:
        return chunks.Samples(np.empty(0, np.int32), np.empty(0, np.int64), np.empty(0), None)
    counts = np.array([r[2] for r in rows], np.int64)
    ts = _times(rows, counts)
    num = np.frombuffer(b"".join([r[4] for r in rows]), "<f8")
    sid = np.repeat(np.array([r[0] for r in rows], np.int32), counts)
    txt = None
    if any(r[5] is not None for r in rows):
        txt = np.full(len(ts), None, dtype=object)
        at = 0
        for r in rows:
            if r[5] is not None:
                txt[at : at + r[2]] = r[5]
            at += r[2]
    return chunks.Samples(sid, ts, num, txt)


def _times(rows: Sequence[HourRow], counts: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The sample times of `signal_hours` rows, without a numpy call per row (a day of a
    signal is 24 rows, a dashboard asks ~5 signals): the offsets of all rows packed as uint32
    read at once; the runs of all others expanded by one repeat and one cumulative sum, each
    row's first step rebased on the previous row's last time."""
    hours = np.array([r[1] for r in rows], np.int64)
    plain = np.array([len(r[3]) == 4 * r[2] for r in rows])
    ts = np.empty(int(counts.sum()), np.int64)
    in_plain = np.repeat(plain, counts)
    if plain.any():
        packed = [r[3] for r, p in zip(rows, plain, strict=True) if p]
        offsets = np.frombuffer(b"".join(packed), "<u4")
        ts[in_plain] = offsets + np.repeat(hours[plain], counts[plain])
    if not plain.all():
        packed = [r[3] for r, p in zip(rows, plain, strict=True) if not p]
        runs = np.frombuffer(b"".join(packed), "<u4").reshape(-1, 2).astype(np.int64)
        steps, lengths = runs[:, 0], runs[:, 1]
        first = np.r_[0, np.cumsum([len(p) // 8 for p in packed])[:-1]]  # each row's first run
        last = hours[~plain] + np.add.reduceat(steps * lengths, first)  # each row's last time
        steps[first] += hours[~plain] - np.r_[0, last[:-1]]
        ts[~in_plain] = np.repeat(steps, lengths).cumsum()
    return ts
