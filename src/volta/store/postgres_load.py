"""Bulk load into PostgreSQL: batch rows, sample chunks by binary COPY, `latest`, quarantine,
partitions.

Everything here runs inside the caller's transaction on the caller's connection; the store
(`volta.store.postgres_store`) decides when to open one and what to retry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import psycopg
import pyarrow as pa
from psycopg import sql

from volta.store import chunks
from volta.store.base import AcceptedBatch, QuarantineRecord

DAY_MS = 86_400_000
Conn = psycopg.Connection[tuple[Any, ...]]

_INSERT_BATCHES = """
INSERT INTO batches (vin, seq, ts_ms, received_ms, accepted, rejected)
SELECT * FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::bigint[], %s::int[], %s::int[])
ON CONFLICT DO NOTHING RETURNING vin, seq
"""
# One row per vehicle with this commit's winners (sorted by vin, so concurrent writers lock
# rows in one order) goes through a temporary table; an existing row is merged with it on the
# server: per signal, the later by (sample time, seq) stays.
_LATEST_IN = """
CREATE TEMP TABLE IF NOT EXISTS latest_in (
    vin text COLLATE "C", signal_ids integer[], ts bigint[], seq bigint[],
    num double precision[], txt text[]) ON COMMIT DELETE ROWS
"""
_MERGE_LATEST = """
INSERT INTO latest_by_vehicle AS l SELECT * FROM latest_in ORDER BY vin
ON CONFLICT (vin) DO UPDATE SET (signal_ids, ts, seq, num, txt) = (
    SELECT array_agg(s ORDER BY s), array_agg(t ORDER BY s), array_agg(q ORDER BY s),
           array_agg(n ORDER BY s), array_agg(x ORDER BY s)
    FROM (SELECT DISTINCT ON (s) s, t, q, n, x
          FROM (SELECT * FROM unnest(l.signal_ids, l.ts, l.seq, l.num, l.txt)
                UNION ALL
                SELECT * FROM unnest(excluded.signal_ids, excluded.ts, excluded.seq,
                                     excluded.num, excluded.txt)) AS both_(s, t, q, n, x)
          ORDER BY s, t DESC, q DESC) AS merged)
