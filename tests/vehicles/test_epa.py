"""Vehicle models built from the EPA Test Car List alone, checked against its dyno results.

Every usable row: the model from the row's test weight and road load plus the one shared
drivetrain drives the row's cycle; its energy from the wall per km is compared with the raw
dynamometer result. Nothing is fitted per car. Measured (docs/planner.md): MAE 7.1 % over 120
rows, median 4.6 %, worst Audi e-tron S on UDDS (-31.6 %): the issue's 5 % goal is not met.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from volta.cli import _register_all, app
from volta.vehicles.cycles import load_cycle, wall_wh_per_km
from volta.vehicles.epa import (
    EpaTest,
    measured_wall_wh_per_km,
    model_from_epa,
    read_test_cars,
    usable,
)
from volta.vehicles.model import ModelError, load_model

DATA = Path(__file__).parent / "data" / "testcar_2022_bev.csv"


@pytest.fixture(scope="module")
def tests_() -> list[EpaTest]:
    return read_test_cars(DATA)


def _errors(rows: list[EpaTest]) -> dict[int, float]:
    out = {}
    for t in rows:
        if usable(t) is None and t.cycle is not None:
            predicted = wall_wh_per_km(model_from_epa(t), t.cycle)
            out[t.line] = predicted / measured_wall_wh_per_km(t) - 1.0
    return out


def test_shared_drivetrain_predicts_wall_energy_of_every_usable_row(tests_: list[EpaTest]) -> None:
    errors = _errors(tests_)
    assert len(errors) == 120
    abs_err = np.abs(np.array(list(errors.values())))
    assert abs_err.mean() <= 0.075  # measured 7.14 %; the goal of 5 % is not reached
    assert np.median(abs_err) <= 0.05  # measured 4.6 %
    worst = max(errors, key=lambda line: abs(errors[line]))
    assert worst == 128  # Audi e-tron S on UDDS: three induction motors, -31.6 %
    assert errors[worst] == pytest.approx(-0.316, abs=0.005)


def test_rows_left_out_are_named_with_why(tests_: list[EpaTest]) -> None:
    left_out = {t.line: usable(t) for t in tests_ if usable(t) is not None}
    label = {26, 27, 28, 29}  # the Chevrolet Bolt EV rows carry the label values
    assert {line for line, why in left_out.items() if "label" in str(why)} == label
    other_procedures = set(left_out) - label
    assert len(other_procedures) == 20  # cold FTP, SC03, empty CVS 75 / HWFE rows of 5 Teslas
    assert all(
        "not a charge-depleting UDDS or highway" in str(left_out[x]) for x in other_procedures
    )
    assert len(tests_) == 144


def test_small_values_in_the_mpg_column_are_read_as_kwh_per_100_miles(
    tests_: list[EpaTest],
) -> None:
    by_line = {t.line: t for t in tests_}
    ioniq = by_line[30]  # Hyundai Ioniq 5 AWD on UDDS: 22.4, i.e. kWh/100 mi
    assert measured_wall_wh_per_km(ioniq) == pytest.approx(224.0 / 1.609344)
    i4 = by_line[3]  # BMW i4 eDrive40 on UDDS: 156.3 MPGe
    assert measured_wall_wh_per_km(i4) == pytest.approx(33705.0 / 156.3 / 1.609344)


def test_shipped_cycles_have_the_epa_lengths() -> None:
    for name, km in (("udds", 11.99), ("hwfet", 16.51)):
        c = load_cycle(name)
        distance = float(np.sum(0.5 * (c.speed_mps[1:] + c.speed_mps[:-1]) * np.diff(c.time_s)))
        assert distance / 1000.0 == pytest.approx(km, abs=0.02)


def test_from_epa_writes_a_model_file_that_loads_back_equal(tmp_path: Path) -> None:
    _register_all()
    out = tmp_path / "ioniq.toml"
    result = CliRunner().invoke(
        app,
        ["models", "from-epa", str(DATA), "--line", "30", "--out", str(out), "--usable-kwh", "74"],
    )
    assert result.exit_code == 0, result.output
    assert "udds: model 140.3 Wh/km from the wall, EPA dyno 139.2 Wh/km (+0.8%)" in result.output
    written = load_model(str(out))
    rows = {t.line: t for t in read_test_cars(DATA)}
    assert written == model_from_epa(rows[30], usable_kwh=74.0)
    assert written.usable_kwh_new == 74.0


def test_from_epa_on_a_missing_line_says_so(tmp_path: Path) -> None:
    _register_all()
    out = tmp_path / "x.toml"
    result = CliRunner().invoke(
        app, ["models", "from-epa", str(DATA), "--line", "999", "--out", str(out)]
    )
    assert result.exit_code == 2
    assert "no data row at line 999" in result.output
    assert not out.exists()


def test_a_malformed_row_names_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    lines = DATA.read_text(encoding="utf-8").splitlines()
    bad.write_text("\n".join([*lines[:3], "BMW,i4,heavy,R,Charge Depleting UDDS,1,MPG,1,1,1"]))
    with pytest.raises(ModelError, match="line 4"):
        read_test_cars(bad)
