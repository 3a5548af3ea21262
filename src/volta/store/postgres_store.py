"""The scale-out telemetry store on PostgreSQL: any number of workers write to one database.

Idempotence across workers: `batches` has the primary key (vin, seq). An append inserts its
batch rows with `ON CONFLICT DO NOTHING RETURNING`, which tells it which batches are new, and
then bulk-loads (COPY) only their samples, all in ONE transaction. Two workers that receive the
same batch race on the key; the loser waits for the winner's commit and finds a duplicate, so
the samples are stored once whichever worker the broker chose.

Layout: `samples` holds one row per batch and UTC hour, the samples packed
(`volta.store.chunks`, migrations 0002 and 0004), range-partitioned by the chunk's earliest
sample time, one partition per UTC day. Once an hour is over, compaction rewrites its chunks
as one `signal_hours` row per (vehicle, signal, hour) (`volta.store.compaction`, migration
0006), partitioned by day too; a store that writes runs it in a background job. Opening the
store prepares today's and tomorrow's partitions (see `prepare`); an append creates any other
day it needs, and tomorrow's once the day has turned, in a short transaction of its own
(serialised by an advisory lock, attached without stopping writers). History, scan and export
read a vehicle's `signal_hours` rows and its chunks not compacted yet in one statement and
decode them on the client. `latest_by_vehicle` keeps one row per vehicle, rewritten once per
call with the same tie-break as DuckDB (sample time, then seq, then position).

Connections come from a pool (autocommit; writes open explicit transactions). Every engine
failure the caller cannot fix — server down, restarted, pool exhausted — is `Unavailable`
with a plain reason that never contains the password.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from psycopg import errors as pgerrors
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from volta.clock import Clock, wall_ms
from volta.errors import BadRequest, ConfigError, Unavailable, ValidationError
from volta.periodic import Periodic
from volta.store import chunks, compaction, migrations
from volta.store import postgres_load as load
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
from volta.store.downsample import by_time, history_of

log = logging.getLogger(__name__)

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_Conn = load.Conn

# The samples of one vehicle that can lie in [start, end): its `signal_hours` rows (of the
# asked signals, when `{signals}` names them) and its chunks not compacted yet, an index range
# on (vin, ts_min), see `chunks.first_hour`; one statement, so that a compaction committing
# meanwhile is seen whole or not at all. Column 1 is NULL for a chunk; column 2 is the row's
# hour or the chunk's ts_min. Their packed columns are decoded on the client.
_READ = (
    "SELECT h.signal_id, h.hour, h.n, NULL::bytea, h.ts, h.num, h.txt FROM signal_hours h "
    "WHERE h.vin = %(vin)s {signals} AND h.hour >= %(first)s::bigint AND h.hour < %(end)s::bigint "
    "UNION ALL "
    "SELECT NULL, c.ts_min, NULL, c.signal_ids, c.ts, c.num, c.txt FROM samples c "
    "WHERE c.vin = %(vin)s "
    "AND c.ts_min >= %(first)s::bigint AND c.ts_min < %(end)s::bigint "
    "AND c.ts_max >= %(start)s::bigint"
)
_READ_SIGNALS = _READ.format(signals="AND h.signal_id = ANY(%(ids)s)")
_READ_ALL = _READ.format(signals="")
# Compaction: samples moved per transaction (~12 bytes each when written), at most this many
# vehicles per transaction.
_COMPACT_TARGET = 2_000_000
_COMPACT_SLICE = 1000
_EXPORT_FETCH = 2000  # chunks an export fetches at a time
# Rows of an export piece: its samples, ordered (time, signal, number, text), NULLs last.
_EXPORT_ORDER = [("ts_ms", "ascending"), ("signal_id", "ascending"), ("num", "ascending"),
                 ("txt", "ascending")]  # fmt: skip
_EXPORT_SCHEMA = pa.schema(
    [("vin", pa.string()), ("signal_id", pa.int32()), ("ts_ms", pa.int64()),
     ("num", pa.float64()), ("txt", pa.string())]
)  # fmt: skip


class Server:
    """Where a PostgreSQL store lives (`url`, `schema`), and how failures to reach it read:
    plain reasons naming host, port and database, never the password."""

    def __init__(self, url: str, schema: str = "public", timeout: float = 5.0) -> None:
        if not _SCHEMA_NAME.match(schema):
            raise ConfigError(f"invalid PostgreSQL schema name {schema!r}: use a-z, 0-9 and _")
        info = _conninfo(url)
        self.url = url
        self.schema = schema
        self.timeout = timeout
        self.where = (
            f"PostgreSQL at {info.get('host', 'localhost')}:{info.get('port', 5432)}"
            f"/{info.get('dbname', '')}"
        )
        self._secret = str(info.get("password") or "")
        self.kwargs: dict[str, Any] = {
            "autocommit": True,
            "connect_timeout": max(1, round(timeout)),
            "application_name": "volta",
            # work_mem: history sorts a vehicle-day (~400k rows) in memory, not on disk.
            # jit off: a vehicle-day's history plan costs enough to be JIT-compiled on every
            # run, and compiling took longer than running it (EXPLAIN ANALYZE: JIT 182 of
            # 358 ms); no query of ours runs long enough to win that back.
            "options": f"-c search_path={schema} -c work_mem=64MB -c jit=off",
        }

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Translate what psycopg raises when the engine, not the request, is at fault."""
        try:
            yield
        except pgerrors.TransactionRollback:
            raise  # deadlock or serialisation failure: the caller retries
        except (psycopg.OperationalError, PoolTimeout, PoolClosed) as e:
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            if self._secret:
                reason = reason.replace(self._secret, "***")
            raise Unavailable(f"{self.where} is unavailable: {reason}") from e
        except psycopg.DataError as e:
            raise ValidationError(f"samples cannot be stored: {e}") from e

    @contextmanager
    def connect(self) -> Iterator[_Conn]:
        """One direct connection (not pooled), closed on exit."""
        with self.errors(), psycopg.connect(self.url, **self.kwargs) as conn:
            yield conn

    def migrate(self) -> list[migrations.Migration]:
        """Apply pending migrations; return those applied now."""
        with self.connect() as conn:
            return migrations.migrate(conn, self.schema)

    def version(self) -> int | None:
        """The schema version in the database; None if it was never migrated."""
        with self.connect() as conn:
            return migrations.current_version(conn, self.schema)


