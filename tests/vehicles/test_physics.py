"""Physics against hand-computed cases. The test car has round numbers so that each expected
value can be checked with a pocket calculator."""

from __future__ import annotations

import math

import numpy as np
import pytest

from volta.vehicles.model import VehicleModel, list_models, load_model
from volta.vehicles.physics import (
    BatteryPack,
    G,
    battery_power_w,
    capacity_fade,
    charge_power_kw,
    drive_cycle_energy,
    hvac_power_w,
    internal_loss_w,
    max_accel_mps2,
    vampire_power_w,
    wheel_power_w,
)

# 1500 kg, Cd·A = 0.6 m², crr 0.01, no rotating mass, flat 90 % motor, lossless gears
CAR = VehicleModel(
    name="test",
    display_name="hand-computed test car",
    mass_kg=1500.0,
    cd=0.3,
    frontal_area_m2=2.0,
    crr=0.01,
    rotating_mass_factor=1.0,
    motor_peak_kw=100.0,
    gear_efficiency=1.0,
    motor_eff_points=((0.0, 0.9), (1.0, 0.9)),
    regen_max_kw=50.0,
    regen_min_speed_mps=1.0,
    regen_full_speed_mps=3.0,
    aux_w=0.0,
    usable_kwh_new=50.0,
    nominal_v=350.0,
    internal_resistance_ohm=0.1,
    ocv_points=((0.0, 350.0), (100.0, 350.0)),
    ac_max_kw=11.0,
    ac_efficiency=0.9,
    dc_peak_kw=100.0,
    dc_curve=((0.0, 80.0), (10.0, 100.0), (50.0, 100.0), (80.0, 40.0), (100.0, 5.0)),
    dc_efficiency=0.95,
)
ROLL_N = 0.01 * 1500.0 * G  # 147.09975 N
AERO_C = 0.5 * 1.2 * 0.3 * 2.0  # 0.36 N/(m/s)²


