"""Vehicle models built from the EPA Test Car List alone, checked against its dyno results.

Every usable row: the model from the row's test weight and road load plus the one shared
drivetrain drives the row's cycle; its energy from the wall per km is compared with the raw
dynamometer result. Nothing is fitted per car: two drivetrain values are fitted across all cars,
and the figure quoted is leave-one-maker-out (docs/planner.md): MAE 6.7 % over 120 rows, median
4.6 %, worst Audi e-tron S on UDDS (-29.0 %). The issue's 5 % goal is not met.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from volta.cli import _register_all, app
from volta.vehicles.cycles import load_cycle
from volta.vehicles.epa import (
    SHARED_DRIVETRAIN,
    EpaTest,
    maker,
    measured_wall_wh_per_km,
    model_from_epa,
    read_test_cars,
    usable,
)
from volta.vehicles.epa_fit import Fit, Validation, cross_validate, validate
from volta.vehicles.model import ModelError, load_model

DATA = Path(__file__).parent / "data" / "testcar_2022_bev.csv"


@pytest.fixture(scope="module")
def tests_() -> list[EpaTest]:
    return read_test_cars(DATA)


@pytest.fixture(scope="module")
def held_out(tests_: list[EpaTest]) -> tuple[Fit, Validation]:
    return cross_validate(tests_)  # ~3 s: 51 regen fractions x 120 cycle simulations


def test_shared_drivetrain_predicts_wall_energy_of_every_usable_row(tests_: list[EpaTest]) -> None:
    v = validate(tests_)
    assert len(v.errors) == 120
    assert v.mae() <= 0.065  # measured 6.38 % in-sample; the quoted figure is held out (below)
    assert v.median() <= 0.045  # measured 4.32 %
    assert v.worst()[0] == 128  # Audi e-tron S on UDDS: three induction motors, -28.4 %


def test_held_out_makers_are_predicted_within_the_measured_error(
    held_out: tuple[Fit, Validation],
) -> None:
    # each maker's rows come from a fit on the other makers only; the goal is 5 %
    _, v = held_out
    assert len(v.errors) == 120
    assert v.mae() <= 0.068  # measured 6.69 %
    assert v.median() <= 0.047  # measured 4.60 %
    assert v.mae("udds") <= 0.090  # measured 8.92 %: low-load losses differ most between makers
    assert v.mae("hwfet") <= 0.046  # measured 4.47 %
    line, err = v.worst()
    assert line == 128  # Audi e-tron S on UDDS
    assert err == pytest.approx(-0.290, abs=0.005)


def test_shipped_drivetrain_is_the_fit_across_all_cars(held_out: tuple[Fit, Validation]) -> None:
    fit, _ = held_out
    assert fit.regen_fraction == SHARED_DRIVETRAIN.regen_fraction
    assert fit.charge_efficiency == pytest.approx(SHARED_DRIVETRAIN.charge_efficiency, abs=5e-4)


def test_lucid_rows_are_grouped_under_their_maker(tests_: list[EpaTest]) -> None:
    # the list puts the model year in Lucid's make column; the held-out split must not
    by_line = {t.line: t for t in tests_}
    assert by_line[54].make == "2022"
    assert maker(by_line[54]) == "LUCID"
    assert maker(by_line[3]) == "BMW"


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
    assert "udds: model 146.5 Wh/km from the wall, EPA dyno 139.2 Wh/km (+5.3%)" in result.output
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


def test_check_epa_prints_in_sample_and_held_out_figures(
    held_out: tuple[Fit, Validation], monkeypatch: pytest.MonkeyPatch
) -> None:
    _register_all()
    monkeypatch.setattr("volta.vehicles.epa_fit.cross_validate", lambda tests: held_out)
    result = CliRunner().invoke(app, ["models", "check-epa", str(DATA)])
    assert result.exit_code == 0, result.output
    assert "left out: line 26 CHEVROLET BOLT EV: 129 MPGe is the fuel-economy" in result.output
    assert "leave one maker out: 120 rows, MAE 6.69%, median 4.60%" in result.output