"""


# The tables partitioned by UTC day, and their columns that ANALYZE leaves alone (packed
# values: no query filters on them; migrations 0003, 0006).
PARTITIONED = {"samples": ("signal_ids", "ts", "num", "txt"), "signal_hours": ("ts", "num", "txt")}


def partition_name(day: int, table: str = "samples") -> str:
    """`samples_20251127` (or `signal_hours_20251127`) for the UTC day `day` (days since the
    epoch)."""
    try:
        return f"{table}_" + datetime.fromtimestamp(day * 86_400, UTC).strftime("%Y%m%d")
    except (OverflowError, ValueError, OSError):
        return f"{table}_d{day}".replace("-", "m")  # far outside 1..9999 AD


def partitions_of(conn: Conn, table: str = "samples") -> list[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = %s::regclass",
        [table],
    ).fetchall()
    return [r[0] for r in rows]


_BOUND = re.compile(r"FROM \('?(-?\d+)'?\)")


def partition_days(conn: Conn) -> list[int]:
    """The UTC days that have a `samples` partition (days since the epoch)."""
    rows = conn.execute(
        "SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'samples'::regclass"
    ).fetchall()
    return [int(m[1]) // DAY_MS for r in rows if (m := _BOUND.search(r[0]))]


def create_partition(day: int, table: str = "samples") -> list[sql.Composed]:
    """The statements that create the day partition `day` of `table` without stopping
    writers: a table like it (its columns' storage and compression included), with no
    statistics for its packed columns (a new table does not take them from its parent; see
    migration 0003), attached, then analysed while still empty.

    Not `CREATE TABLE … PARTITION OF`: that takes an ACCESS EXCLUSIVE lock on `samples`, so it
    waits for every open append to end and every later append and read waits behind it (a
    stall of the whole fleet). ATTACH PARTITION takes SHARE UPDATE EXCLUSIVE, which appends
    and reads do not conflict with. ANALYZE gives the planner the new table's first figures
    now, not from autovacuum under load."""
    name = sql.Identifier(partition_name(day, table))
    no_statistics = sql.SQL(", ").join(
        sql.SQL("ALTER COLUMN {} SET STATISTICS 0").format(sql.Identifier(column))
        for column in PARTITIONED[table]
    )
    attach = sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})")
    parent = sql.Identifier(table)
    return [
        sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING STORAGE INCLUDING COMPRESSION)").format(
            name, parent
        ),
        sql.SQL("ALTER TABLE {} {}").format(name, no_statistics),
        attach.format(parent, name, sql.Literal(day * DAY_MS), sql.Literal((day + 1) * DAY_MS)),
        sql.SQL("ANALYZE {}").format(name),
    ]


def only_fresh(
    samples: pa.Table, ordered: list[AcceptedBatch], fresh: set[tuple[str, int]]
) -> pa.Table:
    """The samples of the batches in `fresh` (the others were stored before)."""
    if len(fresh) == len(ordered):
        return samples
    keep = np.array([(b.vin, b.seq) in fresh for b in ordered], dtype=bool)
    return samples.filter(np.repeat(keep, [len(b) for b in ordered]))


def insert_batches(conn: Conn, batches: list[AcceptedBatch]) -> set[tuple[str, int]]:
    """Insert batch rows; the primary key decides which are new. Returns the new keys."""
    if not batches:
        return set()
    # Array literals, not lists: psycopg adapts a list element by element (~7 µs each here).
    vins: str | list[str] = [b.vin for b in batches]
    if all(map(_PLAIN.fullmatch, vins)):
        vins = "{" + ",".join(vins) + "}"
    columns = [
        vins,
        _int_array(b.seq for b in batches),
        _int_array(b.ts_ms for b in batches),
        _int_array(b.received_ms for b in batches),
        _int_array(len(b) for b in batches),
        _int_array(b.rejected for b in batches),
    ]
    return {(r[0], r[1]) for r in conn.execute(_INSERT_BATCHES, columns).fetchall()}


_PLAIN = re.compile(r"[A-Za-z0-9_.:-]+")  # needs no quoting in an array literal (VINs do not)


def _int_array(values: Iterable[int]) -> str:
    return "{" + ",".join(map(str, values)) + "}"


def insert_samples(conn: Conn, samples: pa.Table, ordered: list[AcceptedBatch]) -> None:
    """COPY the samples into `samples` as chunk rows, then merge each (vin, signal)'s winner
    into `latest_by_vehicle`."""
    if not samples.num_rows:
        return
    samples = samples.combine_chunks()
    with conn.cursor().copy(f"COPY {chunks.COPY_COLUMNS} FROM STDIN (FORMAT binary)") as copy:
        copy.set_types(chunks.COPY_TYPES)
        for row in chunks.chunk_rows(samples):
            copy.write_row(row)
    # The winner per (vin, signal) is the largest order key `k` (see columns.order_key).
    vin_of_batch = np.cumsum([i > 0 and b.vin != ordered[i - 1].vin for i, b in enumerate(ordered)])
    owner = samples.column("vin").chunk(0).indices.to_numpy()
    vin = vin_of_batch[owner]
    sid = samples.column("signal_id").to_numpy()
    order = np.lexsort((samples.column("k").to_numpy(), sid, vin))
    vin, sid = vin[order], sid[order]
    last = np.flatnonzero(np.r_[(vin[1:] != vin[:-1]) | (sid[1:] != sid[:-1]), True])
    winners = samples.select(["vin", "signal_id", "ts_ms", "seq", "num", "txt"]).take(order[last])
    conn.execute(_LATEST_IN)
    with conn.cursor().copy("COPY latest_in FROM STDIN (FORMAT binary)") as copy:
        copy.set_types(chunks.LATEST_TYPES)
        for latest in chunks.latest_rows(winners):
            copy.write_row(latest)
    conn.execute(_MERGE_LATEST)


def insert_quarantine(conn: Conn, records: Sequence[QuarantineRecord]) -> None:
    """COPY quarantine records; ids are assigned in order, so later records are newer."""
    with conn.cursor().copy(
        "COPY quarantine (received_ms, vin, seq, sample_index, signal, code, reason, raw) "
        "FROM STDIN"
    ) as copy:
        for r in records:
            copy.write_row(
                (r.received_ms, r.vin, r.seq, r.sample_index, r.signal, r.code, r.reason, r.raw)
            )
