"""`volta sim-cycle`: one vehicle over a speed trace, battery energy as JSON."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from numpy.typing import NDArray

from volta.errors import ConfigError
from volta.vehicles.model import ModelError, VehicleModel, load_model
from volta.vehicles.physics import CycleResult, drive_cycle_energy

_REQUIRED = ("time_s", "speed_mps")


@dataclass(frozen=True, slots=True)
class SpeedTrace:
    """A speed trace read from CSV: time (s), speed (m/s), grade (rise/run) per sample."""

    time_s: NDArray[np.float64]
    speed_mps: NDArray[np.float64]
    grade: NDArray[np.float64] | None


class TraceError(ConfigError):
    """The speed trace file is missing, lacks a column, or holds a value that is not a number."""


def read_trace(path: Path) -> SpeedTrace:
    """Read CSV columns time_s,speed_mps[,grade] (header required, extra columns ignored)."""
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in reader.fieldnames or []]
            missing = [c for c in _REQUIRED if c not in header]
            if missing:
                raise TraceError(
                    f"{path}: missing column(s) {', '.join(missing)}; "
                    f"expected time_s,speed_mps[,grade], found {','.join(header) or 'no header'}"
                )
            has_grade = "grade" in header
            cols: dict[str, list[float]] = {c: [] for c in (*_REQUIRED, "grade")}
            for line, row in enumerate(reader, start=2):
                row = {k.strip(): v for k, v in row.items() if k is not None}
                for col in (*_REQUIRED, "grade") if has_grade else _REQUIRED:
                    try:
                        cols[col].append(float(row[col]))
                    except (TypeError, ValueError):
                        raise TraceError(
                            f"{path}: line {line}: {col} is not a number: {row[col]!r}"
                        ) from None
    except OSError as exc:
        raise TraceError(f"cannot read speed trace {path}: {exc.strerror or exc}") from exc
    time_s = np.array(cols["time_s"])
    if time_s.size < 2:
        raise TraceError(f"{path}: needs at least two samples")
    if np.any(np.diff(time_s) <= 0):
        raise TraceError(f"{path}: time_s must be strictly increasing")
    speed = np.array(cols["speed_mps"])
    if np.any(speed < 0) or not np.all(np.isfinite(speed)):
        raise TraceError(f"{path}: speed_mps must be finite and >= 0")
    return SpeedTrace(time_s, speed, np.array(cols["grade"]) if has_grade else None)


def cycle_report(model: VehicleModel, result: CycleResult) -> dict[str, str | float]:
    """The JSON-ready summary printed by `volta sim-cycle`."""
    return {
        "vehicle": model.name,
        "distance_km": round(result.distance_m / 1000.0, 4),
        "energy_kwh": round(result.energy_from_battery_j / 3.6e6, 4),
        "wh_per_km": round(result.wh_per_km, 2),
        "duration_s": round(result.duration_s, 3),
        "traction_kwh": round(result.traction_j / 3.6e6, 4),
        "regen_kwh": round(result.regen_j / 3.6e6, 4),
        "aux_kwh": round(result.aux_j / 3.6e6, 4),
        "peak_power_kw": round(result.peak_power_kw, 2),
        "motor_limited_s": round(result.motor_limited_s, 3),
    }


def sim_cycle(
    vehicle: Annotated[
        str,
        typer.Option(
            "--vehicle", help="model name (see volta/vehicles/models) or path to a .toml model file"
        ),
    ],
    cycle: Annotated[
        Path, typer.Option("--cycle", help="CSV with columns time_s,speed_mps[,grade]")
    ],
    ambient_c: Annotated[
        float, typer.Option("--ambient-c", help="ambient temperature, °C (drives HVAC load)")
    ] = 20.0,
) -> None:
    """Run one vehicle over a speed trace; print the battery energy (total and per km) as JSON."""
    try:
        model = load_model(vehicle)
    except ModelError as exc:
        raise typer.BadParameter(str(exc), param_hint="--vehicle") from None
    try:
        trace = read_trace(cycle)
    except TraceError as exc:
        raise typer.BadParameter(str(exc), param_hint="--cycle") from None
    result = drive_cycle_energy(model, trace.time_s, trace.speed_mps, trace.grade, ambient_c)
    typer.echo(json.dumps(cycle_report(model, result)))
