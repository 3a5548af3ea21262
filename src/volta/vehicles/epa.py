"""Vehicle models from public test data: the US EPA Test Car List.

Each battery-EV row of the list gives a car's equivalent test weight, its coast-down road-load
coefficients A/B/C and the raw dynamometer result of one charge-depleting test (UDDS or
highway) as energy from the wall. `model_from_epa` turns a row into a `VehicleModel`; the
drivetrain (motor, gears, auxiliaries, charger) is not in the list, so it comes from one shared
`Drivetrain` that is the same for every car, applied to the car's published drivetrain technology
(`TechSpec`: number of motors, two-speed gearbox, SiC inverter; the table
`volta/data/epa/drivetrain_specs.csv`): nothing is fitted to a car's own dyno result.
`usable` says why a row cannot be compared (wrong procedure, label values, units).

Pure: reading the CSVs is `read_test_cars` / `read_drivetrain_specs`; the rest takes values.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from volta.vehicles.model import AIR_DENSITY_KG_M3, G, ModelError, VehicleModel

__all__ = [
    "KWH_PER_GALLON_EQUIVALENT",
    "SHARED_DRIVETRAIN",
    "Drivetrain",
    "EpaTest",
    "TechSpec",
    "maker",
    "maker_group",
    "measured_wall_wh_per_km",
    "model_from_epa",
    "read_drivetrain_specs",
    "read_test_cars",
    "tech_spec",
    "usable",
]

KWH_PER_GALLON_EQUIVALENT = 33.705  # EPA's MPGe definition
LBF_N = 4.4482216152605
MPH_MPS = 0.44704
LB_KG = 0.45359237
MILE_KM = 1.609344

# Procedures whose raw result is compared (the others are cold tests or have no value).
CYCLE_OF_PROCEDURE = {"Charge Depleting UDDS": "udds", "Charge Depleting Highway": "hwfet"}
# Rows that carry the fuel-economy label instead of the raw dyno result. The 2020-2022 Bolt EV
# label is 127-131 city / 108-109 highway MPGe; its raw UDDS result is ~1/0.7 of the label.
LABEL_VALUE_CARS = {("CHEVROLET", "BOLT EV")}
# No 2022 BEV reaches 60 MPGe (350 Wh/km) on UDDS or HWFET, but 15-40 kWh/100 mi is typical:
# smaller numbers in the MPG column are kWh/100 mi (e.g. every Hyundai, Kia and Rivian row).
MIN_PLAUSIBLE_MPGE = 60.0


@dataclass(frozen=True, slots=True)
class EpaTest:
    """One row of the EPA Test Car List (US units as published)."""

    line: int  # 1-based line in the CSV file
    make: str
    model: str
    test_weight_lb: float
    drive: str  # F front, R rear, A/4/P all-wheel
    procedure: str
    value: float | None  # the published result; see `measured_wall_wh_per_km` for its unit
    unit: str
    coef_a_lbf: float
    coef_b_lbf_per_mph: float
    coef_c_lbf_per_mph2: float

    @property
    def cycle(self) -> str | None:
        """ "udds" or "hwfet" for the two charge-depleting tests Volta compares, else None."""
        return CYCLE_OF_PROCEDURE.get(self.procedure)


@dataclass(frozen=True, slots=True)
class TechSpec:
    """A car line's published drivetrain technology (a row of drivetrain_specs.csv).

    None is unknown: the car then gets the shared default (`motor_count`, `two_speed`, `sic`).
    """

    maker: str
    model_prefix: str
    drive: str  # "" any drive code
    motors: int | None
    motor_types: str  # "F:PM R:IM"; recorded, not used by the model (see the CSV header)
    two_speed: bool | None
    sic_inverter: bool | None
    system_v: int | None
    source: str

    def matches(self, test: EpaTest) -> bool:
        """Whether this spec is for the row (maker, model prefix and drive code if given)."""
        return (
            maker(test) == self.maker
            and test.model.startswith(self.model_prefix)
            and (not self.drive or test.drive == self.drive)
        )


UNKNOWN_TECH = TechSpec("", "", "", None, "", None, None, None, "not in the spec table")


@dataclass(frozen=True, slots=True)
class Drivetrain:
    """What the EPA list does not give, the same for every car (sources in docs/planner.md).

    `regen_fraction`, `charge_efficiency` and the three technology values (`unit_idle_w`,
    `two_speed_idle_w`, `sic_loss_reduction`) are fitted across all makers at once
    (`volta.vehicles.epa_fit`; a test checks the fit still gives these values); the rest is
    fixed from the literature. The technology values apply through a car's `TechSpec`:
    - every traction motor beyond the first adds `unit_idle_w` of constant loss (its drive
      unit spinning: bearings, gear churning, magnet drag or inverter idling);
    - a two-speed gearbox adds `two_speed_idle_w` (clutch and gear drag);
    - a SiC main inverter removes `sic_loss_reduction` of the motor + inverter losses.
    Both constant losses are carried as auxiliary power, so the model file format is unchanged.
    """

    motor_eff_points: tuple[tuple[float, float], ...] = (
        (0.0, 0.80),
        (0.02, 0.86),
        (0.05, 0.90),
        (0.1, 0.93),
        (0.2, 0.95),
        (0.4, 0.955),
        (1.0, 0.94),
    )
    gear_efficiency: float = 0.97
    motor_kw_per_kg: float = 0.09  # peak power per kg of test weight (2022 BEVs: 0.06-0.3)
    regen_kw_per_kg: float = 0.04
    regen_fraction: float = 0.9  # share of braking power the brake blending gives the motor
    aux_w: float = 250.0  # 12 V loads, pumps, electronics; HVAC is off on the dyno
    charge_efficiency: float = 0.8931  # wall to battery (Level 2), pack losses included
    frontal_area_m2: float = 2.4  # only to express C as a drag coefficient; C itself is used
    unit_idle_w: float = 195.0  # per traction motor beyond the first
    two_speed_idle_w: float = 751.0
    sic_loss_reduction: float = 0.42

    def aux_for(self, test: EpaTest, tech: TechSpec) -> float:
        """Auxiliary power of one car: the shared 12 V load plus its drivetrain's idle losses."""
        extra_units = max(motor_count(test, tech) - 1, 0)
        return (
            self.aux_w
            + self.unit_idle_w * extra_units
            + (self.two_speed_idle_w if tech.two_speed else 0.0)
        )

    def motor_curve_for(self, tech: TechSpec) -> tuple[tuple[float, float], ...]:
        """The motor + inverter efficiency curve; a SiC inverter scales every loss down."""
        if not tech.sic_inverter or self.sic_loss_reduction == 0.0:
            return self.motor_eff_points
        keep = 1.0 - self.sic_loss_reduction
        return tuple((x, round(1.0 - keep * (1.0 - eff), 5)) for x, eff in self.motor_eff_points)


