"""Alerts from the twin: active trouble codes, low tyres, a weak 12 V battery, a low SoC;
and a battery fading faster than its model's fleet norm (rules and thresholds in
`volta.alerts`). The dashboard's fleet page polls the fleet route."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from volta.alerts import SEVERITIES, Alert, Severity, evaluate, fade_alerts, newest_first
from volta.api.auth import OperatorDep, PlatformDep, ReaderDep
from volta.errors import NotFound
from volta.platform import Platform

router = APIRouter(tags=["alerts"])


class AlertOut(BaseModel):
    vin: str
    kind: str = Field(
        description="dtc, tyre_pressure, low_voltage_battery, low_soc or battery_fade"
    )
    severity: Severity
    signal: str = Field(description="VSS path of the signal that shows it")
    value: float | str = Field(
        description="the signal's value (a DTC: its code; battery_fade: SoH points a year)"
    )
    since_ms: int = Field(description="time of the sample that shows it, ms since the epoch")
    message: str


class Alerts(BaseModel):
    now: int = Field(description="server time, ms since the epoch")
    counts: dict[str, int] = Field(description="alerts returned, by severity")
    alerts: list[AlertOut] = Field(description="newest first")


def _out(a: Alert) -> AlertOut:
    return AlertOut(
        vin=a.vin,
        kind=a.kind,
        severity=a.severity,
        signal=a.signal,
        value=a.value,
        since_ms=a.since_ms,
        message=a.message,
    )


def _alerts(platform: Platform, vins: list[str], severity: Severity | None) -> Alerts:
    now = platform.clock()
    found: list[Alert] = []
    for vin in vins:
        values = platform.twin.get(vin)
        if values:
            found.extend(evaluate(vin, values, platform.catalog, now))
    fade = platform.fade.current()
    wanted = set(vins)
    found.extend(fade_alerts((r for r in fade.fast if r.vin in wanted), fade.norms))
    if severity is not None:
        found = [a for a in found if a.severity == severity]
    counts = {s: sum(1 for a in found if a.severity == s) for s in SEVERITIES}
    return Alerts(now=now, counts=counts, alerts=[_out(a) for a in newest_first(found)])


SeverityQuery = Annotated[Severity | None, Query(description="only this severity")]


@router.get("/v1/alerts", response_model=Alerts)
def fleet_alerts(
    principal: OperatorDep,
    platform: PlatformDep,
    vin: Annotated[str | None, Query(description="only this vehicle")] = None,
    severity: SeverityQuery = None,
) -> Alerts:
    """Active alerts of every vehicle (or one, with `vin=`), newest first. Operator only."""
    if vin is not None and not platform.registry.has_vehicle(vin):
        raise NotFound(f"vehicle {vin} is not registered")
    if vin is not None:
        vins = [vin]
    else:  # a car silent for long still has its battery's fade
        vins = sorted(set(platform.twin.vehicles()) | set(platform.fade.current().rates))
    return _alerts(platform, vins, severity)


@router.get("/v1/vehicles/{vin}/alerts", response_model=Alerts)
def vehicle_alerts(
    vin: str, principal: ReaderDep, platform: PlatformDep, severity: SeverityQuery = None
) -> Alerts:
    """Active alerts of one vehicle, newest first: its own token or an operator's."""
    return _alerts(platform, [vin], severity)
