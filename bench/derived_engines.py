"""The derived store and places on SQLite (embedded) vs PostgreSQL (scale-out): what the
processors pay for their writes on each.

A simulated fleet-day is prepared as the gateway would (decoded, validated), stored in a
DuckDB telemetry store, then fed batch by batch to the live processor (`DriverServices.feed`,
the analysis run once per minute of each car's data) writing the derived store and tagging
with the places of each engine in turn. Wall and CPU time (`process_time`, this process only:
the PostgreSQL server's work is not in it) are reported: the machine may be shared.

    .venv/bin/python bench/derived_engines.py [--quick] [--postgres URL]

`--postgres` is an admin URL (default: postgres on 127.0.0.1:5432, trust auth); a database of
its own is made and dropped. `--quick`: 3 cars for 8 hours instead of 6 for 20. The last line
of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from volta.bus import MemoryBus
from volta.catalog import default_catalog
from volta.config import Settings
from volta.derived.columns import signal_ids
from volta.derived.postgres import PostgresDerivedStore
from volta.derived.store import DerivedStore, SQLiteDerivedStore
from volta.geo.osm import load_roads
from volta.ingest.pipeline import Limits, prepare
from volta.places.postgres import PostgresPlaces
from volta.places.store import PlaceBook, SQLitePlaces
from volta.processors.processor import DriverServices
from volta.sim.faults import FaultRates
from volta.sim.fleet import Fleet, FleetConfig
from volta.sim.senders import encode_batch
from volta.sim.signals import Telemetry
from volta.store.base import AcceptedBatch

START_MS = 1_767_571_200_000  # 2026-01-05T00:00Z, a Monday


def fleet_day(vehicles: int, seconds: int) -> tuple[list[AcceptedBatch], int]:
    """The fleet's batches as the gateway stores them, and the last send time."""
    fleet = Fleet(
        FleetConfig(vehicles=vehicles, seed=7, start_ms=START_MS, faults=FaultRates(0.0, 0.0)),
        load_roads(),
    )
    tel = Telemetry(fleet.vins, 7, gap_per_hour=0.2)
    sent: list[tuple[bytes, str, int]] = []
    while fleet.t < seconds:
        now = fleet.start_ms + fleet.t * 1000
        sent += [(encode_batch(b, "msgpack"), b.vin, now) for b in tel.batches(fleet.step(seconds))]
    catalog, settings = default_catalog(), Settings()
    out = []
    for payload, vin, at in sent:
        batch = prepare(payload, vin, at, catalog, Limits.from_settings(settings, at)).batch
        if batch is not None:
            out.append(batch)
    return out, sent[-1][2]


def run(
    batches: list[AcceptedBatch], now_ms: int, derived: DerivedStore, places: PlaceBook
) -> dict[str, float]:
    services = DriverServices(
        MemoryBus(), derived, signal_ids(default_catalog()), clock=lambda: now_ms,
        tagger=places.tagger,
    )  # fmt: skip
    wall, cpu = time.perf_counter(), time.process_time()
    for b in batches:
        services.feed(b)
    services.flush()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"s": round(wall, 2), "cpu_s": round(cpu, 2), "runs": services.runs,
            "ms_per_run": round(wall / max(services.runs, 1) * 1000, 2)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 cars for 8 h instead of 6 for 20 h")
    ap.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = ap.parse_args()
    vehicles, hours = (3, 8) if args.quick else (6, 20)
    batches, now_ms = fleet_day(vehicles, hours * 3600)
    out: dict[str, object] = {"vehicles": vehicles, "hours": hours, "batches": len(batches)}
    with tempfile.TemporaryDirectory() as tmp:
        d, p = SQLiteDerivedStore(Path(tmp) / "d.sqlite"), SQLitePlaces(Path(tmp) / "p.sqlite")
        book = PlaceBook(p, roads=False)
        for k, v in run(batches, now_ms, d, book).items():
            out[f"sqlite_{k}"] = v
        d.close()
        book.close()
    name = f"volta_bench_{uuid.uuid4().hex[:8]}"
    admin = args.postgres

    def on_admin(statement: sql.Composed) -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(statement)

    drop: Callable[[], None] = lambda: on_admin(  # noqa: E731
        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    )
    on_admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        url = urlsplit(admin)._replace(path=f"/{name}").geturl()
        pd, pp = PostgresDerivedStore(url), PlaceBook(PostgresPlaces(url), roads=False)
        for k, v in run(batches, now_ms, pd, pp).items():
            out[f"postgresql_{k}"] = v
        pd.close()
        pp.close()
    finally:
        drop()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
