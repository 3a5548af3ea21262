"""History goal: one vehicle-day at 1 Hz for 5 signals, down-sampled to 1,000 points, < 20 ms.

Measured per engine (p50/p99 wall time and client CPU time per query): DuckDB on a file in a
temp directory, and PostgreSQL in a throw-away database on `--postgres` (skipped, with the
reason, when nothing listens there), with the CPU time of a query on both sides of the wire:
this process's, and the server processes' (read from /proc, so the server must run on this
machine). On a busy shared machine wall time measures the neighbours; CPU time does not.
On DuckDB also latest(vin) with a 10,000-vehicle x 20-signal latest table, and append
throughput for group commits of 2,000 batches x 100 samples.

On PostgreSQL the day is stored as a running fleet leaves it at the end of the day: its first
23 hours compacted into `signal_hours` rows (`PostgresStore.compact`, timed: samples/s and CPU
on both sides), its last hour still in chunks (compacted once the hour and its grace are over).

`--fleet-vehicles N` puts a fleet-day around the vehicle on PostgreSQL: N vehicle-days in the
day partitions, the measured one among them, interleaved as the writers leave them: chunks
chunk by chunk as a group committer writes them (so each lies on a page of its own, among
other vehicles' chunks), `signal_hours` rows hour by hour, vehicle after vehicle, as
compaction writes them. The fleet is copied on the server from the vehicle's own day (the
store is loaded with that day first), unlogged (a bench needs no WAL for it). A
10,000-vehicle day of this data is ~43 million chunks before compaction; state the N used.

    .venv/bin/python bench/history.py [--quick] [--other-vehicles N] [--fleet-vehicles N]
        [--postgres URL|none]

The last line of stdout is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from volta.errors import Unavailable
from volta.store.base import AcceptedBatch, TelemetryStore
from volta.store.duckdb_store import DuckDBStore

DAY_START = 1_764_201_600_000  # 2025-11-27T00:00:00Z
DAY_MS = 86_400_000
SIGNALS = [101, 102, 103, 104, 105]
VIN = "JHMZZ1A1XRV000001"


def vin_of(i: int) -> str:
    return f"JHMZZ1A1XRV{i:06d}"


def day_batches(vins: list[str], per_commit: int = 30) -> list[list[AcceptedBatch]]:
    """A vehicle-day at 1 Hz for 5 signals per VIN, in batches of 20 s (100 samples), grouped
    `per_commit` batches per VIN into commits in time order (as a group committer would)."""
    per = 20  # seconds a batch
    offsets = np.repeat(np.arange(per, dtype=np.int64) * 1000, len(SIGNALS))
    sids = SIGNALS * per
    commits: list[list[AcceptedBatch]] = []
    for k in range(86_400 // per):
        base = DAY_START + k * per * 1000
        ts = (offsets + base).tolist()
        values: list[float | None] = (np.sin((offsets + base) / 3.6e6) * 50 + 50).tolist()
        if k % per_commit == 0:
            commits.append([])
        commits[-1].extend(
            AcceptedBatch(v, k, base, sids, ts, values, [None] * len(ts), base) for v in vins
        )
    return commits


def fleet_snapshot(vehicles: int, signals: int) -> list[AcceptedBatch]:
    """One batch per vehicle with one sample of each signal: fills the latest table."""
    sids = list(range(1, signals + 1))
    ts = [DAY_START + DAY_MS] * signals
    return [
        AcceptedBatch(vin_of(10_000 + i), 0, ts[0], sids, ts, [1.0] * signals,
                      [None] * signals, ts[0])
        for i in range(vehicles)
    ]  # fmt: skip


def group_commits(n_commits: int, batches: int = 2000, per: int = 100) -> list[list[AcceptedBatch]]:
    """Group commits of `batches` x `per` samples: 20 signals x 5 timestamps per batch."""
    sids = list(range(1, 21)) * (per // 20)
    offsets = [(i // 20) * 200 for i in range(per)]
    values: list[float | None] = [float(i) for i in range(per)]
    out = []
    for c in range(n_commits):
        commit = []
        for b in range(batches):
            n = c * batches + b
            base = DAY_START + (n // 10_000) * 1000
            commit.append(
                AcceptedBatch(vin_of(n % 10_000), n // 10_000, base, sids,
                              [base + o for o in offsets], values, [None] * per, base)
            )  # fmt: skip
        out.append(commit)
    return out


def percentiles(fn: Callable[[], object], repeats: int) -> tuple[float, float, float]:
    """p50 and p99 wall time of `fn` in ms, and its mean CPU time (all threads) in ms.

    CPU time is the load-independent figure: on a shared machine wall time also measures the
    neighbours."""
    fn()  # warm-up: plan caches, file pages
    times = []
    cpu0 = time.process_time()
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    cpu = (time.process_time() - cpu0) * 1000 / repeats
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))], cpu


def history_figures(store: TelemetryStore, repeats: int) -> tuple[float, float, float]:
    """p50, p99 (ms) and CPU ms of the goal's query on a store holding VIN's day."""

    def day() -> None:
        series = store.history(VIN, SIGNALS, DAY_START, DAY_START + DAY_MS, 1000)
        assert all(s.downsampled and sum(s.count) == 86_400 for s in series)

    return percentiles(day, repeats)


def surround_with_fleet(url: str, vehicles: int) -> None:
    """Replace VIN's stored day by `vehicles` copies of it interleaved by chunk time, VIN's
    own in the middle of each time's group (see the module docstring)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        partition = conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent IN ('samples'::regclass, 'signal_hours'::regclass)"
        ).fetchall()
        for (name,) in partition:
            conn.execute(f"ALTER TABLE {name} SET UNLOGGED")
        fleet_vin = "CASE WHEN v = %(mid)s THEN vin ELSE 'FLEET' || lpad(v::text, 12, '0') END"
        fleet = {"mid": vehicles // 2, "n": vehicles}
        for table, columns, order in [
            ("samples", "seq, ts_min, ts_max, signal_ids, ts, num, txt", "ts_min, v"),
            ("signal_hours", "signal_id, hour, n, ts, num, txt", "hour, v, signal_id"),
        ]:
            conn.execute(f"CREATE TEMP TABLE day AS SELECT * FROM {table} WHERE vin = %s", [VIN])
            conn.execute(f"DELETE FROM {table} WHERE vin = %s", [VIN])
            conn.execute(
                f"INSERT INTO {table} SELECT {fleet_vin}, {columns} "
                f"FROM day, generate_series(0, %(n)s - 1) AS v ORDER BY {order}",
                fleet,
            )
            conn.execute("DROP TABLE day")
            conn.execute(f"VACUUM ANALYZE {table}")


def server_cpu_ms(url: str) -> float:
    """CPU time (user + system, ms) used so far by the server processes serving the database
    of `url`, other than the asking one: the load-independent half of a query's cost that
    `process_time` does not see (Linux /proc; the server must run on this machine)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        pids = [r[0] for r in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )]  # fmt: skip
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


def postgres_history(
    url: str, vins: list[str], repeats: int, fleet: int = 0
) -> dict[str, float] | str:
    """The goal's query on PostgreSQL, in a database made for the run and dropped after;
    the reason as a string when the server cannot be reached."""
    import psycopg
    from psycopg import sql

    from volta.store.postgres_store import PostgresStore

    db = f"volta_bench_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
    except psycopg.OperationalError as e:
        return f"skipped: {str(e).splitlines()[0]}"
    try:
        db_url = urlsplit(url)._replace(path=f"/{db}").geturl()
        store = PostgresStore(db_url, compact_every_s=0)  # compacted here, when due
        try:
            for commit in day_batches(vins):
                store.append(commit)
            server0, cpu0, t0 = server_cpu_ms(db_url), time.process_time(), time.perf_counter()
            moved = store.compact(before_ms=DAY_START + DAY_MS - 3_600_000)
            compaction = {
                "compacted_samples": moved,
                "compaction_samples_per_s": moved / (time.perf_counter() - t0),
                "compaction_client_cpu_s": time.process_time() - cpu0,
                "compaction_server_cpu_s": (server_cpu_ms(db_url) - server0) / 1000,
            }
            if fleet:
                t0 = time.perf_counter()
                surround_with_fleet(db_url, fleet)
                took, samples = time.perf_counter() - t0, store.stats().samples
                print(f"postgresql: {fleet} vehicle-days around {VIN} (interleaved) in "
                      f"{took:.0f} s; {samples:,} samples stored")  # fmt: skip
            history_figures(store, 1)  # every pooled connection that will serve is open
            server0 = server_cpu_ms(db_url)
            p50, p99, cpu = history_figures(store, repeats)
            server = (server_cpu_ms(db_url) - server0) / (repeats + 1)
        finally:
            store.close()
    except Unavailable as e:
        return f"skipped: {e}"
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(db)))
    return {"p50_ms": p50, "p99_ms": p99, "client_cpu_ms": cpu, "server_cpu_ms": server,
            **compaction}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="fewer repeats; finishes in < 30 s")
    ap.add_argument(
        "--other-vehicles",
        type=int,
        default=None,
        help="other vehicles' days stored alongside (default 0 quick, 4 full)",
    )
    ap.add_argument(
        "--fleet-vehicles", type=int, default=0,
        help="vehicle-days around the measured one on PostgreSQL (default 0)",
    )  # fmt: skip
    ap.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: cores)")
    ap.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="server for the PostgreSQL figures ('none' to skip)",
    )
    args = ap.parse_args()  # fmt: skip
    others = args.other_vehicles if args.other_vehicles is not None else (0 if args.quick else 4)
    repeats = 50 if args.quick else 300
    n_commits = 5 if args.quick else 20
    vins = [VIN] + [vin_of(2 + i) for i in range(others)]

    with tempfile.TemporaryDirectory(prefix="volta-bench-") as tmp:
        store = DuckDBStore(Path(tmp) / "history.duckdb", threads=args.threads)
        t0 = time.perf_counter()
        for commit in day_batches(vins):
            store.append(commit)
        store.append(fleet_snapshot(10_000, 20))
        load_s = time.perf_counter() - t0
        samples = store.stats().samples
        print(f"loaded {samples:,} samples ({len(vins)} vehicle-days + fleet snapshot) "
              f"in {load_s:.1f} s")  # fmt: skip

        h50, h99, hcpu = history_figures(store, repeats)
        print(f"duckdb history, 1 vehicle-day x 5 signals -> 1000 points: p50 {h50:.2f} ms, "
              f"p99 {h99:.2f} ms (goal < 20 ms); CPU {hcpu:.2f} ms a query")  # fmt: skip
        l50, l99, _ = percentiles(lambda: list(store.latest(VIN)), repeats * 4)
        print(f"latest(vin), 10,000 x 20 latest table: p50 {l50:.2f} ms, p99 {l99:.2f} ms")
        store.close()

        store = DuckDBStore(Path(tmp) / "append.duckdb", threads=args.threads)
        warmup, *commits = group_commits(n_commits + 1)
        store.append(warmup)  # first call pays one-off library start-up; not timed
        total = 0
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        for commit in commits:
            assert store.append(commit) == set()
            total += sum(len(b) for b in commit)
        append_s = time.perf_counter() - t0
        append_cpu_s = time.process_time() - cpu0
        store.close()
        rate = total / append_s
        print(f"append, {n_commits} group commits of 2,000 batches x 100 samples: "
              f"{rate:,.0f} samples/s ({append_s / n_commits * 1000:.0f} ms a commit, "
              f"{total / append_cpu_s:,.0f} samples per CPU-second)")  # fmt: skip

    pg: dict[str, float] | str = "skipped: --postgres none"
    if args.postgres != "none":
        pg = postgres_history(args.postgres, vins, 20 if args.quick else 60, args.fleet_vehicles)
    if isinstance(pg, str):
        print(f"postgresql history: {pg}")
    else:
        p50, p99, cpu = pg["p50_ms"], pg["p99_ms"], pg["client_cpu_ms"]
        print(f"postgresql history, same query: p50 {p50:.1f} ms, p99 {p99:.1f} ms; "
              f"CPU a query: client {cpu:.1f} ms, server {pg['server_cpu_ms']:.1f} ms")  # fmt: skip
        print(f"postgresql compaction of 23 hours ({pg['compacted_samples']:,.0f} samples): "
              f"{pg['compaction_samples_per_s']:,.0f} samples/s; CPU client "
              f"{pg['compaction_client_cpu_s']:.2f} s, "
              f"server {pg['compaction_server_cpu_s']:.2f} s")  # fmt: skip

    print(
        json.dumps(
            {
                "history_day_5sig_1000pts_p50_ms": round(h50, 3),
                "history_day_5sig_1000pts_p99_ms": round(h99, 3),
                "history_day_5sig_1000pts_cpu_ms": round(hcpu, 3),
                "postgresql_history_day_5sig_1000pts_p50_ms": None
                if isinstance(pg, str)
                else round(pg["p50_ms"], 2),
                "postgresql_history_day_5sig_1000pts_p99_ms": None
                if isinstance(pg, str)
                else round(pg["p99_ms"], 2),
                "postgresql_history_client_cpu_ms": None
                if isinstance(pg, str)
                else round(pg["client_cpu_ms"], 2),
                "postgresql_history_server_cpu_ms": None
                if isinstance(pg, str)
                else round(pg["server_cpu_ms"], 2),
                "postgresql_compaction_samples_per_s": None
                if isinstance(pg, str)
                else round(pg["compaction_samples_per_s"]),
                "postgresql": pg if isinstance(pg, str) else "measured",
                "latest_p50_ms": round(l50, 3),
                "latest_p99_ms": round(l99, 3),
                "append_samples_per_s": round(rate),
                "append_samples_per_cpu_s": round(total / append_cpu_s),
                "stored_samples": samples,
                "other_vehicles": others,
                "postgresql_fleet_vehicle_days": args.fleet_vehicles,
                "loadavg_1m": os.getloadavg()[0],
            }
        )
    )


if __name__ == "__main__":
    main()
