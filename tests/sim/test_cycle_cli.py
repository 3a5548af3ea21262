"""`volta sim-cycle`: one vehicle over a CSV speed trace, JSON out, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from volta.sim.cli import register
from volta.vehicles.model import load_model
from volta.vehicles.physics import drive_cycle_energy


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    # the simulator's own registration, without importing the rest of the platform's CLI
    app = typer.Typer()
    register(app)
    return app


def run(app: typer.Typer, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["sim-cycle", *args])
    return result.exit_code, result.output


def text(out: str) -> str:
    """The output without rich's box drawing and line wrapping."""
    return " ".join(out.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())


def write_trace(path: Path, header: str, rows: list[tuple[float, ...]]) -> Path:
    path.write_text(header + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    return path


def accelerate_cruise_stop(grade: float | None = None) -> list[tuple[float, ...]]:
    speeds = [*np.linspace(0, 20, 11), *[20.0] * 60, *np.linspace(20, 0, 11)]
    if grade is None:
        return [(float(t), float(v)) for t, v in enumerate(speeds)]
    return [(float(t), float(v), grade) for t, v in enumerate(speeds)]


def test_prints_energy_per_km_and_total_as_json(app: typer.Typer, tmp_path: Path) -> None:
    trace = write_trace(tmp_path / "t.csv", "time_s,speed_mps", accelerate_cruise_stop())
    code, out = run(app, "--vehicle", "chevrolet_bolt_ev_2020", "--cycle", str(trace))
    assert code == 0, out
    report = json.loads(out)
    t, v = np.loadtxt(trace, delimiter=",", skiprows=1, unpack=True)
    expected = drive_cycle_energy(load_model("chevrolet_bolt_ev_2020"), t, v)
    assert report["vehicle"] == "chevrolet_bolt_ev_2020"
    assert report["distance_km"] == pytest.approx(expected.distance_m / 1000, abs=1e-4)
    assert report["energy_kwh"] == pytest.approx(expected.energy_from_battery_j / 3.6e6, abs=1e-4)
    assert report["wh_per_km"] == pytest.approx(expected.wh_per_km, abs=0.01)
    assert report["energy_kwh"] == pytest.approx(
        report["traction_kwh"] - report["regen_kwh"] + report["aux_kwh"], abs=1e-3
    )


def test_an_uphill_grade_column_costs_energy(app: typer.Typer, tmp_path: Path) -> None:
    flat = write_trace(tmp_path / "flat.csv", "time_s,speed_mps", accelerate_cruise_stop())
    hill = write_trace(
        tmp_path / "hill.csv", "time_s,speed_mps,grade", accelerate_cruise_stop(0.04)
    )
    e_flat = json.loads(run(app, "--vehicle", "renault_zoe_ze50_2022", "--cycle", str(flat))[1])
    e_hill = json.loads(run(app, "--vehicle", "renault_zoe_ze50_2022", "--cycle", str(hill))[1])
    assert e_hill["energy_kwh"] > e_flat["energy_kwh"] * 1.5


def test_a_model_file_path_is_accepted(app: typer.Typer, tmp_path: Path) -> None:
    trace = write_trace(tmp_path / "t.csv", "time_s,speed_mps", accelerate_cruise_stop())
    model = Path(__file__).parents[2] / "src/volta/vehicles/models/tesla_model_3_rwd_2022.toml"
    code, out = run(app, "--vehicle", str(model), "--cycle", str(trace))
    assert code == 0, out
    assert json.loads(out)["vehicle"] == "tesla_model_3_rwd_2022"


def test_a_missing_column_is_named(app: typer.Typer, tmp_path: Path) -> None:
    trace = write_trace(tmp_path / "t.csv", "time_s,speed_kmh", [(0, 0), (1, 5)])
    code, out = run(app, "--vehicle", "chevrolet_bolt_ev_2020", "--cycle", str(trace))
    assert code == 2
    assert "missing column(s) speed_mps" in text(out)


def test_an_unknown_model_lists_the_available_ones(app: typer.Typer, tmp_path: Path) -> None:
    trace = write_trace(tmp_path / "t.csv", "time_s,speed_mps", accelerate_cruise_stop())
    code, out = run(app, "--vehicle", "flux_capacitor", "--cycle", str(trace))
    assert code == 2
    flat = text(out)
    assert "unknown vehicle model 'flux_capacitor'" in flat
    assert "chevrolet_bolt_ev_2020" in flat


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([(0, 0), (1, "fast")], "line 3: speed_mps is not a number"),
        ([(0, 0), (0, 1)], "strictly increasing"),
        ([(0, 0)], "at least two samples"),
        ([(0, 0), (1, -3)], ">= 0"),
    ],
)
def test_a_bad_trace_says_what_is_wrong(
    app: typer.Typer, tmp_path: Path, rows: list[tuple[float, ...]], message: str
) -> None:
    trace = write_trace(tmp_path / "t.csv", "time_s,speed_mps", rows)
    code, out = run(app, "--vehicle", "chevrolet_bolt_ev_2020", "--cycle", str(trace))
    assert code == 2
    assert message in text(out)


def test_a_missing_file_is_reported(app: typer.Typer, tmp_path: Path) -> None:
    code, out = run(
        app, "--vehicle", "chevrolet_bolt_ev_2020", "--cycle", str(tmp_path / "none.csv")
    )
    assert code == 2
    assert "cannot read speed trace" in text(out)
