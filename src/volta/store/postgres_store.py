"""The scale-out telemetry store on PostgreSQL: any number of workers write to one database.

Idempotence across workers: `batches` has the primary key (vin, seq). An append inserts its
batch rows with `ON CONFLICT DO NOTHING RETURNING`, which tells it which batches are new, and
then bulk-loads (COPY) only their samples, all in ONE transaction. Two workers that receive the
same batch race on the key; the loser waits for the winner's commit and finds a duplicate, so
the samples are stored once whichever worker the broker chose.

Layout: `telemetry` is range-partitioned by sample time, one partition per UTC day, created on
demand in a short transaction of its own (serialised by an advisory lock) before the append
that needs it. A (vin, signal_id, ts_ms) index serves history, scan and export. `latest` is
upserted per call with the same tie-break as DuckDB (sample time, then seq, then position).

Connections come from a pool (autocommit; writes open explicit transactions). Every engine
failure the caller cannot fix — server down, restarted, pool exhausted — is `Unavailable`
with a plain reason that never contains the password.
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

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
from psycopg import errors as pgerrors
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from volta.errors import BadRequest, Unavailable
from volta.store import migrations
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

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_Conn = load.Conn

_RANGE = (
    "FROM telemetry WHERE vin = %(vin)s AND signal_id = ANY(%(ids)s::int[]) "
    "AND ts_ms >= %(start)s::bigint AND ts_ms < %(end)s::bigint"
)
# The same buckets as `bucket_width` and DuckDB: bucket k starts at start + k * width. Only
# plain aggregates run over the range (PostgreSQL hashes the buckets, no sort of the range);
# a bucket's last value is then one index probe at its latest time.
_BUCKETS = f"""
WITH b AS (
    SELECT signal_id, %(start)s::bigint + (ts_ms - %(start)s::bigint) / %(width)s * %(width)s
           AS t, max(ts_ms) AS last_ts, min(num) AS lo, max(num) AS hi, avg(num) AS mean,
           count(*) AS n
    {_RANGE} GROUP BY 1, 2
)
SELECT b.signal_id, b.t, last.num, last.txt, b.lo, b.hi, b.mean, b.n FROM b,
LATERAL (SELECT num, txt FROM telemetry
         WHERE vin = %(vin)s AND signal_id = b.signal_id AND ts_ms = b.last_ts
         ORDER BY num DESC NULLS LAST, txt DESC NULLS LAST LIMIT 1) AS last
