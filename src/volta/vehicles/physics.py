"""EV physics: pure functions over arrays of N vehicles (shape (N,)), one model per call.

No clock, no I/O. Units are SI (W, J, m/s, s) unless a name says kW/kWh/%.
Sign conventions: wheel power > 0 is traction; battery terminal power > 0 is discharge.
Grade is rise over run (0.05 = 5 %). Equations and sources: docs/simulator-physics.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

from volta.vehicles.model import G, VehicleModel

__all__ = [
    "BatteryPack",
    "CycleResult",
    "G",
    "battery_power_w",
    "capacity_fade",
    "charge_power_kw",
    "drive_cycle_energy",
    "hvac_power_w",
    "internal_loss_w",
    "max_accel_mps2",
    "motor_efficiency",
    "ocv_v",
    "regen_speed_factor",
    "vampire_power_w",
    "wheel_power_w",
]

FloatArray = NDArray[np.float64]

_GAS_CONSTANT = 8.314  # J/(mol K)
_T_REF_K = 298.15  # ageing reference temperature, 25 °C
_DAYS_PER_YEAR = 365.25


def _f(x: ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


@lru_cache(maxsize=256)
def _table(points: tuple[tuple[float, float], ...]) -> tuple[FloatArray, FloatArray]:
    # a model's (x, y) points as two arrays for np.interp, built once per table
    xs = np.array([p[0] for p in points], dtype=np.float64)
    ys = np.array([p[1] for p in points], dtype=np.float64)
    xs.flags.writeable = ys.flags.writeable = False  # shared between calls
    return xs, ys


def wheel_power_w(
    m: VehicleModel, speed_mps: ArrayLike, accel_mps2: ArrayLike, grade: ArrayLike
) -> FloatArray:
    """Power at the wheels to follow (speed, accel) on a grade; > 0 traction, < 0 braking.

    F = m·f_rot·a + (A·cosθ + B·v + C·v²) + m·g·sinθ, P = F·v.
    """
    v = np.maximum(_f(speed_mps), 0.0)
    theta = np.arctan(_f(grade))
    a_n, b_n, c_n = m.road_load()
    resist = a_n * np.cos(theta) + b_n * v + c_n * v * v
    force = m.mass_kg * m.rotating_mass_factor * _f(accel_mps2) + resist
    force = force + m.mass_kg * G * np.sin(theta)
    return np.asarray(force * v, dtype=np.float64)


def max_accel_mps2(m: VehicleModel, speed_mps: ArrayLike, grade: ArrayLike) -> FloatArray:
    """Highest acceleration the motor's peak power allows at a speed and grade (for profiles).

    Below ~2 m/s the power limit would allow absurd values, so the torque-limited launch is
    approximated by evaluating at 2 m/s; callers cap it further for comfort or grip.
    """
    v = np.maximum(_f(speed_mps), 2.0)
    theta = np.arctan(_f(grade))
    a_n, b_n, c_n = m.road_load()
    resist = a_n * np.cos(theta) + b_n * v + c_n * v * v + m.mass_kg * G * np.sin(theta)
    force = m.motor_peak_kw * 1000.0 * m.gear_efficiency / v - resist
    return np.asarray(force / (m.mass_kg * m.rotating_mass_factor), dtype=np.float64)


def motor_efficiency(m: VehicleModel, power_fraction: ArrayLike) -> FloatArray:
    """Motor + inverter efficiency at |power| / peak power (linear between the model's points)."""
    xs, ys = _table(m.motor_eff_points)
    return np.asarray(np.interp(np.abs(_f(power_fraction)), xs, ys), dtype=np.float64)


def regen_speed_factor(m: VehicleModel, speed_mps: ArrayLike) -> FloatArray:
    """Share of braking power the motor may take: 0 below the min speed, ramping up to full."""
    v = _f(speed_mps)
    span = max(m.regen_full_speed_mps - m.regen_min_speed_mps, 1e-9)
    return np.clip((v - m.regen_min_speed_mps) / span, 0.0, 1.0) * m.regen_fraction


def battery_power_w(
    m: VehicleModel,
    wheel_power_w: ArrayLike,
    speed_mps: ArrayLike,
    aux_w: ArrayLike,
    soc_pct: ArrayLike | None = None,
) -> FloatArray:
    """Power at the battery terminals (> 0 discharge) for a wheel power, plus auxiliaries.

    Traction is capped at the motor's peak; regen is faded out at low speed and capped at the
    model's regen limit, the friction brakes take the rest. Given the SoC, the regen limit also
    falls linearly from 90 % to 100 % SoC, where a full pack accepts no charge.
    """
    p_wheel = _f(wheel_power_w)
    peak_w = m.motor_peak_kw * 1000.0
    motor_out = np.minimum(p_wheel / m.gear_efficiency, peak_w)
    drive = motor_out / motor_efficiency(m, motor_out / peak_w)
    brake_at_motor = p_wheel * m.gear_efficiency * regen_speed_factor(m, speed_mps)
    regen = brake_at_motor * motor_efficiency(m, brake_at_motor / peak_w)
    regen_cap: FloatArray | float = m.regen_max_kw * 1000.0
    if soc_pct is not None:
        regen_cap = regen_cap * np.clip((100.0 - _f(soc_pct)) / 10.0, 0.0, 1.0)
    regen = np.maximum(regen, -regen_cap)
    return np.where(p_wheel > 0.0, drive, regen) + _f(aux_w)


def hvac_power_w(m: VehicleModel, ambient_c: ArrayLike, active: ArrayLike) -> FloatArray:
    """Electrical HVAC power: heating/cooling proportional to the distance to the setpoint.

    Outside a dead band around the setpoint the load grows linearly with the temperature gap
    (the cabin's heat loss is roughly UA·ΔT), capped at the system's maximum.
    """
    gap = m.hvac_setpoint_c - _f(ambient_c)
    heat = np.maximum(gap - m.hvac_deadband_k, 0.0) * m.hvac_heat_w_per_k
    cool = np.maximum(-gap - m.hvac_deadband_k, 0.0) * m.hvac_cool_w_per_k
    power = np.minimum(m.hvac_base_w + heat + cool, m.hvac_max_w)
    # inside the dead band the compressor/heater idles; the blower is part of aux_w then
    working = np.asarray(active, dtype=bool) & (heat + cool > 0.0)
    return np.where(working, power, 0.0)


def charge_power_kw(
    m: VehicleModel, soc_pct: ArrayLike, dc: ArrayLike, charger_kw: ArrayLike, soh: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """(power into the battery, power from the grid) in kW while plugged in.

    AC: the lower of the on-board charger and the station, less on-board charger losses.
    DC: the model's (SoC, kW) curve, scaled by SoH (an aged pack accepts the same C-rate of a
    smaller capacity), capped by the station; the station's conversion losses come on top.
    """
    soc = _f(soc_pct)
    station = np.maximum(_f(charger_kw), 0.0)
    full = soc >= m.charge_limit_max_soc
    ac_grid = np.minimum(station, m.ac_max_kw)
    ac_batt = ac_grid * m.ac_efficiency
    xs, ys = _table(m.dc_curve)
    dc_batt = np.minimum(np.interp(soc, xs, ys) * _f(soh), station)
    dc_grid = dc_batt / m.dc_efficiency
    is_dc = np.asarray(dc, dtype=bool)
    into = np.where(full, 0.0, np.where(is_dc, dc_batt, ac_batt))
    grid = np.where(full, 0.0, np.where(is_dc, dc_grid, ac_grid))
    return into, grid


def ocv_v(m: VehicleModel, soc_pct: ArrayLike) -> FloatArray:
    """Open-circuit voltage of the pack at a state of charge."""
    soc = _f(soc_pct)
    if m.ocv_points:
        xs, ys = _table(m.ocv_points)
        return np.asarray(np.interp(soc, xs, ys), dtype=np.float64)
    # NMC packs swing roughly ±8 % around nominal over the usable window
    return m.nominal_v * (0.92 + 0.16 * np.clip(soc, 0.0, 100.0) / 100.0)


def _current_a(m: VehicleModel, terminal_power_w: ArrayLike, soc_pct: ArrayLike) -> FloatArray:
    # P_t = V·I − I²R  →  I = (V − sqrt(V² − 4RP_t)) / 2R ; past the max-power point, clip
    v = ocv_v(m, soc_pct)
    r = m.internal_resistance_ohm
    p = _f(terminal_power_w)
    if r <= 0.0:
        return p / v
    disc = np.maximum(v * v - 4.0 * r * p, 0.0)
    return (v - np.sqrt(disc)) / (2.0 * r)


def internal_loss_w(m: VehicleModel, terminal_power_w: ArrayLike, soc_pct: ArrayLike) -> FloatArray:
    """Joule loss I²R inside the pack when delivering (or taking) a terminal power."""
    i = _current_a(m, terminal_power_w, soc_pct)
    return i * i * m.internal_resistance_ohm


def vampire_power_w(m: VehicleModel, asleep: ArrayLike) -> FloatArray:
    """Parked drain from the battery: modules awake (telematics, BMS, climate watch) or asleep."""
    return np.where(np.asarray(asleep, dtype=bool), m.vampire_w_asleep, m.vampire_w_awake)


def capacity_fade(
    m: VehicleModel,
    age_days: ArrayLike,
    full_cycles: ArrayLike,
    mean_temp_c: ArrayLike,
    ageing: ArrayLike = 1.0,
) -> FloatArray:
    """True state of health (fraction of new usable capacity) after calendar and cycle ageing.

    SoH = 1 − k_cal·exp(−Ea/R·(1/T − 1/298 K))·(t/1 yr)^z − k_cyc·FEC, floored at min_soh.
    Calendar ageing ∝ t^0.75 with Arrhenius temperature dependence (Schmalstieg et al., J. Power
    Sources 257, 2014); cycle ageing linear in full equivalent cycles. Default constants give
    ~2 %/year at 25 °C and 250 cycles/year, the fleet average reported by Geotab (2020, 6,300 EVs).
    `ageing` multiplies both terms: a pack that ages faster than its model's norm (a weak cell
    batch, a pack abused), for after-sales tests; 1 is the norm.
    """
    t_k = _f(mean_temp_c) + 273.15
    arrhenius = np.exp(
        -m.calendar_activation_j_per_mol / _GAS_CONSTANT * (1.0 / t_k - 1.0 / _T_REF_K)
    )
    years = np.maximum(_f(age_days), 0.0) / _DAYS_PER_YEAR
    calendar = m.calendar_fade_per_year * arrhenius * years**m.calendar_exponent
    cycle = m.cycle_fade_per_fec * np.maximum(_f(full_cycles), 0.0)
    fade = (calendar + cycle) * _f(ageing)
    return np.asarray(np.clip(1.0 - fade, m.min_soh, 1.0), dtype=np.float64)


@dataclass
class BatteryPack:
    """State of N packs of one model. `step` conserves energy exactly (losses included)."""

    model: VehicleModel
    soc_pct: FloatArray
    energy_kwh: FloatArray
    capacity_kwh: FloatArray
    soh: FloatArray
    throughput_kwh: FloatArray  # Σ|ΔE| stored energy moved in or out
    loss_kwh: FloatArray = field(default_factory=lambda: np.zeros(0))  # Σ I²R

    @classmethod
    def new(cls, m: VehicleModel, soc_pct: ArrayLike, soh: ArrayLike = 1.0) -> BatteryPack:
        """Packs at the given SoC (%) and state of health (fraction); shapes broadcast."""
        soc, health = np.broadcast_arrays(_f(soc_pct), _f(soh))
        capacity = m.usable_kwh_new * health
        return cls(
            model=m,
            soc_pct=soc.astype(np.float64),
            energy_kwh=capacity * soc / 100.0,
            capacity_kwh=capacity.astype(np.float64),
            soh=health.astype(np.float64),
            throughput_kwh=np.zeros(soc.shape),
            loss_kwh=np.zeros(soc.shape),
        )

    def full_cycles(self) -> FloatArray:
        """Full equivalent cycles so far (one cycle = one full discharge and one full charge)."""
        return self.throughput_kwh / (2.0 * self.model.usable_kwh_new)

    def set_soh(self, soh: ArrayLike) -> None:
        """Apply a new state of health: capacity shrinks, stored energy is kept (up to capacity)."""
        self.soh = np.broadcast_to(_f(soh), self.soh.shape).astype(np.float64)
        self.capacity_kwh = self.model.usable_kwh_new * self.soh
        self.energy_kwh = np.minimum(self.energy_kwh, self.capacity_kwh)
        self.soc_pct = 100.0 * self.energy_kwh / self.capacity_kwh

    def step(self, terminal_power_w: ArrayLike, dt_s: float) -> FloatArray:
        """Apply a terminal power (> 0 discharge) for dt_s; return the terminal power delivered.

        Stored energy changes by −(P_terminal + I²R)·dt. A pack hitting empty or full delivers
        (or takes) only what fits, and the returned power says so.
        """
        m = self.model
        p_t = np.broadcast_to(_f(terminal_power_w), self.energy_kwh.shape)
        v = ocv_v(m, self.soc_pct)
        i = _current_a(m, p_t, self.soc_pct)
        p_chem = v * i  # = P_t + I²R
        d_e = -p_chem * dt_s / 3.6e6
        new_e = np.clip(self.energy_kwh + d_e, 0.0, self.capacity_kwh)
        clipped = new_e != self.energy_kwh + d_e
        if np.any(clipped):
            p_chem = np.where(clipped, -(new_e - self.energy_kwh) * 3.6e6 / dt_s, p_chem)
            i = p_chem / v
        loss = i * i * m.internal_resistance_ohm
        self.loss_kwh = self.loss_kwh + loss * dt_s / 3.6e6
        self.throughput_kwh = self.throughput_kwh + np.abs(new_e - self.energy_kwh)
        self.energy_kwh = new_e
        self.soc_pct = 100.0 * new_e / self.capacity_kwh
        return p_chem - loss


@dataclass(frozen=True, slots=True)
class CycleResult:
    """One vehicle over one speed trace. Energies in J at the battery terminals."""

    energy_from_battery_j: float  # net: traction + auxiliaries − regen
    distance_m: float
    wh_per_km: float
    duration_s: float
    traction_j: float  # battery energy spent while driving the wheels
    regen_j: float  # battery energy recovered (≥ 0)
    aux_j: float  # auxiliaries and HVAC
    peak_power_kw: float
    motor_limited_s: float  # time the trace asked for more than the motor's peak


def drive_cycle_energy(
    m: VehicleModel,
    time_s: ArrayLike,
    speed_mps: ArrayLike,
    grade: ArrayLike | None = None,
    ambient_c: float = 20.0,
    hvac: bool = True,
) -> CycleResult:
    """Battery energy for one vehicle following a speed trace (samples at time_s).

    Each interval uses its mean speed and constant acceleration, so the inertia term is exactly
    the change of kinetic energy.
    """
    t = _f(time_s)
    v = _f(speed_mps)
    if t.ndim != 1 or t.shape != v.shape or t.size < 2:
        raise ValueError("time_s and speed_mps must be 1-D arrays of the same length (>= 2)")
    dt = np.diff(t)
    if np.any(dt <= 0.0):
        raise ValueError("time_s must be strictly increasing")
    v_mean = 0.5 * (v[1:] + v[:-1])
    accel = np.diff(v) / dt
    g = np.zeros_like(v_mean) if grade is None else np.broadcast_to(_f(grade), v.shape)[1:]
    p_wheel = wheel_power_w(m, v_mean, accel, g)
    aux = m.aux_w + hvac_power_w(m, np.full_like(v_mean, ambient_c), np.full(v_mean.shape, hvac))
    p_batt = battery_power_w(m, p_wheel, v_mean, aux)
    traction = p_batt - aux
    distance = float(np.sum(v_mean * dt))
    energy = float(np.sum(p_batt * dt))
    limited = p_wheel / m.gear_efficiency > m.motor_peak_kw * 1000.0
    return CycleResult(
        energy_from_battery_j=energy,
        distance_m=distance,
        wh_per_km=energy / 3600.0 / (distance / 1000.0) if distance > 0 else float("nan"),
        duration_s=float(t[-1] - t[0]),
        traction_j=float(np.sum(np.maximum(traction, 0.0) * dt)),
        regen_j=float(np.sum(np.maximum(-traction, 0.0) * dt)),
        aux_j=float(np.sum(aux * dt)),
        peak_power_kw=float(np.max(p_batt) / 1000.0),
        motor_limited_s=float(np.sum(dt[limited])),
    )
