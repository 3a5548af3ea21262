"""Vehicle model files: shipped models load, cite sources, match public data; user files work."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from volta.errors import BadRequest, ConfigError
from volta.vehicles.model import ModelError, list_models, load_model
from volta.vehicles.physics import drive_cycle_energy

REQUIRED = ("chevrolet_bolt_ev_2020", "renault_zoe_ze50_2022")
MODELS_DIR = Path(__file__).parents[2] / "src" / "volta" / "vehicles" / "models"
EPA_CSV = Path(__file__).parent / "data" / "testcar_2022_bev.csv"  # see data/NOTICE.md
LBF = 4.4482216152605  # N
MPH = 0.44704  # m/s


def test_at_least_four_models_ship_including_the_required_ones() -> None:
    names = list_models()
    assert set(REQUIRED) <= set(names)
    assert len(names) >= 4


@pytest.mark.parametrize("name", list_models())
def test_every_model_loads_and_cites_its_sources(name: str) -> None:
    m = load_model(name)
    assert m.name == name
    for key in ("mass_kg", "motor_peak_kw", "battery", "ac_max_kw", "dc_curve", "motor_eff_points"):
        assert m.sources.get(key), f"{name}: no source for {key}"
    assert m.sources.get("cd") or m.sources.get("road_load")


@pytest.mark.parametrize("name", list_models())
def test_every_model_has_a_plausible_steady_100_kmh_consumption(name: str) -> None:
    m = load_model(name)
    t = np.arange(0.0, 361.0)
    r = drive_cycle_energy(m, t, np.full(t.size, 100 / 3.6))
    assert 100.0 < r.wh_per_km < 200.0, r.wh_per_km  # real cars: ~120–180 Wh/km


def _epa_row(make: str, model: str) -> tuple[float, float, float, float]:
    """(test weight kg, A N, B N/(m/s), C N/(m/s)²) from the EPA 2022 test car list."""
    if not EPA_CSV.is_file():
        pytest.skip(f"EPA test car list not found at {EPA_CSV}")
    with EPA_CSV.open(newline="") as fh:
        for row in csv.DictReader(fh):
            if (row["Represented Test Veh Make"].lower(), row["Represented Test Veh Model"]) == (
                make,
                model,
            ):
                return (
                    float(row["Equivalent Test Weight (lbs.)"]) * 0.45359237,
                    float(row["Target Coef A (lbf)"]) * LBF,
                    float(row["Target Coef B (lbf/mph)"]) * LBF / MPH,
                    float(row["Target Coef C (lbf/mph**2)"]) * LBF / MPH**2,
                )
    raise AssertionError(f"{make} {model} not in {EPA_CSV}")


def test_bolt_road_load_agrees_with_the_epa_coast_down() -> None:
    # Volta models the Bolt from cd/area/crr; the EPA coast-down force also holds driveline and
    # brake drag (which Volta puts into gear efficiency), so it is expected slightly higher.
    _, a_n, b_n, c_n = _epa_row("chevrolet", "BOLT EV")
    a_v, b_v, c_v = load_model("chevrolet_bolt_ev_2020").road_load()
    for kmh in (30.0, 50.0, 80.0, 110.0):
        v = kmh / 3.6
        epa, volta = a_n + b_n * v + c_n * v * v, a_v + b_v * v + c_v * v * v
        assert 0.85 < volta / epa <= 1.0, (kmh, volta, epa)


def test_kona_uses_the_epa_coefficients_as_published() -> None:
    mass, a_n, b_n, c_n = _epa_row("hyundai", "Kona Electric")
    m = load_model("hyundai_kona_electric_2021")
    assert m.road_load() == pytest.approx((a_n, b_n, c_n), rel=1e-3)
    assert m.mass_kg == pytest.approx(mass, rel=1e-3)


def test_unknown_model_error_lists_the_available_ones() -> None:
    with pytest.raises(ModelError) as err:
        load_model("delorean_dmc12")
    assert "delorean_dmc12" in str(err.value)
    for name in REQUIRED:
        assert name in str(err.value)
    # a model problem is a configuration problem of Volta's, not an HTTP request's
    assert isinstance(err.value, ConfigError) and not isinstance(err.value, BadRequest)


def test_a_user_model_file_loads_by_path(tmp_path: Path) -> None:
    text = (MODELS_DIR / "renault_zoe_ze50_2022.toml").read_text()
    path = tmp_path / "my_zoe.toml"
    path.write_text(text.replace('name = "renault_zoe_ze50_2022"', 'name = "my_zoe"'))
    m = load_model(str(path))
    assert m == dataclasses.replace(load_model("renault_zoe_ze50_2022"), name="my_zoe")


def test_a_minimal_model_file_takes_defaults(tmp_path: Path) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(
        'name = "tiny"\ndisplay_name = "Tiny"\n'
        "[body]\nmass_kg = 1000.0\ncd = 0.3\nfrontal_area_m2 = 2.0\ncrr = 0.01\n"
    )
    m = load_model(str(path))
    assert (m.mass_kg, m.cd) == (1000.0, 0.3)
    assert m.usable_kwh_new > 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("mass_kg = 1000.0\ncd = 0.3\nfrontal_area_m2 = 2.0\ncrr = 0.01\nwings = 2", "wings"),
        ("mass_kg = 1000.0\ncd = 0.3\ncrr = 0.01", "frontal_area_m2"),
        ("mass_kg = -5.0\ncd = 0.3\nfrontal_area_m2 = 2.0\ncrr = 0.01", "mass_kg must be > 0"),
        ("mass_kg = 'heavy'\ncd = 0.3\nfrontal_area_m2 = 2.0\ncrr = 0.01", "bad parameter"),
        (
            "mass_kg = 1e3\ncd = 0.3\nfrontal_area_m2 = 2.0\ncrr = 0.01\ngear_efficiency = 1.5",
            "gear_efficiency",
        ),
        (
            "mass_kg = 1e3\ncd = 0.3\nfrontal_area_m2 = 2.0\ncrr = 0.01\n"
            "dc_curve = [[80.0, 10.0], [10.0, 50.0]]",
            "sorted",
        ),
    ],
)
def test_a_bad_model_file_says_what_is_wrong(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(f'name = "bad"\ndisplay_name = "Bad"\n[body]\n{body}\n')
    with pytest.raises(ModelError, match=message):
        load_model(str(path))


def test_a_missing_model_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        load_model(str(tmp_path / "nope.toml"))
