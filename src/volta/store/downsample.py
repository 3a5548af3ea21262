"""History from decoded samples: raw series, or buckets, computed as the SQL engines do.

Pure: the PostgreSQL store fetches a vehicle's chunks as packed bytes (`volta.store.chunks`)
and buckets them here, because making the server unnest and aggregate them cost one call per
sample. The rules are DuckDB's (`volta.store.duckdb_store`): a signal with at most
`max_points` samples in range is returned raw, ordered by (time, number, text), NULLs last;
otherwise bucket k starts at start + k * width and holds min/max/avg of its numbers, its
sample count, and its last sample's number and text (latest time, ties to the larger number,
then the larger text, a value before none).
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

import numpy as np

from volta.store.base import Series
from volta.store.chunks import Samples

_Row = tuple[int, float | None, str | None]


def history_of(
    by_signal: dict[int, Samples], start_ms: int, width: int, max_points: int
) -> dict[int, Series]:
    """The history of each signal of `by_signal` (its samples, already cut to the range)."""
    found: dict[int, Series] = {}
    for s, samples in by_signal.items():
        ts, num = samples.ts, samples.num
        if not len(ts):
            continue
        if not np.isnan(num).any():
            found[s] = _of_numbers(s, *by_time(ts, num), start_ms, width, max_points)
            continue
        # Text or missing numbers: rare, done row by row.
        texts = samples.txt.tolist() if samples.txt is not None else [None] * len(ts)
        rows = [(t, None if n != n else n, x)
                for t, n, x in zip(ts.tolist(), num.tolist(), texts, strict=True)]  # fmt: skip
        found[s] = _of_rows(s, rows, start_ms, width, max_points)
    return found


def by_time(
    ts: np.ndarray[Any, np.dtype[np.int64]], num: np.ndarray[Any, np.dtype[np.float64]]
) -> tuple[np.ndarray[Any, np.dtype[np.int64]], np.ndarray[Any, np.dtype[np.float64]]]:
    """One signal's samples sorted by (time, value). Chunks come in time order, so they
    usually are already: checking costs one pass, sorting ~20x that."""
    if len(ts) < 2 or bool((ts[1:] > ts[:-1]).all()):
        return ts, num
    order = np.lexsort((num, ts))
    return ts[order], num[order]


def _of_numbers(
    s: int,
    t: np.ndarray[Any, np.dtype[np.int64]],
    v: np.ndarray[Any, np.dtype[np.float64]],
    start_ms: int,
    width: int,
    max_points: int,
) -> Series:
    """One signal's numbers sorted by (time, value): raw, or one reduceat per statistic over
    the bucket starts."""
    n = len(t)
    if n <= max_points:
        return Series(s, t.tolist(), v.tolist(), [None] * n)
    # Where each bucket starts, by binary search on the sorted times: ~1,000 searches instead
    # of a division per sample. Buckets without samples are left out.
    edges = start_ms + np.arange((int(t[-1]) - start_ms) // width + 2, dtype=np.int64) * width
    bounds = np.searchsorted(t, edges)
    filled = np.flatnonzero(bounds[1:] > bounds[:-1])
    first = bounds[filled]
    count = bounds[filled + 1] - first
    return Series(
        s, edges[filled].tolist(), v[first + count - 1].tolist(), [None] * len(first),
        True, width, np.minimum.reduceat(v, first).tolist(),
        np.maximum.reduceat(v, first).tolist(), (np.add.reduceat(v, first) / count).tolist(),
        count.tolist(),
    )  # fmt: skip


def _of_rows(s: int, rows: list[_Row], start_ms: int, width: int, max_points: int) -> Series:
    """One signal's (time, number, text) rows, some without a number."""
    if len(rows) <= max_points:
        rows.sort(key=lambda r: (r[0], r[1] is None, r[1] or 0.0, r[2] is None, r[2] or ""))
        return Series(s, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
    rows.sort(key=lambda r: r[0])
    columns: list[list[Any]] = [[] for _ in range(7)]  # ts, num, txt, min, max, avg, count
    for bucket, group in groupby(rows, key=lambda r: start_ms + (r[0] - start_ms) // width * width):
        members = list(group)
        last = max(members, key=lambda r: (r[0], r[1] is not None, r[1] or 0.0, r[2] is not None,
                                            r[2] or ""))  # fmt: skip
        numbers = [r[1] for r in members if r[1] is not None]
        mean = sum(numbers) / len(numbers) if numbers else None
        low, high = (min(numbers), max(numbers)) if numbers else (None, None)
        for column, value in zip(
            columns, (bucket, last[1], last[2], low, high, mean, len(members)), strict=False
        ):
            column.append(value)
    ts, num, txt, low_, high_, mean_, count = columns[:7]
    return Series(s, ts, num, txt, True, width, low_, high_, mean_, count)