class PostgresStore:
    """`TelemetryStore` on a PostgreSQL database (`url`: a postgresql:// connection URL).

    `schema` holds the tables (tests give each store its own). Migrations are applied on open
    unless `migrate` is False, in which case the schema must already be current.
    `timeout` bounds connecting and waiting for a pooled connection, in seconds. `clock` says
    which UTC day it is (today's and tomorrow's partitions are made ahead of the samples).
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str = "public",
        migrate: bool = True,
        pool_size: int = 8,
        timeout: float = 5.0,
        clock: Clock = wall_ms,
        compact_every_s: float = 60.0,
        compact_grace_ms: int = 10 * 60_000,
    ) -> None:
        self.server = Server(url, schema, timeout)
        self.schema = schema
        if migrate:
            self.server.migrate()
        elif (found := self.server.version()) != migrations.latest_version():
            raise Unavailable(
                f"{self.server.where}: schema {schema!r} is at version {found}, this Volta "
                f"needs {migrations.latest_version()}: run `volta migrate`"
            )
        # `check` tests a pooled connection before handing it out, so that after a server
        # restart callers get fresh connections instead of one error per dead one.
        self._pool: ConnectionPool[_Conn] = ConnectionPool(
            url, kwargs=self.server.kwargs, min_size=1, max_size=pool_size, timeout=timeout,
            open=False, check=ConnectionPool.check_connection,
        )  # fmt: skip
        with self.server.errors():
            self._pool.open(wait=True, timeout=timeout)
        self._clock = clock
        self._partitions: set[int] = set()  # days known to have a partition
        self._partitions_lock = threading.Lock()
        self._grace_ms = compact_grace_ms
        self._due: dict[int, set[str]] = {}  # hour -> VINs this store wrote chunks of in it
        self._due_lock = threading.Lock()
        self._closing = threading.Event()
        self._swept = False
        self._compactor = None
        if compact_every_s > 0:
            self._compactor = Periodic(
                "volta-compact", lambda: compact_every_s, self._compact_due, log,
                "compaction failed (the chunks stay readable; retried at the next run)",
                timeout_s=5.0,
            )  # fmt: skip
        try:
            self.prepare()
        except BaseException:
            self._pool.close()
            raise

    # -- plumbing ---------------------------------------------------------------------------

    @contextmanager
    def _conn(self) -> Iterator[_Conn]:
        with self.server.errors(), self._pool.connection() as conn:
            yield conn

    def _rows(self, query: Any, params: Any = None) -> list[tuple[Any, ...]]:
        with self._conn() as conn:
            return conn.execute(query, params).fetchall()

    def schema_version(self) -> int | None:
        """The schema version recorded in the database (for `volta doctor`)."""
        with self._conn() as conn:
            return migrations.current_version(conn, self.schema)

    def partitions(self) -> list[str]:
        """Names of the sample partitions, oldest first."""
        with self._conn() as conn:
            return sorted(load.partitions_of(conn))

    def close(self) -> None:
        self._closing.set()
        if self._compactor is not None:
            self._compactor.stop()
        self._pool.close()

    def prepare(self) -> None:
        """Pay before the first batch what the first commits would otherwise pay under load
        (measured: a fresh worker's first append took 1.7 s, the next ones ~60 ms).

        Creates today's and tomorrow's partitions, analysed while empty, so that no append
        creates one until the day after tomorrow's is due; then runs the write path once in a
        transaction that is rolled back: pyarrow's first `pa.array` imports pandas (~300
        modules, read from disk on a freshly started machine), and the pooled connection's
        server process loads the tables' catalog entries and makes its temporary table.
        A server that refuses writes (a read-only role or a replica) is logged, not raised:
        such a store can still read."""
        today = self._clock() // load.DAY_MS
        try:
            self._ensure_partitions([today, today + 1])
            self._rolled_back_append(today * load.DAY_MS)
        except (pgerrors.ReadOnlySqlTransaction, pgerrors.InsufficientPrivilege) as e:
            log.warning("%s: not prepared for writing: %s", self.server.where, e)

    def _rolled_back_append(self, ts_ms: int) -> None:
        # Not a real VIN (no VIN has '-'), so no vehicle's batch waits on this one's key.
        probe = AcceptedBatch(
            vin="volta-warm-up", seq=0, ts_ms=ts_ms, received_ms=ts_ms, signal_ids=[0],
            ts=[ts_ms], num=[0.0], txt=[None], rejected=0,
        )  # fmt: skip
        samples = sample_table([probe])
        with self._conn() as conn, conn.transaction():
            load.insert_samples(conn, samples, [probe])
            load.insert_batches(conn, [probe])
            raise psycopg.Rollback()

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
        ordered = [unique[k] for k in sorted(unique)]
        samples = sample_table(ordered)  # bad input fails before anything is written
        days = np.unique(samples.column("ts_ms").to_numpy() // load.DAY_MS).tolist()
        # Tomorrow's partition, once the day has turned: made by the first append of the day,
        # not by every worker at midnight.
        self._ensure_partitions([*days, self._clock() // load.DAY_MS + 1])
        for attempt in range(1, 4):
            try:
                fresh = self._append_once(ordered, samples, quarantine)
                break
            except pgerrors.TransactionRollback as e:  # deadlock or serialisation failure
                if attempt == 3:
                    raise Unavailable(f"{self.server.where}: append kept conflicting: {e}") from e
            except pgerrors.CheckViolation as e:  # "no partition for row": one was dropped
                if attempt == 3:
                    raise Unavailable(f"{self.server.where}: no partition for samples: {e}") from e
                with self._partitions_lock:
                    self._partitions.clear()
                self._ensure_partitions(days)
        duplicates.update(k for k in unique if k not in fresh)
        self._note_written(samples, ordered)
        return duplicates

    # -- compaction (see `volta.store.compaction`) -------------------------------------------

    def _note_written(self, samples: pa.Table, ordered: list[AcceptedBatch]) -> None:
        """Remember which vehicles this store wrote chunks of in which hour, for `_compact_due`;
        and start the compaction job with the first write (a store that only reads never
        compacts)."""
        if not samples.num_rows:
            return
        ts = samples.column("ts_ms").to_numpy()
        hour = ts - ts % chunks.HOUR_MS
        with self._due_lock:
            if hour.min() == hour.max():  # the usual commit: every batch within one hour
                self._due.setdefault(int(hour[0]), set()).update(b.vin for b in ordered)
            else:
                batch = samples.column("vin").combine_chunks().indices.to_numpy()
                first, span = int(hour.min()), int(hour.max() - hour.min()) // chunks.HOUR_MS + 1
                for key in np.unique(batch * span + (hour - first) // chunks.HOUR_MS).tolist():
                    hour_of = first + key % span * chunks.HOUR_MS
                    self._due.setdefault(hour_of, set()).add(ordered[key // span].vin)
        if self._compactor is not None:
            self._compactor.start()

    def _cutoff(self, before_ms: int | None) -> int:
        """The hour before which chunks are compacted: `before_ms`'s, or the grace's ago."""
        return chunks.first_hour(self._clock() - self._grace_ms if before_ms is None else before_ms)

    def compact(self, before_ms: int | None = None, vins: Sequence[str] | None = None) -> int:
        """Move the chunks of `vins` (default: every vehicle) in hours that ended by
        `before_ms` (default: `compact_grace_ms` ago by the store's clock) into
        `signal_hours`; return how many samples moved. Stores that write run this on their
        own: a full sweep at their first run, then the hours they wrote in once due."""
        hi = self._cutoff(before_ms)
        if vins is None:
            vins = [r[0] for r in self._rows("SELECT vin FROM latest_by_vehicle ORDER BY vin")]
        with self._conn() as conn:
            days = sorted(d for d in load.partition_days(conn) if d * load.DAY_MS < hi)
        ranges = [(d * load.DAY_MS, min((d + 1) * load.DAY_MS, hi)) for d in days]
        return self._compact(list(vins), ranges)

    def _compact_due(self) -> int:
        """The compaction job: what `compact` moves at its first run, then the hours this
        store wrote chunks in that are due (another worker's late batch is compacted by
        that worker)."""
        hi = self._cutoff(None)
        with self._due_lock:
            due = {h: self._due.pop(h) for h in [h for h in self._due if h < hi]}
        try:
            if not self._swept:
                moved = self.compact()
                self._swept = True
                return moved
            by_day: dict[int, tuple[int, set[str]]] = {}
            for hour, vins in due.items():
                day = hour // load.DAY_MS
                first, seen = by_day.get(day, (hour, set()))
                by_day[day] = (min(first, hour), seen | vins)
            moved = 0
            for day, (first, vins) in sorted(by_day.items()):
                moved += self._compact(sorted(vins), [(first, min((day + 1) * load.DAY_MS, hi))])
            return moved
        except BaseException:
            with self._due_lock:
                for hour, vins in due.items():
                    self._due.setdefault(hour, set()).update(vins)
            raise

    def _compact(self, vins: list[str], ranges: list[tuple[int, int]]) -> int:
        """Compact `vins` in each [lo, hi) of `ranges`, a slice of vehicles per transaction,
        sized to move about `_COMPACT_TARGET` samples (bounded memory whatever the backlog)."""
        moved, size = 0, 16
        lock = f"volta.compact:{self.schema}"
        for lo, hi in ranges:
            at = 0
            while at < len(vins) and not self._closing.is_set():
                part = vins[at : at + size]
                with self._conn() as conn, conn.transaction():
                    conn.execute(compaction.LOCK, [lock])
                    n = compaction.compact(conn, part, lo, hi)
                moved += n
                at += len(part)
                size = max(1, min(_COMPACT_SLICE, size * _COMPACT_TARGET // max(n, 1), size * 8))
        return moved

    def _append_once(
        self,
        ordered: list[AcceptedBatch],
        samples: pa.Table,
        quarantine: Sequence[QuarantineRecord],
    ) -> set[tuple[str, int]]:
        with self._conn() as conn, conn.transaction():
            fresh = load.insert_batches(conn, ordered)
            if samples.num_rows:
                load.insert_samples(conn, load.only_fresh(samples, ordered, fresh), ordered)
            if quarantine:
                load.insert_quarantine(conn, quarantine)
        return fresh

    def _ensure_partitions(self, days: list[int]) -> None:
        """Create the partitions of `days` that are missing, each once across every worker."""
        with self._partitions_lock:
            missing = [d for d in days if d not in self._partitions]
            if not missing:
                return
            lock = f"volta.partition:{self.schema}"
            with self._conn() as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [lock])
                for table in load.PARTITIONED:
                    existing = set(load.partitions_of(conn, table))
                    for day in missing:
                        if load.partition_name(day, table) not in existing:
                            for statement in load.create_partition(day, table):
                                conn.execute(statement)
            self._partitions.update(missing)

    # -- reads ------------------------------------------------------------------------------

    def has_batch(self, vin: str, seq: int) -> bool:
        return bool(self._rows("SELECT 1 FROM batches WHERE vin = %s AND seq = %s", [vin, seq]))

    def recent_seqs(self, vin: str, limit: int) -> list[int]:
        """The highest `limit` seqs stored for a vehicle, highest first."""
        query = "SELECT seq FROM batches WHERE vin = %s ORDER BY seq DESC LIMIT %s"
        return [int(r[0]) for r in self._rows(query, [vin, max(0, limit)])]

    def latest(self, vin: str | None = None) -> Iterator[LatestValue]:
        """Latest value per (vin, signal) by sample time, ordered by (vin, signal_id)."""
        query = (
            "SELECT l.vin, u.signal_id, u.ts_ms, u.num, u.txt FROM latest_by_vehicle l, "
            "unnest(l.signal_ids, l.ts, l.num, l.txt) AS u(signal_id, ts_ms, num, txt)"
        )
        query += " WHERE l.vin = %s" if vin is not None else ""
        rows = self._rows(query + " ORDER BY 1, 2", [vin] if vin is not None else None)
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
        if not ids or end_ms <= start_ms:
            return [Series(s, [], [], []) for s in ids]
        width = bucket_width(start_ms, end_ms, max_points)
        wanted = sorted(set(ids))
        found = history_of(self._samples(vin, wanted, start_ms, end_ms), start_ms, width,
                           max_points)  # fmt: skip
        return [found.get(s) or Series(s, [], [], []) for s in ids]

    def _samples(
        self, vin: str, ids: list[int], start_ms: int, end_ms: int
    ) -> dict[int, chunks.Samples]:
        """The samples of each signal of `ids` in [start_ms, end_ms): `signal_hours` rows in
        hour order, then those of chunks not compacted yet (not sorted)."""
        with self._conn() as conn:
            cursor = conn.cursor(binary=True)
            rows = cursor.execute(_READ_SIGNALS, _range(vin, start_ms, end_ms, ids)).fetchall()
        hours: dict[int, list[Any]] = {s: [] for s in ids}
        for r in sorted((r for r in rows if r[0] is not None), key=lambda r: r[1]):
            hours[r[0]].append(r[:3] + r[4:])
        fresh = chunks.decode([r[3:] for r in rows if r[0] is None])
        found = {}
        for s in ids:
            # The signal's rows, then its samples in chunks, decoded into one set of arrays.
            at = np.flatnonzero(fresh.signal_id == s)
            if not hours[s] and not len(at):
                continue
            one = compaction.decode_hours(hours[s], extra=len(at))
            if len(at):
                tail = slice(len(one.ts) - len(at), None)
                one.signal_id[tail], one.ts[tail], one.num[tail] = s, fresh.ts[at], fresh.num[at]
                if fresh.txt is not None:
                    txt = one.txt if one.txt is not None else np.full(len(one.ts), None, object)
                    txt[tail] = fresh.txt[at]
                    one = chunks.Samples(one.signal_id, one.ts, one.num, txt)
            keep = (one.ts >= start_ms) & (one.ts < end_ms)
            found[s] = one if keep.all() else one.take(keep)
        return found

    def scan(
        self, vin: str, signal_ids: Sequence[int], start_ms: int, end_ms: int
    ) -> dict[
        int, tuple[np.ndarray[Any, np.dtype[np.int64]], np.ndarray[Any, np.dtype[np.float64]]]
    ]:
        """Raw numeric samples per signal in [start_ms, end_ms), sorted by time."""
        ids = sorted({int(s) for s in signal_ids})
        out: dict[int, tuple[_Int64s, _Floats]] = {
            s: (np.empty(0, np.int64), np.empty(0, np.float64)) for s in ids
        }
        if not ids or end_ms <= start_ms:
            return out
        for s, found in self._samples(vin, ids, start_ms, end_ms).items():
            ts, num = found.ts, found.num
            numbers = ~np.isnan(num)
            if numbers.any():
                out[s] = by_time(ts[numbers], num[numbers])
        return out

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
        signal; return the row count.

        Rows and chunks stream from a server-side cursor in time order and are written an hour
        at a time: each holds one UTC hour, so sorting each hour's samples orders the file."""
        ids = None if signal_ids is None else [int(s) for s in signal_ids]
        query = _READ_ALL if ids is None else _READ_SIGNALS
        rows = 0
        with (
            self._conn() as conn,
            conn.transaction(),
            conn.cursor(name="volta_export", binary=True) as cur,
            _export_writer(fmt, path) as write,
        ):
            cur.execute(query + " ORDER BY 2", _range(vin, start_ms, end_ms, ids))
            pending: list[Any] = []
            while fetched := cur.fetchmany(_EXPORT_FETCH):
                pending += fetched
                last_hour = chunks.first_hour(pending[-1][1])
                done = next(i for i, r in enumerate(pending) if r[1] >= last_hour)
                rows += write(_export_piece(vin, pending[:done], ids, start_ms, end_ms))
                pending = pending[done:]
            rows += write(_export_piece(vin, pending, ids, start_ms, end_ms))
        return rows

    def quarantined(
        self, vin: str | None = None, limit: int = 100, before_id: int | None = None
    ) -> list[StoredQuarantine]:
        """Newest first; page with `before_id` (the smallest id of the previous page)."""
        query = (
            "SELECT id, received_ms, reason, code, vin, seq, sample_index, signal, raw "
            "FROM quarantine WHERE (%(vin)s::text IS NULL OR vin = %(vin)s) "
            "AND (%(before)s::bigint IS NULL OR id < %(before)s) ORDER BY id DESC LIMIT %(limit)s"
        )
        rows = self._rows(query, {"vin": vin, "before": before_id, "limit": max(0, limit)})
        return [
            StoredQuarantine(r[0], QuarantineRecord(r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8]))
            for r in rows
        ]

    def stats(self) -> StoreStats:
        row = self._rows(
            "SELECT (SELECT count(*) FROM batches), "
            "(SELECT coalesce(sum(length(signal_ids) / 4), 0) FROM samples) "
            "+ (SELECT coalesce(sum(n), 0) FROM signal_hours), "
            "(SELECT count(*) FROM quarantine), (SELECT count(DISTINCT vin) FROM batches)"
        )[0]
        return StoreStats(batches=row[0], samples=row[1], quarantined=row[2], vehicles=row[3])


