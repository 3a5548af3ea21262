"""The two store engines side by side: append and history on DuckDB (embedded) and PostgreSQL.

Same data and queries as bench/history.py: group commits of 2,000 batches x 100 samples, and
one vehicle-day at 1 Hz for 5 signals down-sampled to 1,000 points (on PostgreSQL as a running
store leaves the day at its end: 23 hours compacted into `signal_hours`, the last hour still
in chunks). PostgreSQL runs in a
throw-away database (`volta_bench_<random>`, dropped at the end) on the server that
`--postgres` names; it is skipped, with the reason, when nothing listens there.

    .venv/bin/python bench/store_engines.py [--quick] [--postgres postgresql://postgres@127.0.0.1/postgres]

The last line of stdout is one JSON object with the figures per engine.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from history import DAY_MS, DAY_START, SIGNALS, VIN, day_batches, group_commits, percentiles
from volta.errors import Unavailable
from volta.store.base import TelemetryStore
from volta.store.duckdb_store import DuckDBStore
from volta.store.postgres_store import PostgresStore

Opener = Callable[[str], TelemetryStore]


@contextmanager
def duckdb_engine() -> Iterator[Opener]:
    with tempfile.TemporaryDirectory(prefix="volta-bench-") as tmp:
        yield lambda name: DuckDBStore(Path(tmp) / f"{name}.duckdb")


@contextmanager
def postgres_engine(admin_url: str) -> Iterator[Opener]:
    db = f"volta_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
    try:
        url = urlsplit(admin_url)._replace(path=f"/{db}").geturl()
        # Compaction when the bench says (below), not by the store's job meanwhile.
        yield lambda name: PostgresStore(url, schema=name, compact_every_s=0)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(db)))


def measure(open_store: Opener, n_commits: int, repeats: int) -> dict[str, float]:
    store = open_store("history")
    t0 = time.perf_counter()
    for commit in day_batches([VIN]):
        store.append(commit)
    load_s = time.perf_counter() - t0
    if isinstance(store, PostgresStore):  # the day as it is at its end: 23 hours compacted
        store.compact(before_ms=DAY_START + DAY_MS - 3_600_000)

    def day() -> None:
        series = store.history(VIN, SIGNALS, DAY_START, DAY_START + DAY_MS, 1000)
        assert all(s.downsampled and sum(s.count) == 86_400 for s in series)

    h50, h99, _ = percentiles(day, repeats)
    s50, _, _ = percentiles(lambda: store.scan(VIN, SIGNALS, DAY_START, DAY_START + DAY_MS), 5)
    l50, l99, _ = percentiles(lambda: list(store.latest(VIN)), repeats)
    store.close()

    store = open_store("append")
    warmup, *commits = group_commits(n_commits + 1)
    store.append(warmup)
    total = 0
    t0 = time.perf_counter()
    for commit in commits:
        assert store.append(commit) == set()
        total += sum(len(b) for b in commit)
    append_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    assert store.append(commits[0]) == {(b.vin, b.seq) for b in commits[0]}
    resend_ms = (time.perf_counter() - t0) * 1000
    store.close()
    return {
        "append_samples_per_s": round(total / append_s),
        "append_commit_ms": round(append_s / n_commits * 1000, 1),
        "resent_commit_ms": round(resend_ms, 1),
        "load_day_s": round(load_s, 2),
        "history_day_5sig_1000pts_p50_ms": round(h50, 2),
        "history_day_5sig_1000pts_p99_ms": round(h99, 2),
        "scan_day_5sig_p50_ms": round(s50, 2),
        "latest_vin_p50_ms": round(l50, 3),
        "latest_vin_p99_ms": round(l99, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="fewer commits and repeats")
    ap.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = ap.parse_args()
    n_commits, repeats = (3, 20) if args.quick else (10, 100)
    figures: dict[str, dict[str, float] | str] = {}
    with duckdb_engine() as opener:
        figures["duckdb"] = measure(opener, n_commits, repeats)
    try:
        with postgres_engine(args.postgres) as opener:
            figures["postgresql"] = measure(opener, n_commits, repeats)
    except (psycopg.OperationalError, Unavailable) as e:
        figures["postgresql"] = f"skipped: {str(e).splitlines()[0]}"
    for engine, result in figures.items():
        if isinstance(result, str):
            print(f"{engine}: {result}")
            continue
        print(
            f"{engine}: append {result['append_samples_per_s']:,} samples/s "
            f"({result['append_commit_ms']:.0f} ms a commit of 200k; resent commit "
            f"{result['resent_commit_ms']:.0f} ms); history day x5 -> 1000 pts p50 "
            f"{result['history_day_5sig_1000pts_p50_ms']:.1f} ms p99 "
            f"{result['history_day_5sig_1000pts_p99_ms']:.1f} ms; scan day x5 "
            f"{result['scan_day_5sig_p50_ms']:.1f} ms; latest(vin) p50 "
            f"{result['latest_vin_p50_ms']:.2f} ms"
        )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
