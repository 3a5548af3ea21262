"""Volta's battery energy per km against NREL FASTSim 3 on the same vehicle and speed trace.

FASTSim is a test-only reference (requirements-test.txt); the product never imports it. Volta's
model files carry their own parameters from public sources; here both simulators drive UDDS
and HWFET and Volta must land within ±5 % of FASTSim's energy at the battery terminals.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from volta.vehicles.model import load_model
from volta.vehicles.physics import drive_cycle_energy

fsim = pytest.importorskip(
    "fastsim", reason="fastsim (NREL FASTSim 3, test-only reference) is not installed"
)

TOLERANCE = 0.05
CYCLES = ("udds.csv", "hwfet.csv")
VEHICLES = {
    "chevrolet_bolt_ev_2020": "2020 Chevrolet Bolt EV thrml.yaml",
    "renault_zoe_ze50_2022": "2022_Renault_Zoe_ZE50_R135.yaml",
    "tesla_model_3_rwd_2022": "2022 Tesla Model 3 RWD thrml.yaml",
}


@dataclass(frozen=True)
class Reference:
    time_s: np.ndarray
    speed_mps: np.ndarray
    wh_per_km: float
    distance_m: float


@pytest.fixture(scope="module")
def fastsim_runs() -> dict[tuple[str, str], Reference]:
    """Every (vehicle, cycle) run once per module; FASTSim takes a few ms per run."""
    out: dict[tuple[str, str], Reference] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for name, resource in VEHICLES.items():
            for cycle in CYCLES:
                cyc = fsim.Cycle.from_resource(cycle)
                sd = fsim.SimDrive(fsim.Vehicle.from_resource(resource), cyc)
                sd.walk()
                veh = sd.to_dict()["veh"]
                trace = cyc.to_dict()
                dist = veh["state"]["dist_meters"]
                energy = veh["pt_type"]["BEV"]["res"]["state"]["energy_out_electrical_joules"]
                assert veh["state"]["cyc_met_overall"], f"FASTSim missed the {cycle} trace"
                out[(name, cycle)] = Reference(
                    time_s=np.asarray(trace["time_seconds"], dtype=float),
                    speed_mps=np.asarray(trace["speed_meters_per_second"], dtype=float),
                    wh_per_km=energy / 3600.0 / (dist / 1000.0),
                    distance_m=dist,
                )
    return out


@pytest.mark.parametrize("cycle", CYCLES)
@pytest.mark.parametrize("name", list(VEHICLES))
def test_battery_energy_per_km_within_5_percent_of_fastsim(
    fastsim_runs: dict[tuple[str, str], Reference], name: str, cycle: str
) -> None:
    ref = fastsim_runs[(name, cycle)]
    r = drive_cycle_energy(load_model(name), ref.time_s, ref.speed_mps)
    assert r.distance_m == pytest.approx(ref.distance_m, rel=1e-3)
    diff = r.wh_per_km / ref.wh_per_km - 1.0
    assert abs(diff) <= TOLERANCE, (
        f"{name} on {cycle}: Volta {r.wh_per_km:.1f} Wh/km, FASTSim {ref.wh_per_km:.1f} Wh/km "
        f"({diff:+.1%})"
    )


def test_the_product_never_imports_fastsim() -> None:
    src = Path(__file__).parents[2] / "src"
    offenders = [
        str(p.relative_to(src))
        for p in src.rglob("*.py")
        if "import fastsim" in p.read_text(encoding="utf-8")
        or "from fastsim" in p.read_text(encoding="utf-8")
    ]
    assert offenders == []
