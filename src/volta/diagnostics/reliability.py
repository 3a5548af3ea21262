"""Fleet reliability: DTC rates by model × software version × month, mean distance between
faults, the top issues, and software-linked codes ("since software version X, DTC Y is N
times more frequent on hardware variant Z").

Inputs are plain records the live follower collects: every code occurrence (with the car's
model, software version and hardware variant at that moment) and each car's exposure (the days
it reported on each version, its distance). Rates are occurrences per 1,000 vehicle-days. Pure.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, replace

from volta.diagnostics.decode import Descriptions

__all__ = [
    "Exposure",
    "Issue",
    "Occurrence",
    "RateRow",
    "Reliability",
    "SoftwareLink",
    "on_ecu",
    "reliability",
]

DAY_MS = 86_400_000
LINK_MIN_OCCURRENCES = 5
LINK_MIN_RATIO = 3.0


@dataclass(frozen=True, slots=True)
class Occurrence:
    """A code appeared on a car. `version` and `variant` are its BMS's (what the reliability
    tables group by); `software` is every ECU's (name, version) at that moment."""

    vin: str
    code: str
    ts_ms: int
    model: str
    version: str
    variant: str
    software: tuple[tuple[str, str], ...] = ()


def on_ecu(occurrences: list[Occurrence], ecu: str) -> list[Occurrence]:
    """The occurrences with `version` the given ECU's at that moment ("unknown" when the car
    had not reported one), so rates can be compared by that ECU's software."""
    return [replace(o, version=dict(o.software).get(ecu, "unknown")) for o in occurrences]


@dataclass(frozen=True, slots=True)
class Exposure:
    """The UTC days (numbers since the epoch) a car reported on one software version, and the
    km it drove (counted once per car, on its first exposure record)."""

    vin: str
    model: str
    version: str
    variant: str
    days: frozenset[int]
    km: float


@dataclass(frozen=True, slots=True)
class RateRow:
    model: str
    version: str
    month: str  # YYYY-MM
    vehicles: int
    vehicle_days: int
    occurrences: int
    per_1000_vehicle_days: float


@dataclass(frozen=True, slots=True)
class Issue:
    code: str
    description: str | None
    occurrences: int
    vehicles: int


@dataclass(frozen=True, slots=True)
class SoftwareLink:
    code: str
    version: str
    variant: str
    ratio: float  # against the same variant on the other versions
    ratio_other_variants: float | None  # against the other variants on this version
    occurrences: int
    vehicles: int
    per_1000_vehicle_days: float
    message: str


@dataclass(frozen=True, slots=True)
class Reliability:
    rates: tuple[RateRow, ...]
    mean_km_between_faults: dict[str, float | None]  # per model
    top_issues: tuple[Issue, ...]
    software_links: tuple[SoftwareLink, ...]


def _month(day: int) -> str:
    return (dt.date(1970, 1, 1) + dt.timedelta(days=day)).strftime("%Y-%m")


def _rate(occ: float, days: float) -> float:
    return 1000.0 * occ / days if days > 0 else 0.0


def reliability(
    occurrences: list[Occurrence],
    exposure: list[Exposure],
    descriptions: Descriptions | None = None,
    top: int = 10,
) -> Reliability:
    """The fleet's reliability figures from what it reported."""
    desc = descriptions or Descriptions()
    # rates by model × version × month
    vdays: dict[tuple[str, str, str], int] = Counter()
    vehicles: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for e in exposure:
        for d in e.days:
            key = (e.model, e.version, _month(d))
            vdays[key] += 1
            vehicles[key].add(e.vin)
    occ = Counter((o.model, o.version, _month(o.ts_ms // DAY_MS)) for o in occurrences)
    rates = tuple(
        RateRow(
            m,
            v,
            mo,
            len(vehicles[(m, v, mo)]),
            n,
            occ[(m, v, mo)],
            round(_rate(occ[(m, v, mo)], n), 3),
        )
        for (m, v, mo), n in sorted(vdays.items())
    )
    # mean distance between faults, per model
    km: dict[str, float] = defaultdict(float)
    counted: set[str] = set()
    for e in exposure:
        if e.vin not in counted:
            counted.add(e.vin)
            km[e.model] += e.km
    per_model = Counter(o.model for o in occurrences)
    mdbf = {m: (round(km[m] / per_model[m], 1) if per_model[m] else None) for m in sorted(km)}
    # top issues
    by_code = Counter(o.code for o in occurrences)
    cars: dict[str, set[str]] = defaultdict(set)
    for o in occurrences:
        cars[o.code].add(o.vin)
    issues = tuple(
        Issue(c, (desc.get(c) or (None, ""))[0], n, len(cars[c]))
        for c, n in by_code.most_common(top)
    )
    return Reliability(rates, mdbf, issues, tuple(_links(occurrences, exposure)))


def _links(occurrences: list[Occurrence], exposure: list[Exposure]) -> list[SoftwareLink]:
    """Codes much more frequent on one (version, variant) than on the same variant's other
    versions and than the other variants on that version."""
    days: dict[tuple[str, str], int] = Counter()
    for e in exposure:
        days[(e.version, e.variant)] += len(e.days)
    occ: dict[tuple[str, str, str], int] = Counter()
    cars: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for o in occurrences:
        occ[(o.code, o.version, o.variant)] += 1
        cars[(o.code, o.version, o.variant)].add(o.vin)
    out = []
    for (code, version, variant), n in occ.items():
        if n < LINK_MIN_OCCURRENCES or not days[(version, variant)]:
            continue
        rate = _rate(n, days[(version, variant)])
        same_var = [(v, h) for (v, h) in days if h == variant and v != version]
        same_ver = [(v, h) for (v, h) in days if v == version and h != variant]
        if not same_var and not same_ver:
            continue

        r1 = rate / _base(occ, days, code, same_var) if same_var else float("inf")
        r2 = rate / _base(occ, days, code, same_ver) if same_ver else float("inf")
        if min(r1, r2) < LINK_MIN_RATIO:
            continue
        ratio = r1 if same_var else r2
        out.append(
            SoftwareLink(
                code=code,
                version=version,
                variant=variant,
                ratio=round(ratio, 1),
                ratio_other_variants=round(r2, 1) if same_ver else None,
                occurrences=n,
                vehicles=len(cars[(code, version, variant)]),
                per_1000_vehicle_days=round(rate, 2),
                message=f"Since software version {version}, DTC {code} is {ratio:.1f} times "
                f"more frequent on hardware variant {variant}",
            )
        )
    return sorted(out, key=lambda s: -s.ratio)


def _base(
    occ: dict[tuple[str, str, str], int],
    days: dict[tuple[str, str], int],
    code: str,
    groups: list[tuple[str, str]],
) -> float:
    """The code's rate over the (version, variant) groups; half an occurrence where none was
    seen, so that the ratio is finite and conservative."""
    d = sum(days[g] for g in groups)
    return _rate(max(sum(occ[(code, *g)] for g in groups), 0.5), d)
