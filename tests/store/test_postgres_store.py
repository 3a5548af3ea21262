"""What only the PostgreSQL store does: migrations, partitions, many writers, an unreachable server.

The contract suite (test_contract.py) covers the interface; these run on the same per-run
database (pgkit.py) and skip when nothing listens on 5432.
"""

from __future__ import annotations

import csv
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

from volta.cli import _register_all, app
from volta.config import Settings
from volta.errors import Unavailable
from volta.store import migrations, open_store, postgres_store
from volta.store import postgres_load as load
from volta.store.base import ExportFormat, StoreStats
from volta.store.columns import sample_table
from volta.store.postgres_load import partition_name
from volta.store.postgres_store import PostgresStore, Server

from .pgkit import PG_RUN
from .storekit import T0, VIN_A, VIN_B, batch

pytestmark = pytest.mark.services

DAY = 86_400_000
SPEED = 101
DAY_0, DAY_1 = partition_name(T0 // DAY), partition_name(T0 // DAY + 1)


def at_t0() -> int:
    """The clock of a store opened on the day of T0 (its partitions: DAY_0 and DAY_1)."""
    return T0


@pytest.fixture
def url() -> str:
    return PG_RUN.ensure()


@pytest.fixture
def schema() -> str:
    return PG_RUN.new_schema()


@pytest.fixture
def store(url: str, schema: str) -> Iterator[PostgresStore]:
    s = PostgresStore(url, schema=schema, pool_size=4, clock=at_t0)
    yield s
    s.close()


def _applied(url: str, schema: str) -> list[int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(f"SELECT version FROM {schema}.schema_migrations ORDER BY 1")
        return [r[0] for r in rows]


def _array_statistics(url: str, schema: str) -> dict[str, set[int]]:
    """Each table's statistics targets of its array columns (-1: the default, analysed)."""
    query = (
        "SELECT c.relname, a.attstattarget FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_type t ON t.oid = a.atttypid "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND t.typcategory = 'A' "
        "AND a.attnum > 0 AND NOT a.attisdropped"
    )
    found: dict[str, set[int]] = {}
    with psycopg.connect(url) as conn:
        for table, target in conn.execute(query, [schema]):
            found.setdefault(table, set()).add(target)
    return found


def test_migrations_apply_once_and_are_idempotent(url: str, schema: str) -> None:
    server = Server(url, schema)
    assert server.version() is None
    first = server.migrate()
    assert [m.version for m in first] == [m.version for m in migrations.available()]
    assert server.migrate() == []
    assert server.version() == migrations.latest_version()
    assert _applied(url, schema) == [m.version for m in migrations.available()]


def test_workers_starting_together_migrate_once(url: str, schema: str) -> None:
    barrier = threading.Barrier(4)
    applied: list[int] = []
    errors: list[BaseException] = []

    def start() -> None:
        server = Server(url, schema)
        barrier.wait()
        try:
            applied.append(len(server.migrate()))
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(applied) == [0, 0, 0, len(migrations.available())]


def test_migration_2_moves_version_1_samples_into_chunks(url: str, schema: str) -> None:
    first = migrations.available()[0]
    with psycopg.connect(url, autocommit=True) as conn:  # a database left by Volta's schema v1
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"SET search_path TO {schema}")
        conn.execute(first.sql.encode())
        conn.execute(
            "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
            "applied_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.execute("INSERT INTO schema_migrations VALUES (1, %s)", [first.name])
        day = T0 // DAY
        conn.execute(
            f"CREATE TABLE telemetry_v1 PARTITION OF telemetry "
            f"FOR VALUES FROM ({day * DAY}) TO ({(day + 1) * DAY})"
        )
        conn.execute(
            "INSERT INTO telemetry VALUES (%s, %s, %s, %s, NULL), (%s, %s, %s, NULL, 'P'), "
            "(%s, %s, %s, %s, NULL)",
            [VIN_A, SPEED, T0 + 2000, 2.0, VIN_A, 7, T0 + 1000, VIN_A, SPEED, T0, 1.0],
        )
        conn.execute(
            "INSERT INTO latest VALUES (%s, %s, %s, 4, 2.0, NULL), (%s, 7, %s, 3, NULL, 'P')",
            [VIN_A, SPEED, T0 + 2000, VIN_A, T0 + 1000],
        )
    store = PostgresStore(url, schema=schema, clock=at_t0)
    try:
        assert store.schema_version() == migrations.latest_version()
        assert store.partitions() == [DAY_0, DAY_1]
        speed, gear = store.history(VIN_A, [SPEED, 7], T0, T0 + DAY)
        assert (speed.ts, speed.num) == ([T0, T0 + 2000], [1.0, 2.0])
        assert (gear.ts, gear.txt) == ([T0 + 1000], ["P"])
        assert store.stats().samples == 3
        assert [(v.signal_id, v.ts_ms, v.num, v.txt) for v in store.latest(VIN_A)] == [
            (7, T0 + 1000, None, "P"),
            (SPEED, T0 + 2000, 2.0, None),
        ]
        store.append([batch(VIN_A, 1, [(3000, SPEED, 3.0)])])  # and it goes on storing
        (speed,) = store.history(VIN_A, [SPEED], T0, T0 + DAY)
        assert speed.num == [1.0, 2.0, 3.0]
        assert [v.num for v in store.latest(VIN_A)] == [None, 3.0]
        # Migration 3 reached the partition that migration 2 created.
        assert _array_statistics(url, schema)[partition_name(T0 // DAY)] == {0}
    finally:
        store.close()


def test_store_refuses_a_schema_newer_than_it_knows(url: str, schema: str) -> None:
    Server(url, schema).migrate()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"INSERT INTO {schema}.schema_migrations VALUES (9999, 'future')")
    with pytest.raises(Unavailable, match="newer than this Volta understands"):
        PostgresStore(url, schema=schema)


def test_store_without_migrate_refuses_an_unmigrated_schema(url: str, schema: str) -> None:
    with pytest.raises(Unavailable, match="volta migrate"):
        PostgresStore(url, schema=schema, migrate=False)


def test_other_day_partitions_are_created_on_demand(store: PostgresStore) -> None:
    assert store.partitions() == ["samples_20251127", "samples_20251128"]  # made on open
    store.append([batch(VIN_A, 1, [(0, SPEED, 1.0), (DAY, SPEED, 2.0), (2 * DAY - 1, SPEED, 3.0)])])
    assert store.partitions() == ["samples_20251127", "samples_20251128"]
    store.append([batch(VIN_A, 2, [(0, SPEED, 4.0)], ts=T0 + 3 * DAY)])
    assert store.partitions()[-1] == "samples_20251130"
    (s,) = store.history(VIN_A, [SPEED], T0, T0 + 4 * DAY)
    assert s.num == [1.0, 2.0, 3.0, 4.0]


def test_analyze_skips_every_array_column(store: PostgresStore, url: str, schema: str) -> None:
    """Most-common-element statistics of arrays made each autovacuum ANALYZE ~4x as costly, and
    no query filters on array contents: tables made by migrations and partitions made on
    demand alike have none."""
    store.append([batch(VIN_A, 1, [(0, SPEED, 1.0), (DAY, SPEED, 2.0)])])
    targets = _array_statistics(url, schema)
    expected = {"samples", "latest_by_vehicle", "samples_20251127", "samples_20251128"}
    assert expected <= targets.keys()
    assert all(t == {0} for t in targets.values()), targets


def test_a_second_worker_reuses_partitions_another_created(
    store: PostgresStore, url: str, schema: str
) -> None:
    store.append([batch(VIN_A, 1, [(0, SPEED, 1.0)])])
    other = PostgresStore(url, schema=schema, pool_size=2, clock=at_t0)
    try:
        assert other.append([batch(VIN_A, 2, [(10, SPEED, 2.0)])]) == set()
    finally:
        other.close()
    assert store.partitions() == [DAY_0, DAY_1]
    assert store.stats().samples == 2


def test_same_batch_from_two_workers_at_once_is_stored_once(url: str, schema: str) -> None:
    workers = [PostgresStore(url, schema=schema, pool_size=2) for _ in range(2)]
    batches = [batch(VIN_A, seq, [(i, SPEED, float(i)) for i in range(50)]) for seq in range(40)]
    barrier = threading.Barrier(2)
    answers: list[set[tuple[str, int]]] = [set(), set()]

    def run(i: int) -> None:
        barrier.wait()
        # Each worker sends every batch, in opposite orders, in calls of 5 batches.
        order = batches if i == 0 else batches[::-1]
        for k in range(0, len(order), 5):
            answers[i] |= workers[i].append(order[k : k + 5])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        # Every batch was a duplicate for exactly one of the two workers.
        assert answers[0] | answers[1] == {(VIN_A, seq) for seq in range(40)}
        assert answers[0] & answers[1] == set()
        assert workers[0].stats() == StoreStats(batches=40, samples=2000, quarantined=0, vehicles=1)
        (latest,) = workers[1].latest(VIN_A)
        assert (latest.ts_ms, latest.num) == (T0 + 49, 49.0)
    finally:
        for w in workers:
            w.close()


def test_unreachable_server_is_unavailable_with_a_plain_reason_and_no_password() -> None:
    began = time.monotonic()
    with pytest.raises(Unavailable) as err:
        PostgresStore("postgresql://volta:s3cret@127.0.0.1:1/volta", timeout=2)
    assert time.monotonic() - began < 5
    assert "PostgreSQL at 127.0.0.1:1/volta is unavailable" in str(err.value)
    assert "s3cret" not in str(err.value)


def test_closed_store_is_unavailable(store: PostgresStore) -> None:
    store.close()
    with pytest.raises(Unavailable):
        store.stats()


def test_open_store_picks_postgresql_from_the_store_url(url: str) -> None:
    store = open_store(Settings(store=url))
    try:
        assert isinstance(store, PostgresStore)
        assert store.schema_version() == migrations.latest_version()
    finally:
        store.close()


def test_volta_migrate_applies_then_reports_current(url: str, schema: str) -> None:
    _register_all()
    first = CliRunner().invoke(app, ["migrate", "--store", url, "--schema", schema])
    assert first.exit_code == 0, first.output
    assert "applied 0001_initial" in first.output
    again = CliRunner().invoke(app, ["migrate", "--store", url, "--schema", schema])
    assert again.exit_code == 0
    assert "applied" not in again.output
    assert f"version {migrations.latest_version()} (current)" in again.output


def test_volta_migrate_says_why_it_failed() -> None:
    _register_all()
    result = CliRunner().invoke(app, ["migrate", "--store", "postgresql://x:pw@127.0.0.1:1/v"])
    assert result.exit_code == 1
    assert "is unavailable" in result.output
    assert "pw@" not in result.output


def test_store_recovers_when_its_connections_are_killed(store: PostgresStore, url: str) -> None:
    # What a server restart does to a worker's pool, without restarting the shared server.
    store.append([batch(VIN_A, 1, [(0, SPEED, 1.0)])])
    with psycopg.connect(url, autocommit=True) as conn:
        killed = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = 'volta' "
            "AND query NOT LIKE '%%pg_terminate_backend%%'"
        ).fetchone()
    assert killed is not None and killed[0] >= 1
    assert store.append([batch(VIN_A, 2, [(0, SPEED, 2.0)])]) == set()
    assert store.stats().samples == 2


def test_append_recreates_a_partition_dropped_behind_its_back(store: PostgresStore) -> None:
    store.append([batch(VIN_A, 1, [(0, SPEED, 1.0)])])
    with psycopg.connect(store.server.url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE {store.schema}.{DAY_0}")  # retention, from another process
    assert store.partitions() == [DAY_1]
    assert store.append([batch(VIN_A, 2, [(5, SPEED, 2.0)])]) == set()
    assert store.partitions() == [DAY_0, DAY_1]
    assert store.stats().samples == 1


def test_a_vin_that_needs_quoting_in_an_array_literal_is_stored_as_given(
    store: PostgresStore,
) -> None:
    # The gateway only passes ISO 3779 VINs; the store does not rely on it.
    odd = 'odd "vin", {with} \\ marks'
    assert (
        store.append([batch(odd, 1, [(0, SPEED, 1.0)]), batch(VIN_A, 1, [(0, SPEED, 2.0)])])
        == set()
    )
    assert store.has_batch(odd, 1) and store.has_batch(VIN_A, 1)
    assert store.append([batch(odd, 1, [(0, SPEED, 1.0)])]) == {(odd, 1)}


def test_export_streamed_in_pieces_keeps_every_sample_in_time_order(
    store: PostgresStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An export fetches a few chunks at a time and writes whole hours: pieces that end inside
    an hour must neither lose nor misorder that hour's other chunks."""
    monkeypatch.setattr(postgres_store, "_EXPORT_FETCH", 3)
    hour = 3_600_000
    # Each batch's chunk spans most of its hour, so chunks of one hour interleave in time.
    batches = [
        batch(VIN_A, seq, [(h + seq * 1000, 7, float(seq)), (h + hour - seq * 1000, 7, -1.0),
                           (seq * 1000, 8, "x")])
        for seq in range(1, 21)
        for h in [(seq % 4) * hour]
    ]  # fmt: skip
    random.Random(4).shuffle(batches)
    for b in batches:
        store.append([b])
    path = tmp_path / "out.csv"
    assert store.export(VIN_A, [7], T0, T0 + 4 * hour, ExportFormat.CSV, path) == 40
    with path.open(newline="") as f:
        rows = list(csv.reader(f))[1:]
    starts = [T0 + (seq % 4) * hour for seq in range(1, 21)]
    expected = sorted([t + seq * 1000 for seq, t in enumerate(starts, 1)]
                      + [t + hour - seq * 1000 for seq, t in enumerate(starts, 1)])  # fmt: skip
    assert [int(r[2]) for r in rows] == expected
    assert sorted(float(r[3]) for r in rows) == [-1.0] * 20 + [float(s) for s in range(1, 21)]


# -- start-up: what a fresh worker pays before its first batch, not during it ---------------


def _analysed(url: str, schema: str) -> dict[str, bool]:
    """Each sample partition: has it been analysed (reltuples is -1 until the first ANALYZE)?"""
    query = (
        "SELECT c.relname, c.reltuples >= 0 FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname LIKE 'samples\\_%%' AND c.relkind = 'r'"
    )
    with psycopg.connect(url) as conn:
        return dict(conn.execute(query, [schema]).fetchall())


def test_opening_prepares_todays_and_tomorrows_partitions_analysed_and_empty(
    url: str, schema: str
) -> None:
    store = PostgresStore(url, schema=schema, clock=at_t0)
    try:
        assert store.partitions() == [DAY_0, DAY_1]
        assert _analysed(url, schema) == {DAY_0: True, DAY_1: True}
        assert _array_statistics(url, schema)[DAY_1] == {0}
        # The write path ran once at start-up, in a transaction that was rolled back.
        assert store.stats() == StoreStats(batches=0, samples=0, quarantined=0, vehicles=0)
        assert list(store.latest()) == []
    finally:
        store.close()


def test_tomorrows_partition_is_made_once_the_day_has_turned(url: str, schema: str) -> None:
    now = [T0]
    store = PostgresStore(url, schema=schema, clock=lambda: now[0])
    try:
        now[0] = T0 + DAY + 1000  # past midnight: tomorrow is DAY_0 + 2
        store.append([batch(VIN_A, 1, [(0, SPEED, 1.0)], ts=now[0])])
        assert store.partitions() == [DAY_0, DAY_1, partition_name(T0 // DAY + 2)]
        assert _analysed(url, schema)[partition_name(T0 // DAY + 2)]
    finally:
        store.close()


def test_creating_a_partition_does_not_wait_for_other_workers_open_appends(
    store: PostgresStore, url: str, schema: str
) -> None:
    """`CREATE TABLE … PARTITION OF` locks `samples` against everything: it waited for every
    open append, and every append and read queued behind it. A partition is attached now."""
    other = psycopg.connect(url)  # another worker, in the middle of its append
    other.execute(
        f"INSERT INTO {schema}.samples (vin, ts_min, ts_max, signal_ids, ts, num) "
        "VALUES (%s, %s, %s, '', '', '')",
        [VIN_A, T0, T0],
    )
    try:
        appending = threading.Thread(
            target=store.append, args=([batch(VIN_A, 1, [(0, SPEED, 1.0)], ts=T0 + 5 * DAY)],)
        )
        appending.start()
        appending.join(timeout=10)
        assert not appending.is_alive(), "the append waited for another worker's transaction"
        assert partition_name(T0 // DAY + 5) in store.partitions()
    finally:
        other.rollback()
        other.close()
        appending.join()
    assert store.stats().samples == 1


def test_the_first_append_after_opening_imports_nothing(url: str, schema: str) -> None:
    """A worker's first commit used to import pandas (pyarrow's first `pa.array` does) and
    cost 1.7 s against ~60 ms for the next ones; the store now pays that when it opens."""
    code = f"""
import sys
from volta.store.base import AcceptedBatch
from volta.store.postgres_store import PostgresStore

store = PostgresStore({url!r}, schema={schema!r})
before = set(sys.modules)
now = store._clock()
store.append([AcceptedBatch(vin="{VIN_A}", seq=1, ts_ms=now, received_ms=now,
              signal_ids=[{SPEED}], ts=[now], num=[1.0], txt=[None], rejected=0)])
store.close()
print(sorted(set(sys.modules) - before))
"""
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert found.stdout.strip().splitlines()[-1] == "[]", found.stdout


def test_rewriting_each_vehicles_latest_row_does_not_grow_the_table(
    store: PostgresStore, url: str, schema: str
) -> None:
    """Every commit rewrites its vehicles' `latest_by_vehicle` rows; with room left on each
    page (migration 5) the new version stays on its page, so the table keeps its size between
    autovacuum visits instead of growing with every round of updates."""

    def pages() -> int:
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT pg_relation_size(%s) / 8192", [f"{schema}.latest_by_vehicle"]
            ).fetchone()
        assert row is not None
        return int(row[0])

    vins = [f"JHMZZ1A1XRV{v:06d}" for v in range(200)]
    signals: list[tuple[int, int, float | str]] = [
        (i * 1000, SPEED + s, float(i)) for i in range(5) for s in range(20)
    ]
    store.append([batch(vin, 1, signals) for vin in vins])
    first = pages()
    for seq in range(2, 8):
        for k in range(0, len(vins), 40):
            store.append([batch(vin, seq, signals, ts=T0 + seq * 5000) for vin in vins[k : k + 40]])
    # Full pages (before migration 5): 19 -> 103 pages. Some slack: a snapshot held meanwhile
    # (an autovacuum ANALYZE) can keep a page from being pruned for a moment.
    assert pages() <= first + first // 2, (first, pages())


def test_a_store_on_a_read_only_server_opens_and_reads(
    url: str, schema: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A replica or a read-only role cannot be prepared for writing; the store still opens
    and reads, and says why it was not prepared.

    The run's database is made read-only for new sessions while the store opens (tests run
    one at a time), rather than a database of its own: dropping a database forces an
    immediate checkpoint, which after the store suite synced ~13,000 files (32 s)."""
    Server(url, schema).migrate()
    database = sql.Identifier(PG_RUN.name)
    with psycopg.connect(PG_RUN.admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = on").format(database)
        )
    try:
        store = PostgresStore(url, schema=schema, migrate=False, clock=at_t0)
        try:
            assert "not prepared for writing" in caplog.text
            assert store.partitions() == []
            assert store.stats().batches == 0
        finally:
            store.close()
    finally:
        with psycopg.connect(PG_RUN.admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("ALTER DATABASE {} RESET default_transaction_read_only").format(database)
            )


# -- compaction: chunks of finished hours become signal_hours rows --------------------------

HOUR = 3_600_000


def _rows_in(store: PostgresStore) -> tuple[int, int]:
    """Rows in `samples` (chunks) and in `signal_hours`."""
    ((chunks_, hours),) = store._rows(
        "SELECT (SELECT count(*) FROM samples), (SELECT count(*) FROM signal_hours)"
    )
    return chunks_, hours


def _wait_for(check: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_writing_store_compacts_finished_hours_and_merges_late_batches(
    url: str, schema: str
) -> None:
    # Hours 0 and 1 of T0's day are over (and their grace of 10 minutes); hour 2 is not.
    now = T0 + 2 * HOUR + 11 * 60_000
    store = PostgresStore(url, schema=schema, clock=lambda: now, compact_every_s=0.05)
    try:
        store.append([batch(VIN_A, 1, [(0, SPEED, 1.0), (10, 7, "P"), (HOUR + 5, SPEED, 2.0),
                                       (2 * HOUR, SPEED, 3.0)])])  # fmt: skip
        _wait_for(lambda: _rows_in(store) == (1, 3))  # speed in hours 0 and 1, gear in hour 0
        store.append([batch(VIN_A, 2, [(5, SPEED, 1.5), (5, 7, "D")])])  # late, into hour 0
        _wait_for(lambda: _rows_in(store) == (1, 3))
        speed, gear = store.history(VIN_A, [SPEED, 7], T0, T0 + DAY)
        assert (speed.ts, speed.num) == ([T0, T0 + 5, T0 + HOUR + 5, T0 + 2 * HOUR],
                                         [1.0, 1.5, 2.0, 3.0])  # fmt: skip
        assert (gear.ts, gear.txt) == ([T0 + 5, T0 + 10], ["D", "P"])
        assert store.stats().samples == 6
        assert [v.num for v in store.latest(VIN_A) if v.signal_id == SPEED] == [3.0]
    finally:
        store.close()


def test_migration_6_keeps_version_5_chunks_readable_and_they_compact_to_the_same(
    url: str, schema: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store written by the previous Volta (schema 5: chunks only) reads the same after the
    upgrade, and after its chunks were compacted."""
    batches = [
        batch(VIN_A, 1, [(0, SPEED, 1.0), (HOUR - 1, SPEED, 2.0), (HOUR, SPEED, 3.0), (7, 7, "P")]),
        batch(VIN_A, 2, [(DAY + 5, SPEED, 4.0), (3, SPEED, 0.5)], ts=T0),
        batch(VIN_B, 1, [(0, SPEED, 9.0)]),
    ]
    v5 = [m for m in migrations.available() if m.version <= 5]
    monkeypatch.setattr(migrations, "available", lambda package=None: v5)
    with psycopg.connect(url, autocommit=True) as conn:
        migrations.migrate(conn, schema)
        conn.execute(f"SET search_path TO {schema}")
        for day in (T0 // DAY, T0 // DAY + 1):
            for statement in load.create_partition(day):
                conn.execute(statement)
        with conn.transaction():
            load.insert_batches(conn, batches)
            load.insert_samples(conn, sample_table(batches), batches)
    monkeypatch.undo()

    def reads(store: PostgresStore) -> tuple[object, ...]:
        path = tmp_path / "export.csv"
        store.export(VIN_A, None, T0, T0 + 2 * DAY, ExportFormat.CSV, path)
        history = [(s.ts, s.num, s.txt) for vin in (VIN_A, VIN_B)
                   for s in store.history(vin, [SPEED, 7], T0, T0 + 2 * DAY)]  # fmt: skip
        scan = {s: (t.tolist(), n.tolist()) for s, (t, n) in
                store.scan(VIN_A, [SPEED], T0, T0 + 2 * DAY).items()}  # fmt: skip
        return history, scan, path.read_text(), store.stats(), list(store.latest())

    reference = PostgresStore(url, schema=PG_RUN.new_schema(), clock=at_t0, compact_every_s=0)
    store = PostgresStore(url, schema=schema, clock=at_t0, compact_every_s=0)
    try:
        reference.append(batches)
        expected = reads(reference)
        assert store.schema_version() == migrations.latest_version()
        assert reads(store) == expected
        assert store.compact(before_ms=T0 + 3 * DAY) == 7
        assert _rows_in(store) == (0, 5)  # A: speed in 3 hours, gear in 1; B: speed
        assert reads(store) == expected
    finally:
        reference.close()
        store.close()
