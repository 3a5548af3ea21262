"""What keeping the diagnostics state costs (SQLite in the data dir vs PostgreSQL): the
periodic save, the load at start and a scale-out API process's refresh.

Each vehicle gets three days of hourly history (bench/aftersales.py's `warm`), then:
- `first_save`: everything written once;
- `save_within_hour`: every vehicle sent one 10 s batch since the last save (a 5 s save
  interval sees at most that at 1 Hz), no hour closed: each vehicle's `state` part only;
- `save_hour_closed`: the same across an hour's end: the `history` parts (hourly points,
  findings with their evidence) too, once an hour per vehicle;
- `load`: a new process loads it all back; a reader (a scale-out API process) brings its
  copy up to date after the saves since its last read: of one vehicle (`report_one`, one
  car's diagnosis) or of all (`refresh`, what a fleet-wide route does);
- `pass_on`: a scale-out API process passes the alert changes the processors recorded to its
  service desk (`volta.diagnostics.feed`, on the alert watch's timer): the first time (every
  history read, every car's changes passed on and marked) and after the hour's end (every
  history written since read, nothing new).
`lock_ms` is the part of a save that holds the diagnostics lock (encoding the states, copying
the histories; feeding waits for it), `write_ms` the rest (encoding the histories, the
database; on the saver's own thread). CPU is this process's
(`process_time`: the PostgreSQL server's work is not in it).

    .venv/bin/python bench/diagnostics_keep.py [--quick] [--vehicles N] [--postgres URL]

`--quick`: 500 vehicles instead of 10,000. The last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
import numpy as np
import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))

from aftersales import T0, batches, warm
from volta.bus import MemoryBus
from volta.catalog import Catalog, default_catalog
from volta.diagnostics import snapshot
from volta.diagnostics.feed import ChangeFeed
from volta.diagnostics.mirror import DiagnosticsMirror
from volta.diagnostics.postgres import PostgresDiagnostics
from volta.diagnostics.store import DiagnosticsTable, SQLiteDiagnostics
from volta.processors.diagnostics import HISTORY_PER_SAVE, DiagnosticsFollower
from volta.store.base import AcceptedBatch


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, (time.perf_counter() - w) * 1000, (time.process_time() - c) * 1000


def later(todo: list[AcceptedBatch], by_s: int) -> list[AcceptedBatch]:
    """The same batches `by_s` seconds later."""
    ms = by_s * 1000
    return [msgspec.structs.replace(b, ts=[t + ms for t in b.ts]) for b in todo]


def save(follower: DiagnosticsFollower, limit: int | None = HISTORY_PER_SAVE) -> dict[str, float]:
    """One save, split as the follower does: copied under the lock, encoded and written
    outside it."""
    keeper = follower.keeper
    assert keeper is not None
    vins, follower._dirty = follower._dirty, set()
    collected, lock_ms, lock_cpu = timed(lambda: keeper.collect(follower.fleet, vins, limit))
    bodies = [snapshot.encode(obj) for _, _, obj in collected.parts]
    _, write_ms, write_cpu = timed(lambda: keeper.write(collected))  # encodes again
    return {
        "lock_ms": round(lock_ms, 1),
        "lock_cpu_ms": round(lock_cpu, 1),
        "write_ms": round(write_ms, 1),
        "cpu_ms": round(lock_cpu + write_cpu, 1),
        "parts": len(collected.parts),
        "mb": round(sum(map(len, bodies)) / 1e6, 2),
    }


def fleet_of(
    n: int, ids: dict[str, int], catalog: Catalog, table: DiagnosticsTable
) -> DiagnosticsFollower:
    """A follower whose n vehicles each have three days of history: one vehicle warmed as
    bench/aftersales.py does it, copied to the others through the kept parts."""
    follower = DiagnosticsFollower(
        MemoryBus(), catalog, lambda vin: "Model V", durable=None, table=table
    )
    follower._restored = True  # a fresh table: nothing to load
    warm(follower, 1, ids)
    fleet = follower.fleet
    [vin] = fleet.vehicles
    parts = [
        (snapshot.STATE, snapshot.encode_state(fleet, vin)),
        (snapshot.HISTORY, snapshot.encode(snapshot.history_of(fleet.vehicles[vin]))),
    ]
    for v in range(1, n):
        for part, body in parts:
            snapshot.apply_part(fleet, f"V{v:016d}", part, body)
    follower._dirty = set(fleet.vehicles)
    return follower


def run(open_table: Callable[[], DiagnosticsTable], n: int) -> dict[str, Any]:
    catalog = default_catalog()
    ids = {s.path: s.id for s in catalog}
    follower = fleet_of(n, ids, catalog, open_table())
    out: dict[str, Any] = {"first_save": save(follower, None)}
    todo = batches(n, 10, ids, np.random.default_rng(0))
    for b in todo:  # minute 58 of the hour (the warm-up's last hour closes)
        follower.feed(b)
    save(follower, None)
    for b in later(todo, 10):
        follower.feed(b)
    out["save_within_hour"] = save(follower)
    reader = DiagnosticsMirror(open_table(), refresh_s=0.0)
    reader.refresh()
    feed = ChangeFeed(open_table())
    passed, ms, cpu = timed(lambda: feed.pass_on(lambda changes: None))
    out["pass_on_first"] = {"wall_ms": round(ms, 1), "cpu_ms": round(cpu, 1), "changes": passed}
    for b in later(todo, 120):  # past the hour's end: every history changed
        follower.feed(b)
    out["save_hour_closed"] = save(follower)
    out["histories_waiting"] = follower.keeper.waiting  # type: ignore[union-attr]
    for b in later(todo, 130):
        follower.feed(b)
    save(follower)
    _, ms, cpu = timed(lambda: reader.report("V0000000000000007"))
    out["report_one"] = {"wall_ms": round(ms, 1), "cpu_ms": round(cpu, 1)}
    _, ms, cpu = timed(reader.refresh)
    out["refresh"] = {"wall_ms": round(ms, 1), "cpu_ms": round(cpu, 1)}
    histories = len(feed.table.histories(feed.rev))
    passed, ms, cpu = timed(lambda: feed.pass_on(lambda changes: None))
    out["pass_on_hour_closed"] = {
        "wall_ms": round(ms, 1),
        "cpu_ms": round(cpu, 1),
        "histories": histories,
        "changes": passed,
    }
    again = DiagnosticsFollower(MemoryBus(), catalog, lambda vin: "?", table=open_table())
    _, ms, cpu = timed(lambda: again.keeper.restore(again.fleet))  # type: ignore[union-attr]
    assert len(again.fleet.vehicles) == n
    out["load"] = {"wall_ms": round(ms, 1), "cpu_ms": round(cpu, 1)}
    for f in (follower, again):
        f.keeper.table.close()  # type: ignore[union-attr]
    reader.stop()
    feed.table.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--vehicles", type=int)
    ap.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    a = ap.parse_args()
    n = a.vehicles or (500 if a.quick else 10_000)
    result: dict[str, Any] = {"vehicles": n, "t0": T0}
    with tempfile.TemporaryDirectory() as tmp:
        result["sqlite"] = run(lambda: SQLiteDiagnostics.open(Path(tmp)), n)
    db = f"bench_diag_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(a.postgres, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
    try:
        url = urlsplit(a.postgres)._replace(path=f"/{db}").geturl()
        result["postgresql"] = run(lambda: PostgresDiagnostics(url, timeout=30.0), n)
    finally:
        with psycopg.connect(a.postgres, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db))
            )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
