"""Recalls and field campaigns, pure: which vehicles a filter covers, and a campaign's
progress over time."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from volta.errors import BadRequest, ValidationError
from volta.ota.version import version_key
from volta.service.model import RecallFilter, RecallVehicle, SoftwareFix

_ECU = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class VehicleFacts:
    """What a recall filter looks at for one vehicle: the registry's model and attributes, and
    the installed software / hardware variant per ECU from the twin."""

    vin: str
    model: str | None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    software: Mapping[str, str] = field(default_factory=dict)
    hardware: Mapping[str, str] = field(default_factory=dict)


def check_filter(f: RecallFilter) -> RecallFilter:
    """`f` if it is well formed and names at least one criterion; BadRequest otherwise."""
    if not (
        f.models
        or f.build_from
        or f.build_to
        or f.vin_from
        or f.vin_to
        or f.software_versions
        or f.hardware_variants
        or f.attributes
    ):
        raise BadRequest(
            "a recall filter needs at least one criterion (models, build dates, VIN range,"
            " software versions, hardware variants or attributes)"
        )
    for name in ("build_from", "build_to"):
        value = getattr(f, name)
        if value is not None:
            _date(name, value)
    if f.build_from and f.build_to and _date("", f.build_from) > _date("", f.build_to):
        raise BadRequest("build_from is after build_to")
    if f.vin_from and f.vin_to and f.vin_from > f.vin_to:
        raise BadRequest("vin_from is after vin_to")
    if f.ecu is not None and not _ECU.fullmatch(f.ecu):
        raise BadRequest(f"invalid ECU name {f.ecu!r}: letters, digits and _ (e.g. 'BMS')")
    return f


def check_fix(fix: SoftwareFix) -> SoftwareFix:
    """`fix` if its ECU is a plain name and its version orders (MAJOR.MINOR.PATCH[-suffix])."""
    if not _ECU.fullmatch(fix.ecu):
        raise BadRequest(f"invalid ECU name {fix.ecu!r}: letters, digits and _ (e.g. 'BMS')")
    try:
        version_key(fix.version)
    except ValidationError as e:
        raise BadRequest(f"fixed software version: {e}") from None
    return fix


def is_fixed(fix: SoftwareFix, installed: str | None) -> bool:
    """Whether the installed version is the fixing one or newer; an unreadable or missing
    version is not (the car has not shown it is fixed)."""
    if installed is None:
        return False
    try:
        return version_key(installed) >= version_key(fix.version)
    except ValidationError:
        return False


def matches(f: RecallFilter, v: VehicleFacts) -> bool:
    """Whether the vehicle falls under the filter (every given criterion holds)."""
    if f.models and v.model not in f.models:
        return False
    if f.vin_from is not None and v.vin < f.vin_from:
        return False
    if f.vin_to is not None and v.vin > f.vin_to:
        return False
    if f.build_from is not None or f.build_to is not None:
        built = _built(v.attributes.get("build_date"))
        if built is None:
            return False
        if f.build_from is not None and built < _date("", f.build_from):
            return False
        if f.build_to is not None and built > _date("", f.build_to):
            return False
    if f.software_versions and not _any_in(
        _per_ecu(v.software, f.ecu, v.attributes.get("software_version")), f.software_versions
    ):
        return False
    if f.hardware_variants and not _any_in(
        _per_ecu(v.hardware, f.ecu, v.attributes.get("hardware_variant")), f.hardware_variants
    ):
        return False
    return all(v.attributes.get(k) == want for k, want in f.attributes.items())


def affected(f: RecallFilter, vehicles: Iterable[VehicleFacts]) -> list[str]:
    """The VINs the filter covers, sorted."""
    return sorted(v.vin for v in vehicles if matches(f, v))


@dataclass(frozen=True, slots=True)
class ProgressPoint:
    """At the end of one UTC day: vehicles in the campaign and how many are done."""

    day_ms: int
    total: int
    completed: int

    @property
    def percent(self) -> float:
        return 100.0 * self.completed / self.total if self.total else 0.0


def progress(vehicles: Iterable[RecallVehicle], start_ms: int, now_ms: int) -> list[ProgressPoint]:
    """One point per UTC day from the campaign's start to `now_ms`: vehicles added and
    completed by the end of that day (the last point: by `now_ms`)."""
    rows = list(vehicles)
    points = []
    day = start_ms - start_ms % DAY_MS
    while day <= now_ms:
        cut = min(day + DAY_MS, now_ms + 1)
        total = sum(1 for r in rows if r.added_ms < cut)
        done = sum(1 for r in rows if r.completed_ms is not None and r.completed_ms < cut)
        points.append(ProgressPoint(day, total, done))
        day += DAY_MS
    return points


def _per_ecu(values: Mapping[str, str], ecu: str | None, fallback: Any) -> list[str]:
    found = list(values.values()) if ecu is None else [values[ecu]] if ecu in values else []
    if not found and fallback is not None:
        found = [str(fallback)]
    return found


def _any_in(values: list[str], wanted: tuple[str, ...]) -> bool:
    return any(v in wanted for v in values)


def _date(name: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise BadRequest(f"{name or 'date'}: {text!r} is not an ISO date (YYYY-MM-DD)") from None


def _built(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None