def a(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def test_constant_speed_on_flat_road_needs_aero_plus_rolling_power() -> None:
    # 20 m/s: (147.09975 N + 0.36·400 N) · 20 m/s = 5821.995 W
    p = wheel_power_w(CAR, a(20.0), a(0.0), a(0.0))
    assert p[0] == pytest.approx(5821.995, rel=1e-9)
    assert battery_power_w(CAR, p, a(20.0), a(0.0))[0] == pytest.approx(5821.995 / 0.9)


def test_hill_climb_adds_m_g_sin_theta_v() -> None:
    theta = math.atan(0.10)  # a 10 % grade
    p_hill = wheel_power_w(CAR, a(10.0), a(0.0), a(0.10))[0]
    expected = (ROLL_N * math.cos(theta) + AERO_C * 100.0 + 1500.0 * G * math.sin(theta)) * 10.0
    assert p_hill == pytest.approx(expected, rel=1e-9)
    assert 1500.0 * G * math.sin(theta) * 10.0 == pytest.approx(14637.0, abs=0.1)


def test_downhill_at_steady_speed_regenerates() -> None:
    p = wheel_power_w(CAR, a(15.0), a(0.0), a(-0.08))
    assert p[0] < 0
    assert battery_power_w(CAR, p, a(15.0), a(0.0))[0] == pytest.approx(p[0] * 0.9)


def test_inertia_term_is_mass_times_accel_times_speed() -> None:
    p_accel = wheel_power_w(CAR, a(10.0), a(1.5), a(0.0)) - wheel_power_w(
        CAR, a(10.0), a(0.0), a(0.0)
    )
    assert p_accel[0] == pytest.approx(1500.0 * 1.5 * 10.0)


def test_coast_down_time_matches_the_analytic_solution() -> None:
    # with the wheels free: m dv/dt = −(A + C v²)  ⇒  t = m/√(AC) · [atan(v√(C/A))] from v1 to v0
    v0, v1 = 30.0, 15.0
    k = math.sqrt(AERO_C / ROLL_N)
    t_exact = 1500.0 / math.sqrt(ROLL_N * AERO_C) * (math.atan(v0 * k) - math.atan(v1 * k))

    def decel(s: float) -> float:  # zero wheel power ⇒ a = −P(v, 0)/(m v)
        return -float(wheel_power_w(CAR, a(s), a(0.0), a(0.0))[0]) / (1500.0 * s)

    v, t, dt = v0, 0.0, 0.01
    while v > v1:
        k1 = decel(v)
        k2 = decel(v + 0.5 * dt * k1)
        v += dt * k2
        t += dt
    assert t == pytest.approx(t_exact, rel=2e-3)
    assert t == pytest.approx(70.0, abs=0.3)  # 1500/√(147.1·0.36)·(0.978 − 0.638)


def test_regen_is_clipped_at_the_model_limit() -> None:
    # 20 m/s braking at 5 m/s²: about −150 kW at the wheels, far above the 50 kW regen limit
    p = wheel_power_w(CAR, a(20.0), a(-5.0), a(0.0))
    assert p[0] < -100_000
    assert battery_power_w(CAR, p, a(20.0), a(0.0))[0] == pytest.approx(-50_000.0)
    # mild braking stays below the limit: −10 kW at the wheels → −9 kW into the battery
    assert battery_power_w(CAR, a(-10_000.0), a(20.0), a(0.0))[0] == pytest.approx(-9_000.0)


def test_a_full_pack_takes_no_regen() -> None:
    soc = a(50.0, 95.0, 100.0)
    p = battery_power_w(CAR, a(-100_000.0, -100_000.0, -100_000.0), a(20.0, 20.0, 20.0), 0.0, soc)
    assert p.tolist() == pytest.approx([-50_000.0, -25_000.0, 0.0])


def test_regen_fades_out_at_low_speed() -> None:
    p = battery_power_w(CAR, a(-10_000.0, -10_000.0, -10_000.0), a(0.5, 2.0, 3.0), a(300.0) * 1)
    assert p[0] == pytest.approx(300.0)  # below 1 m/s: friction brakes only, aux still drawn
    assert p[1] == pytest.approx(300.0 - 0.5 * 9_000.0)  # halfway along the 1–3 m/s ramp
    assert p[2] == pytest.approx(300.0 - 9_000.0)


def test_traction_is_capped_at_the_motor_peak() -> None:
    p = battery_power_w(CAR, a(250_000.0), a(30.0), a(0.0))
    assert p[0] == pytest.approx(100_000.0 / 0.9)


def test_functions_are_vectorised_over_vehicles() -> None:
    speeds, accels, grades = a(0.0, 5.0, 20.0, 33.0), a(0.5, -1.0, 0.0, 0.2), a(0.0, 0.02, -0.01, 0)
    together = wheel_power_w(CAR, speeds, accels, grades)
    one_by_one = [
        wheel_power_w(CAR, speeds[i : i + 1], accels[i : i + 1], grades[i : i + 1])[0]
        for i in range(4)
    ]
    assert together.shape == (4,)
    assert together.tolist() == pytest.approx(one_by_one)


@pytest.mark.parametrize("name", list_models())
def test_more_wheel_power_never_costs_less_battery_power(name: str) -> None:
    m = load_model(name)
    wheel = np.linspace(-150_000.0, 250_000.0, 4001)
    for speed in (0.5, 5.0, 15.0, 35.0):
        p = battery_power_w(m, wheel, np.full(wheel.size, speed), 0.0)
        assert np.all(np.diff(p) >= -1e-9), (name, speed)
        out = (wheel > 0) & (wheel < m.motor_peak_kw * 1000.0 * m.gear_efficiency)
        assert np.all(p[out] > wheel[out])  # losses on the way out
        assert np.all(p[wheel < 0] >= wheel[wheel < 0])  # and on the way back


def test_max_accel_is_power_limited_at_speed() -> None:
    acc = max_accel_mps2(CAR, a(2.0, 30.0), a(0.0, 0.0))
    assert acc[0] > acc[1] > 0
    expected_30 = (100_000.0 / 30.0 - ROLL_N - AERO_C * 900.0) / 1500.0
    assert acc[1] == pytest.approx(expected_30)


def test_hvac_is_off_in_the_dead_band_and_grows_with_the_gap() -> None:
    m = load_model("chevrolet_bolt_ev_2020")
    on = np.ones(5, dtype=bool)
    p = hvac_power_w(m, a(21.0, 19.0, 5.0, -30.0, 35.0), on)
    assert p[0] == 0.0 and p[1] == 0.0
    assert p[2] == pytest.approx(m.hvac_base_w + (21.0 - 5.0 - 3.0) * m.hvac_heat_w_per_k)
    assert p[3] == m.hvac_max_w
    assert p[4] == pytest.approx(m.hvac_base_w + (35.0 - 21.0 - 3.0) * m.hvac_cool_w_per_k)
    assert hvac_power_w(m, a(-10.0), np.zeros(1, dtype=bool))[0] == 0.0


def test_ac_charging_is_flat_at_the_onboard_charger_limit() -> None:
    soc = np.linspace(5.0, 95.0, 19)
    ac = np.zeros(19, dtype=bool)
    into, grid = charge_power_kw(CAR, soc, ac, np.full(19, 22.0), np.ones(19))
    assert grid.tolist() == pytest.approx([11.0] * 19)
    assert into.tolist() == pytest.approx([11.0 * 0.9] * 19)
    # a weaker wallbox limits instead
    _, grid = charge_power_kw(CAR, soc, ac, np.full(19, 3.7), np.ones(19))
    assert grid.tolist() == pytest.approx([3.7] * 19)


@pytest.mark.parametrize("name", list_models())
def test_dc_charging_tapers_after_its_peak(name: str) -> None:
    m = load_model(name)
    soc = np.linspace(0.0, 99.0, 100)
    n = soc.size
    into, grid = charge_power_kw(m, soc, np.ones(n, dtype=bool), np.full(n, 350.0), np.ones(n))
    peak = int(np.argmax(into))
    assert into[peak] == pytest.approx(m.dc_peak_kw)
    assert np.all(np.diff(into[peak:]) <= 1e-12), "DC power must not rise again after the peak"
    taper_start = soc[np.nonzero(into >= 0.95 * m.dc_peak_kw)[0][-1]]
    assert 10.0 <= taper_start <= 80.0
    assert into[95] < 0.5 * m.dc_peak_kw
    assert np.all(grid > into)  # the station's losses come from the grid


def test_dc_charging_is_capped_by_the_station_and_scaled_by_soh() -> None:
    ones = np.ones(2, dtype=bool)
    into, grid = charge_power_kw(CAR, a(30.0, 30.0), ones, a(50.0, 350.0), a(1.0, 0.8))
    assert into.tolist() == pytest.approx([50.0, 80.0])
    assert grid.tolist() == pytest.approx([50.0 / 0.95, 80.0 / 0.95])
    into, _ = charge_power_kw(CAR, a(100.0), ones[:1], a(350.0), a(1.0))
    assert into[0] == 0.0


def test_internal_loss_is_i_squared_r() -> None:
    # P = V·I − I²R with V = 350 V, R = 0.1 Ω, P = 50 kW → I = 149.22 A, loss = 2226.7 W
    loss = internal_loss_w(CAR, a(50_000.0, -50_000.0, 0.0), a(50.0, 50.0, 50.0))
    i = (350.0 - math.sqrt(350.0**2 - 4 * 0.1 * 50_000.0)) / 0.2
    assert loss[0] == pytest.approx(i * i * 0.1)
    assert loss[0] == pytest.approx(2226.7, abs=0.1)
    assert 0 < loss[1] < loss[0]  # charging at the same power needs less current
    assert loss[2] == 0.0


def test_battery_pack_conserves_energy() -> None:
    rng = np.random.default_rng(7)
    n, steps, dt = 64, 3600, 1.0
    pack = BatteryPack.new(CAR, soc_pct=np.full(n, 60.0))
    e0 = pack.energy_kwh.copy()
    delivered_j = np.zeros(n)
    for _ in range(steps):
        power = rng.normal(8_000.0, 25_000.0, n)  # drive and regen, some charging
        delivered_j += pack.step(power, dt) * dt
    stored_change_j = (pack.energy_kwh - e0) * 3.6e6
    losses_j = pack.loss_kwh * 3.6e6
    # exact bookkeeping: ΔE = −Σ(P_terminal + I²R)·dt; that sum is what ground truth integrates
    np.testing.assert_allclose(stored_change_j, -(delivered_j + losses_j), rtol=1e-9)
    assert np.all(losses_j > 0)
    assert np.all(losses_j < 0.1 * np.abs(stored_change_j))
    assert np.all(pack.soc_pct == pytest.approx(100.0 * pack.energy_kwh / pack.capacity_kwh))


def test_battery_pack_stops_at_empty_and_full() -> None:
    pack = BatteryPack.new(CAR, soc_pct=a(0.5, 99.9))
    delivered = pack.step(a(50_000.0, -50_000.0), 60.0)
    assert pack.energy_kwh[0] == 0.0 and pack.soc_pct[1] == pytest.approx(100.0)
    assert 0 < delivered[0] < 50_000.0
    assert -50_000.0 < delivered[1] < 0


def test_soh_shrinks_capacity_and_counts_cycles() -> None:
    pack = BatteryPack.new(CAR, soc_pct=a(100.0), soh=a(1.0))
    for _ in range(100):
        pack.step(a(30_000.0), 30.0)  # 25 kWh at the terminals, a little more from storage
    moved = 50.0 - pack.energy_kwh[0]
    assert 25.0 < moved < 26.0
    assert pack.full_cycles()[0] == pytest.approx(moved / 100.0)
    pack.set_soh(a(0.9))
    assert pack.capacity_kwh[0] == pytest.approx(45.0)


def test_capacity_fade_is_monotone_and_plausible() -> None:
    m = load_model("chevrolet_bolt_ev_2020")
    days = np.arange(0.0, 8 * 365.0 + 1.0, 30.0)
    soh = capacity_fade(m, days, days / 365.0 * 250.0, np.full(days.size, 25.0))
    assert soh[0] == 1.0
    assert np.all(np.diff(soh) < 0)
    one_year = capacity_fade(m, a(365.25), a(250.0), a(25.0))[0]
    assert 0.97 <= one_year <= 0.98  # 2–3 % in the first year
    eight_years = capacity_fade(m, a(8 * 365.25), a(2000.0), a(25.0))[0]
    assert 0.82 <= eight_years <= 0.92
    hot, cold = capacity_fade(m, a(365.25, 365.25), a(250.0, 250.0), a(35.0, 10.0))
    assert hot < one_year < cold


def test_vampire_drain_is_lower_asleep() -> None:
    m = load_model("renault_zoe_ze50_2022")
    p = vampire_power_w(m, np.array([True, False]))
    assert p.tolist() == [m.vampire_w_asleep, m.vampire_w_awake]
    assert p[0] < p[1]


def test_drive_cycle_at_constant_speed_is_road_load_over_efficiency() -> None:
    t = np.arange(0.0, 1001.0)
    r = drive_cycle_energy(CAR, t, np.full(t.size, 20.0))
    assert r.distance_m == pytest.approx(20_000.0)
    assert r.energy_from_battery_j == pytest.approx(5821.995 / 0.9 * 1000.0)
    assert r.wh_per_km == pytest.approx(5821.995 / 0.9 * 1000.0 / 3600.0 / 20.0)
    assert r.regen_j == 0.0


def test_drive_cycle_round_trip_over_a_hill_costs_more_than_flat() -> None:
    t = np.arange(0.0, 601.0)
    v = np.full(t.size, 15.0)
    grade = np.where(t < 300, 0.05, -0.05)
    hilly = drive_cycle_energy(CAR, t, v, grade)
    flat = drive_cycle_energy(CAR, t, v)
    assert hilly.regen_j > 0
    assert hilly.energy_from_battery_j > flat.energy_from_battery_j


def test_drive_cycle_rejects_a_bad_trace() -> None:
    with pytest.raises(ValueError, match="increasing"):
        drive_cycle_energy(CAR, a(0.0, 1.0, 1.0), a(0.0, 1.0, 2.0))
