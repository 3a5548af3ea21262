"""Ground truth of a simulation: what really happened, for tests to check analytics against.

Every drive, charge session, daily state of health, fault (`faults.parquet`), failed charging
session, hazard and road event is kept as a
frozen record; `write_truth(truth, dir)` stores one Parquet file per kind and
`load_truth(dir)` reads them back. Times are ms since the Unix epoch (UTC); energies in Wh.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "ChargeFailureTruth",
    "ChargeTruth",
    "DriveTruth",
    "FaultTruth",
    "HazardTruth",
    "RoadEventTruth",
    "SohTruth",
    "Truth",
    "VehicleTruth",
    "load_truth",
    "write_truth",
]


@dataclass(frozen=True, slots=True)
class VehicleTruth:
    """One simulated vehicle and the secrets it was given."""

    vin: str
    model: str
    token: str
    home_lat: float
    home_lon: float
    home_charger_kw: float


@dataclass(frozen=True, slots=True)
class DriveTruth:
    """One drive, departure to arrival. Energies at the battery terminals unless named."""

    vin: str
    start_ms: int
    end_ms: int
    start_lat: float
    start_lon: float
    end_lat: float
    end_lon: float
    distance_m: float
    odometer_start_m: float
    odometer_end_m: float
    energy_from_battery_wh: float  # net terminal energy: traction + aux − regen
    regen_wh: float  # recovered by regenerative braking (≥ 0)
    battery_loss_wh: float  # I²R inside the pack
    stored_energy_start_wh: float
    stored_energy_end_wh: float
    soc_start: float
    soc_end: float
    purpose: str


@dataclass(frozen=True, slots=True)
class ChargeTruth:
    """One charging session, plug-in (or start of power) to end of power."""

    vin: str
    start_ms: int
    end_ms: int
    dc: bool
    lat: float
    lon: float
    charger: str  # "home" or the OSM id of the station
    energy_into_battery_wh: float  # at the pack terminals
    energy_from_grid_wh: float
    battery_loss_wh: float
    peak_kw: float  # into the battery
    soc_from: float
    soc_to: float
    stored_energy_start_wh: float
    stored_energy_end_wh: float


@dataclass(frozen=True, slots=True)
class SohTruth:
    """True state of health at the end of one simulated UTC day."""

    vin: str
    day_ms: int  # midnight UTC that starts the day
    soh: float  # fraction of new usable capacity
    capacity_kwh: float
    full_cycles: float


@dataclass(frozen=True, slots=True)
class FaultTruth:
    """A fault: when it began, when it first showed in a signal (`symptom_ms`), when it crossed
    its threshold (the warning, the failure or the DTC: `threshold_ms`), when its DTC appeared,
    when it was repaired or cleared itself (`end_ms`); 0 = not (yet). A charger's fault has no
    VIN but the `charger`'s OSM id. Kinds: see `volta.sim.faults` and `volta.sim.health`."""

    vin: str
    kind: str  # "tyre_leak", "weak_12v", "cell_imbalance", "hot_battery", "pad_wear", ...
    start_ms: int
    dtc: str
    dtc_ms: int
    end_ms: int
    detail: str
    symptom_ms: int = 0
    threshold_ms: int = 0
    charger: str = ""


@dataclass(frozen=True, slots=True)
class ChargeFailureTruth:
    """One charging session that failed: whose fault it was ("car": the on-board charger,
    "charger": the station), where and when (the window the car reported it in)."""

    vin: str
    ts_ms: int
    charger: str
    cause: str
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class HazardTruth:
    """A road hazard: a pothole (one id may lie on both directions of a road), or one of
    `volta.sim.surface`'s: "ice", "rough_road", "speed_bump", "slowdown". Ice and slow-downs
    have one record per episode, from start_ms to end_ms (0: always, or still at the end)."""

    hazard_id: int
    kind: str
    lat: float
    lon: float
    severity: float
    start_ms: int = 0
    end_ms: int = 0
    length_m: float = 0.0  # of a stretch (ice, rough road); 0 for a point
    # the direction of travel it affects, degrees clockwise from north (a queue stands on one
    # carriageway); -1: both directions of the road
    heading_deg: float = -1.0


@dataclass(frozen=True, slots=True)
class RoadEventTruth:
    """Something a vehicle felt or met: a pothole impact, a harsh braking; with
    `volta.sim.surface` on also a straddled pothole, a speed bump, an ice patch, a queue."""

    vin: str
    ts_ms: int
    kind: str  # "pothole", "harsh_brake", "pothole_straddled", "speed_bump", "ice", "slowdown"
    lat: float
    lon: float
    value: float  # peak vertical (pothole) or deceleration (harsh brake), m/s²
    hazard_id: int  # -1 for harsh braking


@dataclass
class Truth:
    """Everything that happened in one run."""

    vehicles: list[VehicleTruth] = field(default_factory=list)
    drives: list[DriveTruth] = field(default_factory=list)
    charges: list[ChargeTruth] = field(default_factory=list)
    soh: list[SohTruth] = field(default_factory=list)
    faults: list[FaultTruth] = field(default_factory=list)
    hazards: list[HazardTruth] = field(default_factory=list)
    events: list[RoadEventTruth] = field(default_factory=list)
    charge_failures: list[ChargeFailureTruth] = field(default_factory=list)


_KINDS: dict[str, type[Any]] = {
    "vehicles": VehicleTruth,
    "drives": DriveTruth,
    "charges": ChargeTruth,
    "soh": SohTruth,
    "faults": FaultTruth,
    "hazards": HazardTruth,
    "events": RoadEventTruth,
    "charge_failures": ChargeFailureTruth,
}
_ARROW = {int: pa.int64(), float: pa.float64(), str: pa.string(), bool: pa.bool_()}
_PY = {"int": int, "float": float, "str": str, "bool": bool}

T = TypeVar("T")


def _schema(cls: type[Any]) -> pa.Schema:
    return pa.schema([(f.name, _ARROW[_PY[str(f.type)]]) for f in fields(cls)])


def write_truth(truth: Truth, directory: str | Path) -> Path:
    """Write one Parquet file per kind (vehicles.parquet, drives.parquet, ...) into directory."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    for name, cls in _KINDS.items():
        rows = [asdict(r) for r in getattr(truth, name)]
        schema = _schema(cls)
        table = pa.Table.from_pylist(rows, schema=schema)
        pq.write_table(table, out / f"{name}.parquet")
    return out


def load_truth(directory: str | Path) -> Truth:
    """Read back what `write_truth` wrote."""
    d = Path(directory)
    truth = Truth()
    for name, cls in _KINDS.items():
        path = d / f"{name}.parquet"
        if path.is_file():
            rows = pq.read_table(path).to_pylist()
            getattr(truth, name).extend(cls(**r) for r in rows)
    return truth