SHARED_DRIVETRAIN = Drivetrain()

# Makers that share platforms and drive units (the stricter held-out split).
MAKER_GROUPS = {
    "AUDI": "VOLKSWAGEN GROUP",
    "PORSCHE": "VOLKSWAGEN GROUP",
    "VOLKSWAGEN": "VOLKSWAGEN GROUP",
    "HYUNDAI": "HYUNDAI MOTOR GROUP",
    "KIA": "HYUNDAI MOTOR GROUP",
}


def motor_count(test: EpaTest, tech: TechSpec) -> int:
    """Published number of traction motors, else 1 for a 2WD drive code and 2 for AWD."""
    if tech.motors is not None:
        return tech.motors
    return 1 if test.drive in ("F", "R") else 2


def _opt_bool(text: str) -> bool | None:
    value = text.strip().lower()
    if not value:
        return None
    if value in ("yes", "no"):
        return value == "yes"
    raise ValueError(f"expected yes, no or empty, got {text!r}")


def read_drivetrain_specs(path: Path | None = None) -> list[TechSpec]:
    """The spec table (default: the one shipped in volta/data/epa/); '#' lines are comments."""
    if path is None:
        ref = resources.files("volta.data") / "epa" / "drivetrain_specs.csv"
        text, name = ref.read_text(encoding="utf-8"), "drivetrain_specs.csv"
    else:
        text, name = path.read_text(encoding="utf-8"), str(path)
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    out: list[TechSpec] = []
    for i, row in enumerate(csv.DictReader(io.StringIO(body)), start=2):
        try:
            out.append(
                TechSpec(
                    maker=row["maker"].strip(),
                    model_prefix=row["model_prefix"].strip(),
                    drive=row["drive"].strip(),
                    motors=int(row["motors"]) if row["motors"].strip() else None,
                    motor_types=row["motor_types"].strip(),
                    two_speed=_opt_bool(row["two_speed"]),
                    sic_inverter=_opt_bool(row["sic_inverter"]),
                    system_v=int(row["system_v"]) if row["system_v"].strip() else None,
                    source=row["source"].strip(),
                )
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelError(f"{name}: data row {i}: not a drivetrain spec: {exc}") from exc
    return out


def tech_spec(test: EpaTest, specs: list[TechSpec]) -> TechSpec:
    """The spec of the row's car line (longest matching prefix), or UNKNOWN_TECH."""
    found = [s for s in specs if s.matches(test)]
    if not found:
        return UNKNOWN_TECH
    return max(found, key=lambda s: (len(s.model_prefix), bool(s.drive)))


def read_test_cars(path: Path) -> list[EpaTest]:
    """Every row of an EPA Test Car List CSV; a malformed row raises ModelError naming its line."""
    out: list[EpaTest] = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        for row in reader:
            line = reader.line_num
            try:
                value = row["RND_ADJ_FE"].strip()
                out.append(
                    EpaTest(
                        line=line,
                        make=row["Represented Test Veh Make"].strip(),
                        model=row["Represented Test Veh Model"].strip(),
                        test_weight_lb=float(row["Equivalent Test Weight (lbs.)"]),
                        drive=row["Drive System Code"].strip(),
                        procedure=row["Test Procedure Description"].strip(),
                        value=float(value) if value else None,
                        unit=row["FE_UNIT"].strip(),
                        coef_a_lbf=float(row["Target Coef A (lbf)"]),
                        coef_b_lbf_per_mph=float(row["Target Coef B (lbf/mph)"]),
                        coef_c_lbf_per_mph2=float(row["Target Coef C (lbf/mph**2)"]),
                    )
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise ModelError(f"{path}: line {line}: not an EPA test car row: {exc}") from exc
    return out


def maker(test: EpaTest) -> str:
    """The maker in upper case; Lucid's rows carry the model year in the make column."""
    if test.make.isdigit():
        return test.model.split()[0].upper()
    return test.make.upper()


def maker_group(test: EpaTest) -> str:
    """The maker's group where makers share platforms (Volkswagen, Hyundai), else the maker."""
    return MAKER_GROUPS.get(maker(test), maker(test))


def usable(test: EpaTest) -> str | None:
    """Why a row cannot be compared with the physics, or None when it can."""
    if test.cycle is None:
        return f"procedure {test.procedure!r} is not a charge-depleting UDDS or highway test"
    if test.value is None:
        return "no result"
    if (test.make.upper(), test.model.upper()) in LABEL_VALUE_CARS:
        return f"{test.value:g} MPGe is the fuel-economy label, not the raw dynamometer result"
    if test.unit != "MPG":
        return f"unknown unit {test.unit!r}"
    return None


def measured_wall_wh_per_km(test: EpaTest) -> float:
    """The dyno result as energy from the wall per km (charger losses included, as measured).

    MPGe values become Wh/km with 33.705 kWh per gallon-equivalent; values below 60 in the MPG
    column are kWh/100 mi (see MIN_PLAUSIBLE_MPGE).
    """
    if test.value is None or test.value <= 0:
        raise ModelError(f"line {test.line}: no dynamometer result")
    if test.value < MIN_PLAUSIBLE_MPGE:
        return test.value * 10.0 / MILE_KM
    return KWH_PER_GALLON_EQUIVALENT * 1000.0 / test.value / MILE_KM


def slug(test: EpaTest) -> str:
    """A model name from make and model: lower case, words joined by underscores."""
    words = re.findall(r"[a-z0-9]+", f"{test.make} {test.model}".lower())
    return "epa_" + "_".join(words)


def model_from_epa(
    test: EpaTest,
    drivetrain: Drivetrain = SHARED_DRIVETRAIN,
    usable_kwh: float = 75.0,
    dc_peak_kw: float = 150.0,
    tech: TechSpec = UNKNOWN_TECH,
) -> VehicleModel:
    """A vehicle model from one EPA row, the shared drivetrain and the car's published tech.

    Road load is the row's coast-down target (drivetrain drag included); the dyno's inertia is
    the equivalent test weight, so no extra rotating mass. Battery size and DC peak power are not
    in the list: the caller gives them, and the DC curve is a generic taper scaled to the peak.
    """
    mass = test.test_weight_lb * LB_KG
    a_n = test.coef_a_lbf * LBF_N
    b_n = test.coef_b_lbf_per_mph * LBF_N / MPH_MPS
    c_n = test.coef_c_lbf_per_mph2 * LBF_N / MPH_MPS**2
    if mass <= 0 or a_n <= 0 or c_n <= 0:
        raise ModelError(f"line {test.line}: test weight, A and C must be > 0")
    return VehicleModel(
        name=slug(test),
        display_name=f"{test.make} {test.model} (EPA 2022 test car, line {test.line})",
        mass_kg=round(mass, 1),
        cd=round(2.0 * c_n / (AIR_DENSITY_KG_M3 * drivetrain.frontal_area_m2), 4),
        frontal_area_m2=drivetrain.frontal_area_m2,
        crr=round(a_n / (mass * G), 5),
        rotating_mass_factor=1.0,
        road_load_a_n=round(a_n, 3),
        road_load_b_n_per_mps=round(b_n, 4),
        road_load_c_n_per_mps2=round(c_n, 5),
        motor_peak_kw=round(drivetrain.motor_kw_per_kg * mass, 1),
        gear_efficiency=drivetrain.gear_efficiency,
        motor_eff_points=drivetrain.motor_curve_for(tech),
        regen_max_kw=round(drivetrain.regen_kw_per_kg * mass, 1),
        regen_min_speed_mps=0.5,
        regen_full_speed_mps=2.0,
        regen_fraction=drivetrain.regen_fraction,
        aux_w=round(drivetrain.aux_for(test, tech), 1),
        usable_kwh_new=usable_kwh,
        ac_efficiency=drivetrain.charge_efficiency,
        dc_peak_kw=dc_peak_kw,
        dc_curve=generic_dc_curve(dc_peak_kw),
        sources={
            "body": f"EPA Test Car List 2022, line {test.line}: test weight, target A/B/C",
            "drivetrain": "volta.vehicles.epa.SHARED_DRIVETRAIN, the same for every car, applied"
            f" to {motor_count(test, tech)} motor(s), two-speed {_yn(tech.two_speed)}, SiC"
            f" inverter {_yn(tech.sic_inverter)} ({tech.source})",
            "battery": "given on the command line (not in the EPA list)",
            "dc_curve": "generic NMC taper scaled to dc_peak_kw (docs/planner.md)",
        },
    )


def _yn(flag: bool | None) -> str:
    return "unknown" if flag is None else ("yes" if flag else "no")


def generic_dc_curve(peak_kw: float) -> tuple[tuple[float, float], ...]:
    """A typical 400 V NMC fast-charge curve: ramp, plateau to ~50 %, taper to ~1/10 at 100 %."""
    shape = ((0.0, 0.6), (10.0, 1.0), (50.0, 1.0), (65.0, 0.75), (80.0, 0.5), (90.0, 0.3))
    return (*((s, round(f * peak_kw, 1)) for s, f in shape), (100.0, round(0.1 * peak_kw, 1)))
