"""The scale-out telemetry store on PostgreSQL: any number of workers write to one database.

Idempotence across workers: `batches` has the primary key (vin, seq). An append inserts its
batch rows with `ON CONFLICT DO NOTHING RETURNING`, which tells it which batches are new, and
then bulk-loads (COPY) only their samples, all in ONE transaction. Two workers that receive the
same batch race on the key; the loser waits for the winner's commit and finds a duplicate, so
the samples are stored once whichever worker the broker chose.

Layout (migration 0002): `samples` holds one row per batch and UTC hour, the samples as arrays
(`volta.store.chunks`), range-partitioned by the chunk's earliest sample time, one partition
per UTC day, created on demand in a short transaction of its own (serialised by an advisory
lock) before the append that needs it. A (vin, ts_min) index finds a vehicle's chunks in a time
range; history, scan and export `unnest` them. `latest_by_vehicle` keeps one row per vehicle,
rewritten once per call with the same tie-break as DuckDB (sample time, then seq, then
position).

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

from volta.errors import BadRequest, ConfigError, Unavailable, ValidationError
from volta.store import chunks, migrations
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

# The samples of one vehicle in [start, end): its chunks that can hold them (an index range
# on (vin, ts_min), see `chunks.first_hour`), unnested, then filtered sample by sample.
_CHUNK_RANGE = (
    "c.vin = %(vin)s AND c.ts_min >= %(first)s::bigint AND c.ts_min < %(end)s::bigint "
    "AND c.ts_max >= %(start)s::bigint"
)
_SAMPLES = f"""
SELECT u.signal_id, u.ts_ms, u.num, u.txt
FROM samples c, unnest(c.signal_ids, c.ts, c.num, c.txt) AS u(signal_id, ts_ms, num, txt)
WHERE {_CHUNK_RANGE}
"""
_IN_RANGE = (
    "signal_id = ANY(%(ids)s::int[]) AND ts_ms >= %(start)s::bigint AND ts_ms < %(end)s::bigint"
)
_RANGE = f"FROM ({_SAMPLES}) s WHERE {_IN_RANGE}"
# The same buckets as `bucket_width` and DuckDB: bucket k starts at start + k * width. A
# bucket's last value is its latest sample's, ties going to the larger number, then text.
_LAST = "ORDER BY ts_ms DESC, num DESC NULLS LAST, txt DESC NULLS LAST"
_BUCKETS = f"""
SELECT signal_id, %(start)s::bigint + (ts_ms - %(start)s::bigint) / %(width)s * %(width)s AS t,
       (array_agg(num {_LAST}))[1], (array_agg(txt {_LAST}))[1],
       min(num), max(num), avg(num), count(*)
{_RANGE} GROUP BY 1, 2 ORDER BY 1, 2
"""
_RAW = f"SELECT signal_id, ts_ms, num, txt {_RANGE} ORDER BY signal_id, ts_ms, num, txt"


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
        """Names of the sample partitions, oldest first."""
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
                        for statement in load.create_partition(day):
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
        sid, ts, num, text = self._samples(vin, wanted, start_ms, end_ms)
        if text:  # rare: signals with text values are aggregated by the server
            found = self._history_on_server(vin, wanted, start_ms, end_ms, width, max_points)
        else:
            found = _history_of_numbers(sid, ts, num, wanted, start_ms, width, max_points)
        return [found.get(s) or Series(s, [], [], []) for s in ids]

    def _history_on_server(
        self, vin: str, ids: list[int], start_ms: int, end_ms: int, width: int, max_points: int
    ) -> dict[int, Series]:
        found: dict[int, Series] = {}
        params = _range(vin, ids, start_ms, end_ms)
        for sid, rows in groupby(self._rows(_BUCKETS, {**params, "width": width}), itemgetter(0)):
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
        return found

    def _samples(
        self, vin: str, ids: list[int], start_ms: int, end_ms: int
    ) -> tuple[_Int32s, _Int64s, _Floats, list[tuple[int, int, float | None, str | None]]]:
        """The samples of `ids` in [start_ms, end_ms): those of chunks without text as arrays
        sorted by (signal, time, value), and the rows of chunks with text."""
        params = _range(vin, ids, start_ms, end_ms)
        # Chunks without text cross the wire as their binary arrays, which numpy reads without
        # a loop; the few with text (NULLs among the numbers) are unnested on the server.
        numeric = self._rows(
            "SELECT array_send(signal_ids), array_send(ts), array_send(num) "
            f"FROM samples c WHERE {_CHUNK_RANGE} AND c.txt IS NULL",
            params,
        )
        text = self._rows(f"SELECT signal_id, ts_ms, num, txt FROM ({_SAMPLES} "
                          f"AND c.txt IS NOT NULL) s WHERE {_IN_RANGE}", params)  # fmt: skip
        sid = chunks.elements([r[0] for r in numeric], ">i4")
        ts = chunks.elements([r[1] for r in numeric], ">i8")
        num = chunks.elements([r[2] for r in numeric], ">f8")
        keep = np.isin(sid, ids) & (ts >= start_ms) & (ts < end_ms)
        sid, ts, num = sid[keep], ts[keep], num[keep]
        order = np.lexsort((num, ts, sid))
        return sid[order], ts[order], num[order], text

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
        sid, ts, num, text = self._samples(vin, ids, start_ms, end_ms)
        if text:
            rows = sorted((r[0], r[1], r[2]) for r in text if r[2] is not None)
            sid = np.concatenate([sid, np.array([r[0] for r in rows], np.int32)])
            ts = np.concatenate([ts, np.array([r[1] for r in rows], np.int64)])
            num = np.concatenate([num, np.array([r[2] for r in rows], np.float64)])
            order = np.lexsort((ts, sid))
            sid, ts, num = sid[order], ts[order], num[order]
        bounds = np.searchsorted(sid, [*ids, ids[-1] + 1])
        for i, s in enumerate(ids):
            a, b = bounds[i], bounds[i + 1]
            if b > a:
                out[s] = (ts[a:b].copy(), num[a:b].copy())
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
        chunk_range = sql.SQL(
            "c.vin = {vin} AND c.ts_min >= {first} AND c.ts_min < {end} AND c.ts_max >= {start}"
        ).format(
            vin=sql.Literal(vin), first=sql.Literal(chunks.first_hour(start_ms)),
            start=sql.Literal(start_ms), end=sql.Literal(end_ms),
        )  # fmt: skip
        where = sql.SQL("u.ts_ms >= {} AND u.ts_ms < {}").format(
            sql.Literal(start_ms), sql.Literal(end_ms)
        )
        if signal_ids is not None:
            ids = sql.Literal([int(s) for s in signal_ids])
            where = sql.SQL("{} AND u.signal_id = ANY({}::int[])").format(where, ids)
        select = sql.SQL(
            "SELECT c.vin, u.signal_id, u.ts_ms, u.num, u.txt FROM samples c, "
            "unnest(c.signal_ids, c.ts, c.num, c.txt) AS u(signal_id, ts_ms, num, txt) "
            "WHERE {} AND {} ORDER BY 2, 3, 4, 5"
        ).format(chunk_range, where)
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
            "SELECT (SELECT count(*) FROM batches), "
            "(SELECT coalesce(sum(cardinality(signal_ids)), 0) FROM samples), "
            "(SELECT count(*) FROM quarantine), (SELECT count(DISTINCT vin) FROM batches)"
        )[0]
        return StoreStats(batches=row[0], samples=row[1], quarantined=row[2], vehicles=row[3])


def _range(vin: str, ids: list[int], start_ms: int, end_ms: int) -> dict[str, Any]:
    """The parameters of `_CHUNK_RANGE` and `_IN_RANGE`."""
    return {
        "vin": vin, "ids": ids, "start": start_ms, "end": end_ms,
        "first": chunks.first_hour(start_ms),
    }  # fmt: skip


_Int32s = np.ndarray[Any, np.dtype[np.int32]]
_Int64s = np.ndarray[Any, np.dtype[np.int64]]
_Floats = np.ndarray[Any, np.dtype[np.float64]]


def _history_of_numbers(
    sid: _Int32s,
    ts: _Int64s,
    num: _Floats,
    ids: list[int],
    start_ms: int,
    width: int,
    max_points: int,
) -> dict[int, Series]:
    """History of numeric samples sorted by (signal, time, value), as the server computes it:
    raw up to `max_points`, else min/max/avg/count per bucket and the bucket's last sample
    (latest time, ties to the larger value)."""
    found: dict[int, Series] = {}
    bounds = np.searchsorted(sid, [*ids, ids[-1] + 1])
    for i, s in enumerate(ids):
        lo, hi = int(bounds[i]), int(bounds[i + 1])
        t, v = ts[lo:hi], num[lo:hi]
        if hi - lo <= max_points:
            if hi > lo:
                found[s] = Series(s, t.tolist(), v.tolist(), [None] * (hi - lo))
            continue
        bucket = start_ms + (t - start_ms) // width * width
        first = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
        count = np.diff(np.r_[first, hi - lo])
        found[s] = Series(
            s, bucket[first].tolist(), v[np.r_[first[1:], hi - lo] - 1].tolist(),
            [None] * len(first), True, width, np.minimum.reduceat(v, first).tolist(),
            np.maximum.reduceat(v, first).tolist(), (np.add.reduceat(v, first) / count).tolist(),
            count.tolist(),
        )  # fmt: skip
    return found


def _conninfo(url: str) -> dict[str, Any]:
    try:
        return conninfo_to_dict(url)
    except psycopg.ProgrammingError as e:
        raise ConfigError("invalid PostgreSQL URL: expected postgresql://user@host:port/db") from e
