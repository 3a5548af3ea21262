"""`volta simulate`: a fleet on real roads, streaming telemetry to Volta or to files."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from tqdm import tqdm

from volta.errors import VoltaError
from volta.sim.commands import CommandLink, InprocCommandLink
from volta.sim.fleet import FleetConfig, roster
from volta.sim.run import RunSummary, run
from volta.sim.senders import (
    CallableSender,
    HttpSender,
    MqttSender,
    Sender,
    load_tokens,
    make_sender,
)
from volta.sim.truth import write_truth
from volta.sim.vin import make_token

if TYPE_CHECKING:
    from volta.platform import Platform

__all__ = ["simulate"]


def _speedup(text: str) -> float:
    if text.lower() in ("max", "0", "inf"):
        return 0.0
    try:
        value = float(text)
    except ValueError as exc:
        raise typer.BadParameter(f"--speedup expects a number or 'max', got {text!r}") from exc
    if value < 0:
        raise typer.BadParameter("--speedup must be ≥ 0")
    return value


def simulate(
    vehicles: Annotated[int, typer.Option(help="number of vehicles")] = 50,
    days: Annotated[float, typer.Option(help="simulated days")] = 1.0,
    seed: Annotated[int, typer.Option(help="same seed, same fleet, same bytes")] = 0,
    speedup: Annotated[
        str, typer.Option(help="1 = real time, 60 = a minute per second, max = as fast as possible")
    ] = "max",
    to: Annotated[
        str, typer.Option(help="file:DIR | http://host:port | mqtt://host:port | inproc")
    ] = "file:sim-out",
    truth_dir: Annotated[
        Path | None, typer.Option(help="write the ground truth (Parquet) here")
    ] = None,
    start: Annotated[
        str | None, typer.Option(help="UTC start date or time (ISO 8601); default: see below")
    ] = None,
    osm: Annotated[
        Path | None, typer.Option(help="any .osm.pbf; default: the shipped Helsinki extract")
    ] = None,
    tokens: Annotated[
        Path | None, typer.Option(help="bearer tokens: JSON {vin: token} or truth vehicles.parquet")
    ] = None,
    fmt: Annotated[str, typer.Option(help="json or msgpack")] = "msgpack",
    batch_s: Annotated[int, typer.Option(help="seconds of samples per batch")] = 10,
    models: Annotated[
        str, typer.Option(help="comma-separated model names; default: every shipped model")
    ] = "",
    commands: Annotated[
        bool, typer.Option(help="the cars take remote commands (http, mqtt or inproc)")
    ] = False,
) -> None:
    """Simulate a fleet of EVs driving, charging and ageing, and stream their telemetry.

    Without --start, an accelerated run ends now and a real-time run starts now (the platform
    refuses data from the future); pass --start for byte-identical reruns.
    """
    pace = _speedup(speedup)
    seconds = _seconds(days, batch_s)
    config = FleetConfig(
        vehicles=vehicles,
        seed=seed,
        start_ms=_start_ms(start, pace, seconds),
        models=tuple(m for m in models.split(",") if m),
        osm_path=str(osm) if osm else None,
    )
    platform = None
    try:
        if to == "inproc":
            platform, sender = _embedded(config, fmt)
        else:
            token_map = load_tokens(tokens) if tokens else None
            if token_map is None and to.startswith(("http://", "https://", "mqtt://")):
                token_map = {vin: make_token(seed, vin) for vin, _ in roster(config)}
            sender = make_sender(to, token_map, fmt, commands=commands)
        link = _command_link(sender, platform, config) if commands else None
        bar = tqdm(total=seconds, unit="sim-s", unit_scale=True, disable=pace == 1.0)
        last = [0]

        def progress(t: int) -> None:
            bar.update(t - last[0])
            last[0] = t

        summary, truth = run(
            config,
            seconds,
            sender,
            batch_s=batch_s,
            speedup=pace,
            progress=progress,
            first_seq=config.start_ms,  # ms: above any seq an earlier run reached
            commands=link,
        )
        bar.close()
    except VoltaError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        if platform is not None:
            platform.stop()
    if truth_dir is not None:
        write_truth(truth, truth_dir)
    _print_summary(summary, to, truth_dir)
    refused = [r for r in sender.rejected if r[1] >= 0] if isinstance(sender, HttpSender) else []
    if refused:
        _report_refusals(refused, summary.batches)
        raise typer.Exit(1)


def _seconds(days: float, batch_s: int) -> int:
    """The run's length in whole batches: the fleet computes whole minutes, so a batch
    interval must divide a minute, and the last window must hold whole batches."""
    if batch_s <= 0 or 60 % batch_s:
        raise typer.BadParameter(f"--batch-s must divide 60 (1, 2, 5, 10, 30, ...), got {batch_s}")
    if days <= 0:
        raise typer.BadParameter(f"--days must be > 0, got {days:g}")
    return max(1, math.ceil(days * 86_400 / batch_s)) * batch_s


def _report_refusals(refused: list[tuple[str, int, int, str]], sent: int) -> None:
    """One line per answer the server gave, with what to do about the usual one."""
    by_status: dict[int, list[tuple[str, int, int, str]]] = {}
    for r in refused:
        by_status.setdefault(r[2], []).append(r)
    typer.echo(f"error: the server refused {len(refused):,} of {sent:,} batches:", err=True)
    for status, rows in sorted(by_status.items()):
        vin, seq, _, body = rows[0]
        typer.echo(f"  {len(rows):,} × {status}, e.g. {vin} seq {seq}: {body}", err=True)
    if {401, 403} & by_status.keys():
        typer.echo(
            "  the vehicles need their tokens: register them (`volta vehicles add VIN`) and pass"
            " --tokens FILE (JSON {vin: token})",
            err=True,
        )


def _command_link(sender: Sender, platform: Platform | None, config: FleetConfig) -> CommandLink:
    """Where the cars get their commands: the embedded platform, or their sender's link."""
    if platform is not None:
        return InprocCommandLink(platform.commands, [vin for vin, _ in roster(config)])
    if isinstance(sender, HttpSender | MqttSender):
        return sender
    raise typer.BadParameter("--commands needs --to http://…, mqtt://… or inproc")


