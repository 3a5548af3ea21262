"""Bulk load into PostgreSQL: batch rows, samples by COPY, `latest`, quarantine, partitions.

Everything here runs inside the caller's transaction on the caller's connection; the store
(`volta.store.postgres_store`) decides when to open one and what to retry.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql

from volta.store.base import AcceptedBatch, QuarantineRecord

DAY_MS = 86_400_000
Conn = psycopg.Connection[tuple[Any, ...]]

_INSERT_BATCHES = """
INSERT INTO batches (vin, seq, ts_ms, received_ms, accepted, rejected)
SELECT * FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::bigint[], %s::int[], %s::int[])
ON CONFLICT DO NOTHING RETURNING vin, seq
"""
# The winners of one call go through a temporary table (COPY, like the samples: adapting
# tens of thousands of values as query parameters costs more than the upsert itself).
_LATEST_IN = """
CREATE TEMP TABLE IF NOT EXISTS latest_in (
    vin text COLLATE "C", signal_id integer, ts_ms bigint, num double precision, txt text,
    seq bigint) ON COMMIT DELETE ROWS
"""
# Sorted by (vin, signal_id), so concurrent writers lock `latest` rows in one order.
_UPSERT_LATEST = """
INSERT INTO latest (vin, signal_id, ts_ms, seq, num, txt)
SELECT vin, signal_id, ts_ms, seq, num, txt FROM latest_in ORDER BY vin, signal_id
ON CONFLICT (vin, signal_id) DO UPDATE
SET ts_ms = excluded.ts_ms, seq = excluded.seq, num = excluded.num, txt = excluded.txt
WHERE (excluded.ts_ms, excluded.seq) > (latest.ts_ms, latest.seq)
"""


def partition_name(day: int) -> str:
    """`telemetry_20251127` for the UTC day `day` (days since the epoch)."""
    try:
        return "telemetry_" + datetime.fromtimestamp(day * 86_400, UTC).strftime("%Y%m%d")
    except (OverflowError, ValueError, OSError):
        return f"telemetry_d{day}".replace("-", "m")  # far outside 1..9999 AD


def partitions_of(conn: Conn) -> list[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'telemetry'::regclass"
    ).fetchall()
    return [r[0] for r in rows]


def create_partition(day: int) -> sql.Composed:
    return sql.SQL("CREATE TABLE {} PARTITION OF telemetry FOR VALUES FROM ({}) TO ({})").format(
        sql.Identifier(partition_name(day)),
        sql.Literal(day * DAY_MS),
        sql.Literal((day + 1) * DAY_MS),
    )


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
    columns = [
        [b.vin for b in batches],
        [b.seq for b in batches],
        [b.ts_ms for b in batches],
        [b.received_ms for b in batches],
        [len(b) for b in batches],
        [b.rejected for b in batches],
    ]
    return {(r[0], r[1]) for r in conn.execute(_INSERT_BATCHES, columns).fetchall()}


def insert_samples(conn: Conn, samples: pa.Table, ordered: list[AcceptedBatch]) -> None:
    """COPY the samples into `telemetry`, then upsert each (vin, signal)'s winner into `latest`."""
    if not samples.num_rows:
        return
    samples = samples.combine_chunks()
    rows = samples.select(["vin", "signal_id", "ts_ms", "num", "txt"]).cast(
        pa.schema([("vin", pa.string()), ("signal_id", pa.int32()), ("ts_ms", pa.int64()),
                   ("num", pa.float64()), ("txt", pa.string())])
    )  # fmt: skip
    _copy_csv(conn, "telemetry (vin, signal_id, ts_ms, num, txt)", rows)
    # The winner per (vin, signal) is the largest order key `k` (see columns.order_key).
    vin_of_batch = np.cumsum([i > 0 and b.vin != ordered[i - 1].vin for i, b in enumerate(ordered)])
    owner = samples.column("vin").chunk(0).indices.to_numpy()
    vin = vin_of_batch[owner]
    sid = samples.column("signal_id").to_numpy()
    order = np.lexsort((samples.column("k").to_numpy(), sid, vin))
    vin, sid = vin[order], sid[order]
    last = np.flatnonzero(np.r_[(vin[1:] != vin[:-1]) | (sid[1:] != sid[:-1]), True])
    conn.execute(_LATEST_IN)
    winners = rows.append_column("seq", samples.column("seq")).take(order[last])
    _copy_csv(conn, "latest_in (vin, signal_id, ts_ms, num, txt, seq)", winners)
    conn.execute(_UPSERT_LATEST)


def _copy_csv(conn: Conn, target: str, table: pa.Table) -> None:
    """COPY an Arrow table into `target` ("table (columns)") as CSV written by Arrow: NULL is
    an empty unquoted field, text is always quoted, floats round-trip exactly."""
    buf = io.BytesIO()
    pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False))
    with conn.cursor().copy(f"COPY {target} FROM STDIN (FORMAT csv)") as copy:
        copy.write(buf.getbuffer())


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
