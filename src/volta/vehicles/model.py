"""Vehicle models: typed parameters loaded from TOML data files (one file per model, in
`volta/vehicles/models/`)."""

from __future__ import annotations

import os
import tomllib
from dataclasses import MISSING, dataclass, field, fields
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from volta.errors import ConfigError

__all__ = ["AIR_DENSITY_KG_M3", "G", "ModelError", "VehicleModel", "list_models", "load_model"]

_MODELS_PACKAGE = "volta.vehicles.models"
G = 9.80665  # m/s², standard gravity
AIR_DENSITY_KG_M3 = 1.2  # dry air near 20 °C at sea level, as in the EPA/SAE coast-down reference


class ModelError(ConfigError):
    """A vehicle model is unknown or its file is invalid; the message says which and why."""


@dataclass(frozen=True, slots=True)
class VehicleModel:
    """Parameters of one EV model. SI units unless the field name says otherwise."""

    name: str
    display_name: str
    # -- body and road load
    mass_kg: float  # as driven: kerb mass + 75 kg driver (EPA test weight with EPA coefficients)
    cd: float
    frontal_area_m2: float
    crr: float
    rotating_mass_factor: float = 1.03  # wheels, motor rotor, gears as extra inertia
    # EPA coast-down target coefficients (F = A + B v + C v², N, N/(m/s), N/(m/s)²). When set,
    # they replace the cd/crr road load: they are measured on the real car, drivetrain drag
    # included.
    road_load_a_n: float | None = None
    road_load_b_n_per_mps: float | None = None
    road_load_c_n_per_mps2: float | None = None
    # -- motor, inverter and gears
    motor_peak_kw: float = 100.0
    gear_efficiency: float = 0.97
    # motor+inverter efficiency vs fraction of peak power, linear between points
    motor_eff_points: tuple[tuple[float, float], ...] = (
        (0.0, 0.80),
        (0.05, 0.87),
        (0.1, 0.91),
        (0.2, 0.93),
        (0.4, 0.94),
        (1.0, 0.92),
    )
    regen_max_kw: float = 60.0
    regen_min_speed_mps: float = 1.5  # below: friction brakes only
    regen_full_speed_mps: float = 5.0  # above: full regen fraction
    regen_fraction: float = 1.0  # share of braking power the brake blending sends to the motor
    # -- auxiliaries and cabin climate
    aux_w: float = 300.0  # 12 V loads, pumps, electronics while driving
    hvac_setpoint_c: float = 21.0
    hvac_deadband_k: float = 3.0
    hvac_heat_w_per_k: float = 150.0
    hvac_cool_w_per_k: float = 100.0
    hvac_base_w: float = 150.0  # blower when HVAC works at all
    hvac_max_w: float = 6000.0
    # -- battery
    usable_kwh_new: float = 60.0
    nominal_v: float = 350.0
    internal_resistance_ohm: float = 0.1
    ocv_points: tuple[tuple[float, float], ...] = ()  # (soc %, open-circuit V); empty: ±8 %
    # -- charging
    ac_max_kw: float = 7.2
    ac_efficiency: float = 0.90  # grid to battery, on-board charger
    dc_peak_kw: float = 50.0
    dc_curve: tuple[tuple[float, float], ...] = ((0.0, 50.0), (100.0, 5.0))  # (soc %, kW)
    dc_efficiency: float = 0.95  # grid to battery, off-board charger + cabling
    charge_limit_max_soc: float = 100.0
    # -- parked
    vampire_w_awake: float = 250.0
    vampire_w_asleep: float = 10.0
    # -- ageing (see physics.capacity_fade)
    calendar_fade_per_year: float = 0.012  # fraction lost after one year at 25 °C
    calendar_exponent: float = 0.75  # t^z (Schmalstieg 2014)
    calendar_activation_j_per_mol: float = 58_000.0  # Arrhenius; 6976 K·R in Schmalstieg 2014
    cycle_fade_per_fec: float = 4.0e-5  # fraction lost per full equivalent cycle
    min_soh: float = 0.5
    sources: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def road_load(self) -> tuple[float, float, float]:
        """Resistive force coefficients (A N, B N/(m/s), C N/(m/s)²) on a flat road."""
        if self.road_load_a_n is not None:
            return (
                self.road_load_a_n,
                self.road_load_b_n_per_mps or 0.0,
                self.road_load_c_n_per_mps2 or 0.0,
            )
        aero = 0.5 * AIR_DENSITY_KG_M3 * self.cd * self.frontal_area_m2
        return (self.crr * self.mass_kg * G, 0.0, aero)