def _start_ms(start: str | None, pace: float, seconds: int) -> int:
    if start is None:  # the edge of the program: the one place that reads the wall clock
        now_ms = int(datetime.now(UTC).timestamp() * 1000)
        return now_ms - (seconds * 1000 if pace == 0 else 0)
    try:
        dt = datetime.fromisoformat(start)
    except ValueError as exc:
        raise typer.BadParameter(f"--start expects an ISO date, got {start!r}") from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def _embedded(config: FleetConfig, fmt: str) -> tuple[Platform, Sender]:
    """The embedded platform (settings from VOLTA_* / .env) with the fleet registered in it."""
    from volta.config import Settings
    from volta.ingest.inproc import InProcessTransport
    from volta.platform import Platform
    from volta.tuning import tune_for_ingest

    overrides: dict[str, Any] = {}  # everything from VOLTA_* / .env
    platform = Platform(Settings(**overrides))
    tune_for_ingest()
    platform.start()
    for vin, model in roster(config):
        if not platform.registry.has_vehicle(vin):
            platform.registry.add_vehicle(vin, model)
    transport = InProcessTransport(platform.gateway)
    return platform, CallableSender(deliver_many=transport.publish_many, fmt=fmt)


def _print_summary(s: RunSummary, to: str, truth_dir: Path | None) -> None:
    typer.echo(
        f"{s.vehicles} vehicles, {s.simulated_s / 86_400:.2f} days: {s.simulated_km:,.0f} km in "
        f"{s.drives} drives, {s.charges} charges; {s.batches:,} batches, {s.samples:,} samples "
        f"to {to} in {s.wall_s:.1f} s wall" + (f"; truth in {truth_dir}" if truth_dir else "")
    )
    typer.echo(json.dumps(s.as_dict()))
