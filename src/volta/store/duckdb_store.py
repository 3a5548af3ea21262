"""The embedded telemetry store on DuckDB: one file, no server.

Durability: `append` commits one transaction; DuckDB writes it to the write-ahead log
(`<file>.wal`) and syncs that before `commit` returns, so a committed batch survives `kill -9`.
DuckDB folds the WAL into the main file (a checkpoint) on its own when the WAL passes
`checkpoint_threshold`, and on `close()`; an automatic checkpoint is deferred while readers hold
open transactions, and after a crash the WAL is replayed on the next open.

Threads: one DuckDB connection is not thread-safe, so every thread gets its own cursor (a
connection to the same database). Writes are serialised by a lock; readers never take it and
read a consistent snapshot (DuckDB's MVCC), so they do not wait for a long write.

Layout: `telemetry` has no index; history relies on DuckDB's per-row-group min/max of ts_ms,
which prune well because samples arrive roughly in time order. Within the time range every
vehicle's rows are scanned, so a history query costs more as the fleet grows.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from volta.errors import BadRequest, Unavailable
from volta.store.base import (
    AcceptedBatch,
    ExportFormat,
    LatestValue,
    QuarantineRecord,
    Series,
    StoredQuarantine,
    StoreStats,
    bucket_width,
)
from volta.store.columns import sample_table

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER NOT NULL, applied_ms BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
    vin VARCHAR NOT NULL, seq BIGINT NOT NULL, ts_ms BIGINT NOT NULL, received_ms BIGINT NOT NULL,
    accepted INTEGER NOT NULL, rejected INTEGER NOT NULL, PRIMARY KEY (vin, seq));
CREATE TABLE IF NOT EXISTS telemetry (
    vin VARCHAR NOT NULL, signal_id INTEGER NOT NULL, ts_ms BIGINT NOT NULL,
    num DOUBLE, txt VARCHAR);
CREATE TABLE IF NOT EXISTS latest (
    vin VARCHAR NOT NULL, signal_id INTEGER NOT NULL, ts_ms BIGINT NOT NULL, seq BIGINT NOT NULL,
    num DOUBLE, txt VARCHAR);
CREATE TABLE IF NOT EXISTS quarantine (
    id BIGINT PRIMARY KEY, received_ms BIGINT NOT NULL, vin VARCHAR, seq BIGINT,
    sample_index INTEGER, signal VARCHAR, code VARCHAR NOT NULL, reason VARCHAR NOT NULL,
    raw BLOB NOT NULL);
"""
# `latest` has no index on purpose: MERGE finds rows by a hash join, and keeping an ART index
# up to date costs more per commit than the join over ~200k rows (10k vehicles x 20 signals).

# `k` orders the samples of one call by (ts_ms, seq, position in batch): see `order_key`.
_MERGE_LATEST = """
MERGE INTO latest USING (
    SELECT vin, signal_id, max(ts_ms) AS ts_ms, arg_max(seq, k) AS seq,
           arg_max_null(num, k) AS num, arg_max_null(txt, k) AS txt
    FROM _new_samples GROUP BY vin, signal_id
) AS n
ON latest.vin = n.vin AND latest.signal_id = n.signal_id
WHEN MATCHED AND (n.ts_ms > latest.ts_ms OR (n.ts_ms = latest.ts_ms AND n.seq > latest.seq))
    THEN UPDATE SET ts_ms = n.ts_ms, seq = n.seq, num = n.num, txt = n.txt
WHEN NOT MATCHED
    THEN INSERT (vin, signal_id, ts_ms, seq, num, txt)
    VALUES (n.vin, n.signal_id, n.ts_ms, n.seq, n.num, n.txt)
"""

# A commit without text values (the usual one) need not aggregate its all-NULL txt column.
_MERGE_LATEST_NUMERIC = _MERGE_LATEST.replace("arg_max_null(txt, k) AS txt", "NULL::VARCHAR AS txt")

