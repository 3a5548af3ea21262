"""Vehicle models built from the EPA Test Car List alone, checked against its dyno results.

Every usable row: the model from the row's test weight and road load plus the one shared
drivetrain, applied to the car's published drivetrain technology (number of motors, two-speed
gearbox, SiC inverter), drives the row's cycle; its energy from the wall per km is compared with
the raw dynamometer result. Nothing is fitted per car: five drivetrain values are fitted across
all cars: MAE 4.32 % over the 120 usable rows, the issue's measure (goal 5 %). Stricter,
leave-one-maker-out (docs/planner.md): 5.10 % (6.69 % before the spec table), median 3.4 %,
worst Audi e-tron S on UDDS (-25.9 %); leave-one-maker-group-out 6.68 %.
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
    UNKNOWN_TECH,
    Drivetrain,
    EpaTest,
    maker,
    maker_group,
    measured_wall_wh_per_km,
    model_from_epa,
    read_drivetrain_specs,
    read_test_cars,
    tech_spec,
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
    return cross_validate(tests_)  # ~4 s CPU: 51 regen fractions x 156 cycle simulations + LPs


def test_shared_drivetrain_predicts_wall_energy_of_every_usable_row(tests_: list[EpaTest]) -> None:
    v = validate(tests_)
    assert len(v.errors) == 120
    assert v.mae() <= 0.044  # measured 4.32 %: the goal is 5 %; held out below
    assert v.median() <= 0.031  # measured 3.02 %
    assert v.worst()[0] == 128  # Audi e-tron S on UDDS: three induction motors, -23.6 %


def test_held_out_makers_are_predicted_within_the_measured_error(
    held_out: tuple[Fit, Validation],
) -> None:
    # each maker's rows come from a fit on the other makers only; the goal is 5 %
    _, v = held_out
    assert len(v.errors) == 120
    assert v.mae() <= 0.052  # measured 5.10 % (6.69 % with the drivetrain alone, no spec table)
    assert v.median() <= 0.035  # measured 3.36 %
    assert v.mae("udds") <= 0.060  # measured 5.90 %
    assert v.mae("hwfet") <= 0.044  # measured 4.31 %
    line, err = v.worst()
    assert line == 128  # Audi e-tron S on UDDS: all-induction drive, in no other maker
    assert err == pytest.approx(-0.259, abs=0.005)


def test_held_out_maker_groups_are_predicted_within_the_measured_error(
    tests_: list[EpaTest],
) -> None:
    # stricter: Audi + Porsche + Volkswagen and Hyundai + Kia held out together. The two-speed
    # gearbox is only in the Volkswagen group, so held out as a group it is not learnt at all
    _, v = cross_validate(tests_, by=maker_group)
    assert v.mae() <= 0.068  # measured 6.68 % (7.1 % without the spec table)
    assert v.errors[78] == pytest.approx(-0.218, abs=0.005)  # Taycan RWD, UDDS: -7.4 % in-sample


def test_shipped_drivetrain_is_the_fit_across_all_cars(held_out: tuple[Fit, Validation]) -> None:
    fit, _ = held_out
    assert fit.regen_fraction == SHARED_DRIVETRAIN.regen_fraction
    assert fit.charge_efficiency == pytest.approx(SHARED_DRIVETRAIN.charge_efficiency, abs=5e-4)
    assert fit.unit_idle_w == pytest.approx(SHARED_DRIVETRAIN.unit_idle_w, abs=2.0)
    assert fit.two_speed_idle_w == pytest.approx(SHARED_DRIVETRAIN.two_speed_idle_w, abs=2.0)
    assert fit.sic_loss_reduction == pytest.approx(SHARED_DRIVETRAIN.sic_loss_reduction, abs=0.01)


def test_every_usable_row_has_a_spec_and_unknowns_get_the_shared_default(
    tests_: list[EpaTest],
) -> None:
    specs = read_drivetrain_specs()
    rows = [t for t in tests_ if usable(t) is None]
    assert all(tech_spec(t, specs) is not UNKNOWN_TECH for t in rows)
    assert all(s.source for s in specs)  # every fact says where it is published
    by_line = {t.line: t for t in tests_}
    rivian = tech_spec(by_line[80], specs)  # motor count not known: the drive code decides
    assert rivian.motors is None
    shared = Drivetrain()
    assert model_from_epa(by_line[80], tech=rivian).aux_w == shared.aux_w + shared.unit_idle_w
    ioniq_awd, ioniq_rwd = tech_spec(by_line[30], specs), tech_spec(by_line[36], specs)
    assert (ioniq_awd.motors, ioniq_rwd.motors) == (2, 1)
    assert ioniq_awd.sic_inverter and ioniq_awd.system_v == 800
    taycan = model_from_epa(by_line[78], tech=tech_spec(by_line[78], specs))
    assert taycan.aux_w == shared.aux_w + shared.two_speed_idle_w  # one motor, two-speed
    e_tron_s = tech_spec(by_line[128], specs)
    assert (e_tron_s.motors, e_tron_s.motor_types) == (3, "F:IM R:IM R:IM")


def test_a_sic_inverter_scales_the_motor_losses_down() -> None:
    specs = read_drivetrain_specs()
    d = Drivetrain()
    model_3 = next(s for s in specs if s.model_prefix == "Model 3")
    curve = dict(d.motor_curve_for(model_3))
    for x, eff in d.motor_eff_points:
        assert 1.0 - curve[x] == pytest.approx((1.0 - eff) * (1.0 - d.sic_loss_reduction), 1e-4)
    assert d.motor_curve_for(UNKNOWN_TECH) == d.motor_eff_points


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
    assert "udds: model 140.4 Wh/km from the wall, EPA dyno 139.2 Wh/km (+0.8%)" in result.output
    assert "applied to 2 motor(s), two-speed no, SiC inverter yes" in result.output
    written = load_model(str(out))
    rows = {t.line: t for t in read_test_cars(DATA)}
    tech = tech_spec(rows[30], read_drivetrain_specs())
    assert written == model_from_epa(rows[30], usable_kwh=74.0, tech=tech)
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
    monkeypatch.setattr("volta.vehicles.epa_fit.cross_validate", lambda tests, by=None: held_out)
    result = CliRunner().invoke(app, ["models", "check-epa", str(DATA)])
    assert result.exit_code == 0, result.output
    assert "left out: line 26 CHEVROLET BOLT EV: 129 MPGe is the fuel-economy" in result.output
    assert "leave one maker out: 120 rows, MAE 5.10%, median 3.36%" in result.output
    assert "idle W per extra motor 195, two-speed idle W 751, SiC loss reduction 0.42" in (
        result.output
    )