def _range(vin: str, start_ms: int, end_ms: int, ids: list[int] | None) -> dict[str, Any]:
    """The parameters of `_READ_SIGNALS` and `_READ_ALL`."""
    first = chunks.first_hour(start_ms)
    return {"vin": vin, "start": start_ms, "end": end_ms, "first": first, "ids": ids}


def _decode(rows: Sequence[tuple[Any, ...]]) -> chunks.Samples:
    """The samples of rows of `_READ`: `signal_hours` rows, then chunks."""
    hours = [r[:3] + r[4:] for r in rows if r[0] is not None]
    packed = [r[3:] for r in rows if r[0] is None]
    if not packed:
        return compaction.decode_hours(hours)
    if not hours:
        return chunks.decode(packed)
    return chunks.concat(compaction.decode_hours(hours), chunks.decode(packed))


_Int64s = np.ndarray[Any, np.dtype[np.int64]]
_Floats = np.ndarray[Any, np.dtype[np.float64]]


def _export_piece(
    vin: str, rows: list[tuple[Any, ...]], ids: list[int] | None, start_ms: int, end_ms: int
) -> pa.Table:
    found = _decode(rows)
    keep = (found.ts >= start_ms) & (found.ts < end_ms)
    if ids is not None:
        keep &= np.isin(found.signal_id, ids)
    found = found.take(keep)
    columns = [
        pa.array([vin] * len(found.ts), pa.string()), pa.array(found.signal_id),
        pa.array(found.ts), pa.array(found.num, mask=np.isnan(found.num)),
        pa.array(found.txt if found.txt is not None else [None] * len(found.ts), pa.string()),
    ]  # fmt: skip
    return pa.Table.from_arrays(columns, schema=_EXPORT_SCHEMA).sort_by(_EXPORT_ORDER)


@contextmanager
def _export_writer(fmt: ExportFormat, path: Path) -> Iterator[Callable[[pa.Table], int]]:
    """A function that appends a table to the export file and returns its row count."""
    writer: pq.ParquetWriter | pacsv.CSVWriter
    if fmt is ExportFormat.CSV:
        writer = pacsv.CSVWriter(path, _EXPORT_SCHEMA)
    else:
        writer = pq.ParquetWriter(path, _EXPORT_SCHEMA)

    def write(table: pa.Table) -> int:
        if table.num_rows:
            writer.write_table(table)
        return int(table.num_rows)

    try:
        yield write
    finally:
        writer.close()


def _conninfo(url: str) -> dict[str, Any]:
    try:
        return conninfo_to_dict(url)
    except psycopg.ProgrammingError as e:
        raise ConfigError("invalid PostgreSQL URL: expected postgresql://user@host:port/db") from e