_RANGE = (
    "FROM telemetry WHERE vin = $vin AND signal_id IN ({ids}) AND ts_ms >= $start AND ts_ms < $end"
)

# One query buckets every requested signal. Its counts also tell which signals hold at most
# max_points samples; only those are then read raw, so the common case is one scan.
# arg_max skips NULLs, which is right here: a signal is either numeric (num) or text (txt).
# Per row this is the whole cost of a history request (a vehicle-day is 432k rows for 5
# signals), so it computes only what numbers need: sum and count(num) rather than avg (the
# same division, done once per bucket in numpy), no arg_max(txt) (a text signal's buckets
# are the ones where count(num) < count(*); `_TEXT_LAST` reads just those), and no ORDER BY
# (5,000 rows are sorted in numpy). Measured on one core: 20-22 ms -> 13-16 ms CPU.
_BUCKETS = f"""
SELECT signal_id, (ts_ms - $start) // $width AS b, arg_max(num, ts_ms) AS last,
       min(num) AS lo, max(num) AS hi, sum(num) AS total, count(num) AS n_num, count(*) AS n
{_RANGE} GROUP BY signal_id, b
"""
_TEXT_LAST = f"""
SELECT signal_id, (ts_ms - $start) // $width AS b, arg_max(txt, ts_ms)
{_RANGE} GROUP BY signal_id, b
"""
_RAW = f"SELECT signal_id, ts_ms, num, txt {_RANGE} ORDER BY signal_id, ts_ms, num, txt"


