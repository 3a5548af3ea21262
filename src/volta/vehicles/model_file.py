"""Writing a `VehicleModel` as a TOML model file, in the layout of the shipped ones."""

from __future__ import annotations

import json
from dataclasses import fields

from volta.vehicles.model import VehicleModel

__all__ = ["model_toml"]

# Section of each parameter in the written file; the loader flattens sections again.
_SECTIONS: dict[str, tuple[str, ...]] = {
    "body": (
        "mass_kg",
        "cd",
        "frontal_area_m2",
        "crr",
        "rotating_mass_factor",
        "road_load_a_n",
        "road_load_b_n_per_mps",
        "road_load_c_n_per_mps2",
    ),
    "drivetrain": (
        "motor_peak_kw",
        "gear_efficiency",
        "motor_eff_points",
        "regen_max_kw",
        "regen_min_speed_mps",
        "regen_full_speed_mps",
        "regen_fraction",
    ),
    "auxiliaries": (
        "aux_w",
        "hvac_setpoint_c",
        "hvac_deadband_k",
        "hvac_heat_w_per_k",
        "hvac_cool_w_per_k",
        "hvac_base_w",
        "hvac_max_w",
    ),
    "battery": ("usable_kwh_new", "nominal_v", "internal_resistance_ohm", "ocv_points"),
    "charging": (
        "ac_max_kw",
        "ac_efficiency",
        "dc_peak_kw",
        "dc_curve",
        "dc_efficiency",
        "charge_limit_max_soc",
    ),
    "parked": ("vampire_w_awake", "vampire_w_asleep"),
    "ageing": (
        "calendar_fade_per_year",
        "calendar_exponent",
        "calendar_activation_j_per_mol",
        "cycle_fade_per_fec",
        "min_soh",
    ),
}


def _value(v: object) -> str:
    if isinstance(v, tuple):
        return "[" + ", ".join(f"[{a!r}, {b!r}]" for a, b in v) + "]"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    return repr(v)


def model_toml(model: VehicleModel, comment: str = "") -> str:
    """The model as TOML text that `load_model` reads back to an equal model."""
    lines = [f"# {c}" for c in comment.splitlines()]
    lines += [f"name = {_value(model.name)}", f"display_name = {_value(model.display_name)}"]
    written = {"name", "display_name", "sources"}
    for section, names in _SECTIONS.items():
        present = [n for n in names if getattr(model, n) is not None and n != "ocv_points"]
        if model.ocv_points and "ocv_points" in names:
            present.append("ocv_points")
        lines += ["", f"[{section}]"]
        lines += [f"{n} = {_value(getattr(model, n))}" for n in present]
        written.update(names)
    missing = {f.name for f in fields(VehicleModel)} - written
    if missing:  # a field added to VehicleModel must be given a section here
        raise RuntimeError(f"model_toml does not know the section of {sorted(missing)}")
    if model.sources:
        lines += ["", "[sources]"]
        lines += [f"{k} = {_value(v)}" for k, v in model.sources.items()]
    return "\n".join(lines) + "\n"
