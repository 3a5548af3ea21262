"""`volta recompute [--vin VIN]`: re-derive drives, charges and battery health from storage."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from volta.clock import wall_ms


def recompute_command(
    vin: Annotated[
        list[str] | None, typer.Option("--vin", help="vehicle(s); default: every registered one")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="default: VOLTA_DATA_DIR or ./volta-data")
    ] = None,
) -> None:
    """Recompute the driver services over the stored telemetry (stop `volta serve` first:
    the DuckDB store admits one process)."""
    from volta.catalog import default_catalog
    from volta.config import Settings
    from volta.derived.engines import open_derived
    from volta.places.engines import open_places
    from volta.processors.recompute import recompute
    from volta.registry import open_registry
    from volta.store import open_store

    overrides: dict[str, Any] = {"data_dir": data_dir} if data_dir else {}
    settings = Settings(**overrides)
    registry = open_registry(settings)
    store = open_store(settings)
    derived = open_derived(settings)
    catalog = default_catalog()
    places = open_places(settings)
    try:
        vins = vin or [v.vin for v in registry.list_vehicles(limit=1_000_000)]
        now = wall_ms()
        for v in vins:
            t = time.perf_counter()
            res = recompute(v, store, derived, catalog, now, places.tagger())
            summary = {
                "vin": v,
                "drives": len(res.drives),
                "charges": len(res.charges),
                "capacity_samples": len(res.capacity),
                "seconds": round(time.perf_counter() - t, 3),
            }
            typer.echo(json.dumps(summary))
    finally:
        places.close()
        derived.close()
        store.close()
        registry.close()


def processors_command(
    log_level: Annotated[str, typer.Option(help="debug, info, warning")] = "info",
) -> None:
    """Run the driver services and the after-sales diagnostics as a process of their own, on
    the NATS bus and the PostgreSQL store of VOLTA_BUS and VOLTA_STORE (`volta serve --workers
    N` starts one)."""
    from volta import logs
    from volta.config import Settings
    from volta.workers import run_processors

    logs.configure(log_level)
    run_processors(Settings())  # a Volta error: one line from the `volta` group


def register(app: typer.Typer) -> None:
    app.command("recompute")(recompute_command)
    app.command("processors")(processors_command)