class DuckDBStore:
    """`TelemetryStore` on one DuckDB file (or in memory when `path` is None or ":memory:").

    `threads` caps DuckDB's worker threads (default: one per core). `checkpoint_threshold` is
    the WAL size that triggers a checkpoint: above DuckDB's 16MB default so that big group
    commits (~8MB of WAL per 200k samples) do not checkpoint every other time.
    """

    def __init__(
        self,
        path: Path | str | None = None,
        *,
        threads: int | None = None,
        checkpoint_threshold: str = "64MB",
    ) -> None:
        self.path = None if path is None or str(path) == ":memory:" else Path(path)
        config: dict[str, str | bool | int | float | list[str]] = {
            "checkpoint_threshold": checkpoint_threshold,
            # Every read that returns rows in an order says ORDER BY; without the promise of
            # insertion order DuckDB appends a commit's samples ~10 % faster (measured).
            "preserve_insertion_order": False,
        }
        if threads is not None:
            config["threads"] = threads
        try:
            self._root = duckdb.connect(str(self.path) if self.path else ":memory:", config=config)
        except duckdb.Error as e:
            raise Unavailable(open_error(self.path, e)) from e
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._cursors_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._closed = False
        self._migrate()
        self._next_quarantine_id = self._scalar("SELECT coalesce(max(id), 0) + 1 FROM quarantine")

    # -- plumbing ---------------------------------------------------------------------------

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's connection (DuckDB connections must not be shared between threads)."""
        if self._closed:
            raise Unavailable("the telemetry store is closed")
        cur: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
        if cur is None:
            with self._cursors_lock:
                cur = self._root.cursor()
                self._cursors.append(cur)
            self._local.cursor = cur
        return cur

    def _rows(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        # Always fetch to the end: DuckDB refuses new work on a cursor with a pending result.
        with _engine_errors():
            return self._cursor().execute(sql, params).fetchall()

    def _scalar(self, sql: str, params: Any = None) -> int:
        return int(self._rows(sql, params)[0][0])

    def _migrate(self) -> None:
        cur = self._cursor()
        with self._write_lock:
            cur.begin()
            cur.execute(_SCHEMA)
            found = cur.execute("SELECT max(version) FROM schema_version").fetchall()[0][0]
            if found is None:
                cur.execute(
                    "INSERT INTO schema_version VALUES ($v, epoch_ms(current_timestamp))",
                    {"v": SCHEMA_VERSION},
                ).fetchall()
            cur.commit()
        if found is not None and found > SCHEMA_VERSION:
            self.close()
            raise Unavailable(
                f"the store at {self.path} has schema version {found}, newer than this Volta "
                f"understands ({SCHEMA_VERSION}): upgrade Volta"
            )

    def schema_version(self) -> int:
        """The schema version recorded in the store (for `volta doctor` and migrations)."""
        return self._scalar("SELECT max(version) FROM schema_version")

    def checkpoint(self) -> None:
        """Fold the WAL into the main file now (DuckDB also does this by itself)."""
        with self._write_lock:
            self._rows("CHECKPOINT")

    def close(self) -> None:
        """Close every thread's cursor and the database; checkpoints a file store."""
        with self._write_lock, self._cursors_lock:
            if self._closed:
                return
            self._closed = True
            for cur in self._cursors:
                cur.close()
            self._cursors.clear()
            self._root.close()

    # -- writes -----------------------------------------------------------------------------

    def append(
        self, batches: Sequence[AcceptedBatch], quarantine: Sequence[QuarantineRecord] = ()
    ) -> set[tuple[str, int]]:
        """Store batches and quarantine in one transaction; return the (vin, seq) already stored."""
        unique: dict[tuple[str, int], AcceptedBatch] = {}
        duplicates: set[tuple[str, int]] = set()
        for b in batches:
            key = (b.vin, b.seq)
            if key in unique:
                duplicates.add(key)
            else:
                unique[key] = b
        # Sorted by (vin, seq) so that row order is the latest-value tie-break. The Arrow
        # table is built before the transaction: bad input fails before anything is written.
        ordered = [unique[k] for k in sorted(unique)]
        samples = sample_table(ordered)
        with self._write_lock, _engine_errors():
            cur = self._cursor()
            next_id = self._next_quarantine_id
            cur.begin()
            try:
                fresh = _insert_batches(cur, ordered)
                duplicates.update(k for k in unique if k not in fresh)
                if len(fresh) < len(ordered) and samples.num_rows:
                    keep = np.array([(b.vin, b.seq) in fresh for b in ordered])
                    samples = samples.filter(np.repeat(keep, [len(b) for b in ordered]))
                if samples.num_rows:
                    _insert_samples(cur, samples)
                if quarantine:
                    next_id = _insert_quarantine(cur, quarantine, next_id)
                cur.commit()
            except BaseException:
                cur.rollback()
                raise
            self._next_quarantine_id = next_id
        return duplicates

    # -- reads ------------------------------------------------------------------------------

    def has_batch(self, vin: str, seq: int) -> bool:
        return bool(self._rows("SELECT 1 FROM batches WHERE vin = $1 AND seq = $2", [vin, seq]))

    def recent_seqs(self, vin: str, limit: int) -> list[int]:
        """The highest `limit` seqs stored for a vehicle, highest first."""
        sql = "SELECT seq FROM batches WHERE vin = $1 ORDER BY seq DESC LIMIT $2"
        return [int(r[0]) for r in self._rows(sql, [vin, max(0, limit)])]

    def latest(self, vin: str | None = None) -> Iterator[LatestValue]:
        """Latest value per (vin, signal) by sample time, ordered by (vin, signal_id)."""
        sql = "SELECT vin, signal_id, ts_ms, num, txt FROM latest"
        sql += " WHERE vin = $1" if vin is not None else ""
        # Fetched whole before yielding: a half-read result would pin this thread's cursor.
        rows = self._rows(sql + " ORDER BY vin, signal_id", [vin] if vin is not None else None)
        return (LatestValue(*r) for r in rows)

    def history(
        self,
        vin: str,
        signal_ids: Sequence[int],
        start_ms: int,
        end_ms: int,
        max_points: int = 1000,
    ) -> list[Series]:
        """Samples in [start_ms, end_ms): raw, or bucketed when a signal has > max_points."""
        if max_points < 1:
            raise BadRequest(f"max_points must be at least 1, got {max_points}")
        ids = [int(s) for s in signal_ids]
        found: dict[int, Series] = {}
        if ids and end_ms > start_ms:
            width = bucket_width(start_ms, end_ms, max_points)
            params = {"vin": vin, "start": start_ms, "end": end_ms}
            # ids are ints (converted above), so inlining them is safe, and it lets DuckDB
            # push the IN-list down into the scan.
            in_list = ", ".join(map(str, sorted(set(ids))))
            with _engine_errors():
                cols = (
                    self._cursor()
                    .execute(_BUCKETS.format(ids=in_list), {**params, "width": width})
                    .fetchnumpy()
                )
            found, text = _bucketed(cols, start_ms, width, max_points)
            if text:
                self._fill_text_last(found, text, params, width)
            small = [sid for sid, series in found.items() if not series.downsampled]
            if small:
                raw = self._rows(_RAW.format(ids=", ".join(map(str, small))), params)
                for sid, rows in groupby(raw, key=itemgetter(0)):
                    _, ts, num, txt = map(list, zip(*rows, strict=True))
                    found[sid] = Series(sid, ts, num, txt)
        return [found.get(s) or Series(s, [], [], []) for s in ids]

    def _fill_text_last(
        self, found: dict[int, Series], text: list[int], params: dict[str, Any], width: int
    ) -> None:
        """Set the last text value of each bucket of the (downsampled) signals `text`."""
        sql = _TEXT_LAST.format(ids=", ".join(map(str, text)))
        last = {(sid, b): txt for sid, b, txt in self._rows(sql, {**params, "width": width})}
        start = params["start"]
        for sid in text:
            series = found[sid]
            series.txt[:] = [last.get((sid, (t - start) // width)) for t in series.ts]

    def export(
        self,
        vin: str,
        signal_ids: Sequence[int] | None,
        start_ms: int,
        end_ms: int,
        fmt: ExportFormat,
        path: Path,
    ) -> int:
        """Write raw samples (vin, signal_id, ts_ms, num, txt) to `path`, ordered by time then
        signal; return the row count."""
        where = "vin = $vin AND ts_ms >= $start AND ts_ms < $end"
        if signal_ids is not None:
            where += f" AND signal_id IN ({', '.join(str(int(s)) for s in signal_ids) or 'NULL'})"
        options = "FORMAT csv, HEADER true" if fmt is ExportFormat.CSV else "FORMAT parquet"
        sql = (
            f"COPY (SELECT vin, signal_id, ts_ms, num, txt FROM telemetry WHERE {where} "
            f"ORDER BY ts_ms, signal_id, num, txt) TO $path ({options})"
        )
        params = {"vin": vin, "start": start_ms, "end": end_ms, "path": str(path)}
        return self._scalar(sql, params)

    def quarantined(
        self, vin: str | None = None, limit: int = 100, before_id: int | None = None
    ) -> list[StoredQuarantine]:
        """Newest first; page with `before_id` (the smallest id of the previous page)."""
        sql = (
            "SELECT id, received_ms, reason, code, vin, seq, sample_index, signal, raw "
            "FROM quarantine WHERE ($vin IS NULL OR vin = $vin) "
            "AND ($before IS NULL OR id < $before) ORDER BY id DESC LIMIT $limit"
        )
        rows = self._rows(sql, {"vin": vin, "before": before_id, "limit": max(0, limit)})
        return [
            StoredQuarantine(
                id=r[0],
                record=QuarantineRecord(
                    received_ms=r[1],
                    reason=r[2],
                    code=r[3],
                    vin=r[4],
                    seq=r[5],
                    sample_index=r[6],
                    signal=r[7],
                    raw=bytes(r[8]),
                ),
            )
            for r in rows
        ]

    def stats(self) -> StoreStats:
        row = self._rows(
            "SELECT (SELECT count(*) FROM batches), (SELECT count(*) FROM telemetry), "
            "(SELECT count(*) FROM quarantine), (SELECT count(DISTINCT vin) FROM batches)"
        )[0]
        return StoreStats(batches=row[0], samples=row[1], quarantined=row[2], vehicles=row[3])

    def scan(
        self, vin: str, signal_ids: Sequence[int], start_ms: int, end_ms: int
    ) -> dict[
        int, tuple[np.ndarray[Any, np.dtype[np.int64]], np.ndarray[Any, np.dtype[np.float64]]]
    ]:
        """Raw numeric samples per signal in [start_ms, end_ms), sorted by time: one query,
        fetched as numpy columns and split per signal without a Python loop over rows."""
        ids = sorted({int(s) for s in signal_ids})
        empty = (np.empty(0, np.int64), np.empty(0, np.float64))
        out = {s: empty for s in ids}
        if not ids or end_ms <= start_ms:
            return out
        sql = (
            "SELECT signal_id, ts_ms, num FROM telemetry WHERE vin = $vin AND ts_ms >= $start "
            f"AND ts_ms < $end AND num IS NOT NULL AND signal_id IN ({', '.join(map(str, ids))}) "
            "ORDER BY signal_id, ts_ms"
        )
        with _engine_errors():
            cols = (
                self._cursor()
                .execute(sql, {"vin": vin, "start": start_ms, "end": end_ms})
                .fetchnumpy()
            )
        sid = np.asarray(cols["signal_id"])
        ts = np.asarray(cols["ts_ms"], dtype=np.int64)
        num = np.asarray(cols["num"], dtype=np.float64)
        cuts = np.flatnonzero(np.diff(sid)) + 1
        for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(sid)], strict=True):
            if b > a:
                out[int(sid[a])] = (ts[a:b], num[a:b])
        return out


def _bucketed(
    cols: dict[str, Any], start_ms: int, width: int, max_points: int
) -> tuple[dict[int, Series], list[int]]:
    """`_BUCKETS` columns (any row order) to one Series per signal, buckets in time order,
    and the downsampled signals that hold text samples (count(num) < count(*) somewhere).

    A signal with at most `max_points` samples gets an empty raw Series, to be read raw. The
    `txt` of a bucket is None here; `_fill_text_last` sets it for the text signals. A bucket
    without numbers has min/max/avg/last None, as SQL's aggregates of only NULLs give."""
    sid = np.asarray(cols["signal_id"], dtype=np.int64)
    if not len(sid):
        return {}, []
    bucket = np.asarray(cols["b"], dtype=np.int64)
    order = np.lexsort((bucket, sid))
    sid, bucket = sid[order], bucket[order]
    last, lo, hi, total, n_num, count = (
        _column(cols[k], order) for k in ("last", "lo", "hi", "total", "n_num", "n")
    )
    numeric = n_num > 0
    mean = np.divide(total, n_num, out=np.zeros(len(sid)), where=numeric)
    ts = start_ms + bucket * width
    has_text = n_num < count
    found: dict[int, Series] = {}
    text: list[int] = []
    cuts = np.flatnonzero(np.diff(sid)) + 1
    for a, b in zip(np.r_[0, cuts].tolist(), np.r_[cuts, len(sid)].tolist(), strict=True):
        signal = int(sid[a])
        counts = count[a:b].tolist()
        if sum(counts) <= max_points:
            found[signal] = Series(signal, [], [], [])  # filled raw by the caller
            continue
        if has_text[a:b].any():
            text.append(signal)
        has = numeric[a:b]
        found[signal] = Series(
            signal,
            ts[a:b].tolist(),
            _nullable(last[a:b], has),
            [None] * (b - a),
            True,
            width,
            _nullable(lo[a:b], has),
            _nullable(hi[a:b], has),
            _nullable(mean[a:b], has),
            counts,
        )
    return found, text


def _column(values: Any, order: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """A fetched numpy column (masked where NULL) in `order`, NULLs as 0: callers mask them."""
    data: np.ndarray[Any, Any] = np.asarray(np.ma.filled(values, 0))
    out: np.ndarray[Any, Any] = data[order]
    return out


def _nullable(values: np.ndarray[Any, Any], present: np.ndarray[Any, Any]) -> list[Any]:
    """`values` as Python floats, None where not `present`."""
    out: list[Any] = values.tolist()
    if not present.all():
        for i in np.flatnonzero(~present).tolist():
            out[i] = None
    return out


def open_error(path: Path | None, e: duckdb.Error) -> str:
    """Why the store cannot open, in one line; another process holding the file (DuckDB
    allows one writer process) says which, as a second `volta demo` or `serve` would."""
    held = re.search(r"Conflicting lock is held in (.*?) \(PID (\d+)\)", str(e))
    if held:
        return (
            f"the DuckDB store {path} is in use by another process (PID {held[2]}, {held[1]}):"
            " stop it (another volta demo or serve?) or use another data dir"
        )
    return f"cannot open the DuckDB store at {path}: {e}"


@contextmanager
def _engine_errors() -> Iterator[None]:
    """Translate what DuckDB raises when the engine, not the request, is at fault."""
    try:
        yield
    except duckdb.ConnectionException as e:  # closed by another thread mid-query
        raise Unavailable(f"the telemetry store is closed: {e}") from e
    except duckdb.IOException as e:  # disk full, file gone, permissions
        raise Unavailable(f"the telemetry store cannot read or write its file: {e}") from e


def _insert_batches(
    cur: duckdb.DuckDBPyConnection, batches: list[AcceptedBatch]
) -> set[tuple[str, int]]:
    """Insert batch rows; the primary key decides which are new. Returns the new keys."""
    if not batches:
        return set()
    table = pa.table(
        {
            "vin": pa.array([b.vin for b in batches], pa.string()),
            "seq": pa.array([b.seq for b in batches], pa.int64()),
            "ts_ms": pa.array([b.ts_ms for b in batches], pa.int64()),
            "received_ms": pa.array([b.received_ms for b in batches], pa.int64()),
            "accepted": pa.array([len(b) for b in batches], pa.int32()),
            "rejected": pa.array([b.rejected for b in batches], pa.int32()),
        }
    )
    cur.register("_new_batches", table)
    try:
        rows = cur.execute(
            "INSERT INTO batches SELECT * FROM _new_batches ON CONFLICT DO NOTHING "
            "RETURNING vin, seq"
        ).fetchall()
    finally:
        cur.unregister("_new_batches")
    return {(r[0], r[1]) for r in rows}


def _insert_samples(cur: duckdb.DuckDBPyConnection, samples: pa.Table) -> None:
    """Bulk-insert the samples and merge them into `latest`."""
    cur.register("_new_samples", samples)
    try:
        cur.execute(
            "INSERT INTO telemetry SELECT vin, signal_id, ts_ms, num, txt FROM _new_samples"
        ).fetchall()
        numeric = samples.column("txt").null_count == samples.num_rows
        cur.execute(_MERGE_LATEST_NUMERIC if numeric else _MERGE_LATEST).fetchall()
    finally:
        cur.unregister("_new_samples")


def _insert_quarantine(
    cur: duckdb.DuckDBPyConnection, records: Sequence[QuarantineRecord], first_id: int
) -> int:
    """Insert quarantine records with ids from `first_id` on; return the next free id."""
    table = pa.table(
        {
            "id": pa.array(range(first_id, first_id + len(records)), pa.int64()),
            "received_ms": pa.array([r.received_ms for r in records], pa.int64()),
            "vin": pa.array([r.vin for r in records], pa.string()),
            "seq": pa.array([r.seq for r in records], pa.int64()),
            "sample_index": pa.array([r.sample_index for r in records], pa.int32()),
            "signal": pa.array([r.signal for r in records], pa.string()),
            "code": pa.array([r.code for r in records], pa.string()),
            "reason": pa.array([r.reason for r in records], pa.string()),
            "raw": pa.array([r.raw for r in records], pa.binary()),
        }
    )
    cur.register("_new_quarantine", table)
    try:
        cur.execute("INSERT INTO quarantine SELECT * FROM _new_quarantine").fetchall()
    finally:
        cur.unregister("_new_quarantine")
    return first_id + len(records)