ORDER BY 1, 2
"""
_RAW = f"SELECT signal_id, ts_ms, num, txt {_RANGE} ORDER BY signal_id, ts_ms, num, txt"


class Server:
    """Where a PostgreSQL store lives (`url`, `schema`), and how failures to reach it read:
    plain reasons naming host, port and database, never the password."""

    def __init__(self, url: str, schema: str = "public", timeout: float = 5.0) -> None:
        if not _SCHEMA_NAME.match(schema):
            raise BadRequest(f"invalid PostgreSQL schema name {schema!r}: use a-z, 0-9 and _")
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
            raise BadRequest(f"samples cannot be stored: {e}") from e

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
    `timeout` bounds connecting and waiting for a pooled connection, in seconds.
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str = "public",
        migrate: bool = True,
        pool_size: int = 8,
        timeout: float = 5.0,
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
        self._partitions: set[int] = set()  # days known to have a partition
        self._partitions_lock = threading.Lock()

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
        """Names of the telemetry partitions, oldest first."""
        with self._conn() as conn:
            return sorted(load.partitions_of(conn))

    def close(self) -> None:
        self._pool.close()

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
        self._ensure_partitions(days)
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
        return duplicates

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
        """Create the day partitions `days` need, each once across every worker."""
        with self._partitions_lock:
            missing = [d for d in days if d not in self._partitions]
            if not missing:
                return
            lock = f"volta.partition:{self.schema}"
            with self._conn() as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [lock])
                existing = set(load.partitions_of(conn))
                for day in missing:
                    if load.partition_name(day) not in existing:
                        conn.execute(load.create_partition(day))
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
        query = "SELECT vin, signal_id, ts_ms, num, txt FROM latest"
        query += " WHERE vin = %s" if vin is not None else ""
        rows = self._rows(query + " ORDER BY vin, signal_id", [vin] if vin is not None else None)
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
            params = {"vin": vin, "ids": sorted(set(ids)), "start": start_ms, "end": end_ms}
            for sid, rows in groupby(
                self._rows(_BUCKETS, {**params, "width": width}), itemgetter(0)
            ):
                _, ts, num, txt, lo, hi, mean, cnt = map(list, zip(*rows, strict=True))
                if sum(cnt) > max_points:
                    found[sid] = Series(sid, ts, num, txt, True, width, lo, hi, mean, cnt)
                else:
                    found[sid] = Series(sid, [], [], [])  # filled raw below
            small = [sid for sid, series in found.items() if not series.downsampled]
            if small:
                for sid, rows in groupby(self._rows(_RAW, {**params, "ids": small}), itemgetter(0)):
                    _, ts, num, txt = map(list, zip(*rows, strict=True))
                    found[sid] = Series(sid, ts, num, txt)
        return [found.get(s) or Series(s, [], [], []) for s in ids]

    def scan(
        self, vin: str, signal_ids: Sequence[int], start_ms: int, end_ms: int
    ) -> dict[
        int, tuple[np.ndarray[Any, np.dtype[np.int64]], np.ndarray[Any, np.dtype[np.float64]]]
    ]:
        """Raw numeric samples per signal in [start_ms, end_ms), sorted by time."""
        ids = sorted({int(s) for s in signal_ids})
        out = {s: (np.empty(0, np.int64), np.empty(0, np.float64)) for s in ids}
        if not ids or end_ms <= start_ms:
            return out
        # One row per signal, its columns packed server-side as big-endian binary: five rows
        # cross the wire instead of one per sample, and numpy reads them without a loop.
        rows = self._rows(
            "SELECT signal_id, string_agg(int8send(ts_ms), ''::bytea ORDER BY ts_ms), "
            "string_agg(float8send(num), ''::bytea ORDER BY ts_ms) FROM telemetry "
            "WHERE vin = %s AND signal_id = ANY(%s::int[]) AND ts_ms >= %s AND ts_ms < %s "
            "AND num IS NOT NULL GROUP BY signal_id",
            [vin, ids, start_ms, end_ms],
        )
        for sid, ts, num in rows:
            out[sid] = (
                np.frombuffer(ts, ">i8").astype(np.int64),
                np.frombuffer(num, ">f8").astype(np.float64),
            )
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
        """Write raw samples (vin, signal_id, ts_ms, num, txt) to `path`; return the row count."""
        where = sql.SQL("vin = {} AND ts_ms >= {} AND ts_ms < {}").format(
            sql.Literal(vin), sql.Literal(start_ms), sql.Literal(end_ms)
        )
        if signal_ids is not None:
            ids = sql.Literal([int(s) for s in signal_ids])
            where = sql.SQL("{} AND signal_id = ANY({}::int[])").format(where, ids)
        select = sql.SQL(
            "SELECT vin, signal_id, ts_ms, num, txt FROM telemetry WHERE {} "
            "ORDER BY signal_id, ts_ms, num, txt"
        ).format(where)
        if fmt is ExportFormat.CSV:
            return self._export_csv(select, path)
        return self._export_parquet(select, path)

    def _export_csv(self, select: sql.Composed, path: Path) -> int:
        query = sql.SQL("COPY ({}) TO STDOUT (FORMAT csv, HEADER true)").format(select)
        with self._conn() as conn, path.open("wb") as f:
            cur = conn.cursor()
            with cur.copy(query) as copy:
                for chunk in copy:
                    f.write(chunk)
            return cur.rowcount

    def _export_parquet(self, select: sql.Composed, path: Path) -> int:
        schema = pa.schema(
            [("vin", pa.string()), ("signal_id", pa.int32()), ("ts_ms", pa.int64()),
             ("num", pa.float64()), ("txt", pa.string())]
        )  # fmt: skip
        rows = 0
        with (
            self._conn() as conn,
            conn.transaction(),
            conn.cursor(name="volta_export") as cur,
            pq.ParquetWriter(path, schema) as writer,
        ):
            cur.execute(select)
            while chunk := cur.fetchmany(100_000):
                columns = list(zip(*chunk, strict=True))
                writer.write_table(pa.Table.from_arrays(columns, schema=schema))
                rows += len(chunk)
            if not rows:
                writer.write_table(schema.empty_table())
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
            "SELECT (SELECT count(*) FROM batches), (SELECT count(*) FROM telemetry), "
            "(SELECT count(*) FROM quarantine), (SELECT count(DISTINCT vin) FROM batches)"
        )[0]
        return StoreStats(batches=row[0], samples=row[1], quarantined=row[2], vehicles=row[3])


def _conninfo(url: str) -> dict[str, Any]:
    try:
        return conninfo_to_dict(url)
    except psycopg.ProgrammingError as e:
        raise BadRequest("invalid PostgreSQL URL: expected postgresql://user@host:port/db") from e