_TUPLE_FIELDS = {"motor_eff_points", "ocv_points", "dc_curve"}
_FLOAT_FIELDS = {f.name for f in fields(VehicleModel) if f.type in ("float", "float | None")}


def _from_mapping(data: dict[str, Any], origin: str) -> VehicleModel:
    known = {f.name for f in fields(VehicleModel)}
    flat: dict[str, Any] = {}
    for key, value in data.items():
        # sections other than [sources] only group parameters; their keys are the field names
        if isinstance(value, dict) and key != "sources":
            flat.update(value)
        else:
            flat[key] = value
    unknown = sorted(set(flat) - known)
    if unknown:
        raise ModelError(f"{origin}: unknown parameter(s) {', '.join(unknown)}")
    missing = sorted(
        f.name
        for f in fields(VehicleModel)
        if f.name not in flat and f.default is MISSING and f.default_factory is MISSING
    )
    if missing:
        raise ModelError(f"{origin}: missing required parameter(s) {', '.join(missing)}")
    try:
        for key in _TUPLE_FIELDS & set(flat):
            flat[key] = tuple((float(a), float(b)) for a, b in flat[key])
        for key in _FLOAT_FIELDS & set(flat):
            if flat[key] is not None:
                flat[key] = float(flat[key])
        if "sources" in flat:
            flat["sources"] = {str(k): str(v) for k, v in flat["sources"].items()}
        model = VehicleModel(**flat)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{origin}: bad parameter value: {exc}") from exc
    problems = _problems(model)
    if problems:
        raise ModelError(f"{origin}: {'; '.join(problems)}")
    return model


def _problems(m: VehicleModel) -> list[str]:
    out = [
        f"{name} must be > 0"
        for name in (
            "mass_kg",
            "cd",
            "frontal_area_m2",
            "motor_peak_kw",
            "usable_kwh_new",
            "nominal_v",
            "ac_max_kw",
            "dc_peak_kw",
        )
        if getattr(m, name) <= 0
    ]
    for name in ("gear_efficiency", "ac_efficiency", "dc_efficiency", "regen_fraction"):
        if not 0.0 < getattr(m, name) <= 1.0:
            out.append(f"{name} must be in (0, 1]")
    if not all(0.0 < eff <= 1.0 for _, eff in m.motor_eff_points) or not m.motor_eff_points:
        out.append("motor_eff_points efficiencies must be in (0, 1]")
    for name in ("motor_eff_points", "ocv_points", "dc_curve"):
        xs = [x for x, _ in getattr(m, name)]
        if xs != sorted(xs):
            out.append(f"{name} must be sorted by its first column")
    if not m.dc_curve:
        out.append("dc_curve needs at least one (soc %, kW) point")
    if m.regen_full_speed_mps < m.regen_min_speed_mps:
        out.append("regen_full_speed_mps must be >= regen_min_speed_mps")
    return out


def list_models() -> list[str]:
    """Names of the models shipped with Volta."""
    root = resources.files(_MODELS_PACKAGE)
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".toml"))


def load_model(name_or_path: str) -> VehicleModel:
    """Load a shipped model by name, or any model file by path (ends with .toml)."""
    if name_or_path.endswith(".toml") or "/" in name_or_path or os.sep in name_or_path:
        path = Path(name_or_path)
        if not path.is_file():
            raise ModelError(f"vehicle model file {name_or_path!r} not found")
        return _parse(path.read_text(encoding="utf-8"), str(path))
    return _load_shipped(name_or_path)


@lru_cache(maxsize=64)
def _load_shipped(name: str) -> VehicleModel:
    resource = resources.files(_MODELS_PACKAGE) / f"{name}.toml"
    if not resource.is_file():
        raise ModelError(
            f"unknown vehicle model {name!r}; available: {', '.join(list_models())}"
            " (or pass the path of a .toml model file)"
        )
    return _parse(resource.read_text(encoding="utf-8"), name)


def _parse(text: str, origin: str) -> VehicleModel:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ModelError(f"{origin}: not valid TOML: {exc}") from exc
    return _from_mapping(data, origin)
