"""Alerts: active trouble codes, low tyres, a weak 12 V battery, a low SoC, and a battery
fading faster than its model's fleet norm (rules and thresholds in `volta.alerts`), from the
alert log: when each was raised and cleared, who acknowledged it. The log is brought up to
date with the twin before every answer (`volta.alertwatch`). The dashboard's fleet page polls
the fleet route; its alerts page pages through the history."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from volta.alerts import SEVERITIES, Severity
from volta.api.auth import OperatorDep, PlatformDep, ReaderDep
from volta.api.params import parse_time
from volta.errors import BadRequest, NotFound
from volta.platform import Platform
from volta.registry import AlertQuery, AlertState, LoggedAlert
from volta.registry.alertlog import MAX_NOTE
from volta.wire.batch import INT64_MAX, INT64_MIN

router = APIRouter(tags=["alerts"])

# Without `state`: the alerts open now (as the fleet page shows them).
OPEN: frozenset[AlertState] = frozenset({"active", "acknowledged"})
MAX_LIMIT = 1000
_CURSOR = re.compile(r"(-?[0-9]{1,19}):([0-9]{1,19})")


class AckOut(BaseModel):
    by: str = Field(description="the user name (or credential id) who acknowledged it")
    ms: int = Field(description="when, ms since the epoch")
    note: str | None


class AlertOut(BaseModel):
    id: int = Field(description="the alert's id in the log (for acknowledging it)")
    vin: str
    kind: str = Field(
        description="dtc, tyre_pressure, low_voltage_battery, low_soc, battery_fade or trip_soc"
    )
    key: str = Field(description="what of its kind: a DTC code, a tyre ('front-left'); ''")
    severity: Severity
    state: AlertState = Field(description="active, acknowledged (still open) or cleared")
    signal: str = Field(description="VSS path of the signal that shows it")
    value: float | str = Field(
        description="the signal's latest value while open (a DTC: its code; battery_fade:"
        " SoH points a year)"
    )
    message: str
    raised_ms: int = Field(description="time of the sample that first showed it")
    since_ms: int = Field(description="the same as raised_ms (kept for older clients)")
    cleared_ms: int | None = Field(description="time of the sample that showed it gone")
    acknowledged: AckOut | None

    @classmethod
    def of(cls, a: LoggedAlert) -> AlertOut:
        f = a.facts
        ack = None
        if a.ack_ms is not None:
            ack = AckOut(by=a.ack_by or "", ms=a.ack_ms, note=a.ack_note)
        return cls(
            id=a.id,
            vin=f.vin,
            kind=f.kind,
            key=f.key,
            severity=f.severity,
            state=a.state,
            signal=f.signal,
            value=f.value,
            message=f.message,
            raised_ms=f.raised_ms,
            since_ms=f.raised_ms,
            cleared_ms=a.cleared_ms,
            acknowledged=ack,
        )


class Alerts(BaseModel):
    now: int = Field(description="server time, ms since the epoch")
    counts: dict[str, int] = Field(description="every alert matching the query, by severity")
    total: int = Field(description="every alert matching the query")
    alerts: list[AlertOut] = Field(description="newest raised first")
    next_before: str | None = Field(None, description="pass as `before` for the next page")


class AckIn(BaseModel):
    note: str | None = Field(None, max_length=MAX_NOTE, description="what was done about it")


SeverityQuery = Annotated[Severity | None, Query(description="only this severity")]
StateQuery = Annotated[
    list[AlertState] | None,
    Query(description="repeatable: active, acknowledged, cleared (default: the open ones)"),
]
KindQuery = Annotated[str | None, Query(max_length=40, description="only this kind")]
FromQuery = Annotated[
    str | None,
    Query(alias="from", description="ISO-8601 or ms: alerts still open at or after this"),
]
ToQuery = Annotated[str | None, Query(description="ISO-8601 or ms: alerts raised before this")]
LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
BeforeQuery = Annotated[
    str | None, Query(max_length=41, description="next page: the previous page's next_before")
]


def _query(
    vin: str | None,
    state: list[AlertState] | None,
    severity: Severity | None,
    kind: str | None,
    start: str | None,
    end: str | None,
    limit: int,
    before: str | None,
) -> AlertQuery:
    cursor = None
    if before is not None:
        m = _CURSOR.fullmatch(before)
        if m is None:
            raise BadRequest(
                f"before: expected a next_before like '1764201600000:42', got {before!r}"
            )
        cursor = (int(m[1]), int(m[2]))
        if not (INT64_MIN <= cursor[0] <= INT64_MAX and cursor[1] <= INT64_MAX):
            raise BadRequest(f"before: {before!r} is out of range")
    from_ms = parse_time("from", start) if start else None
    to_ms = parse_time("to", end) if end else None
    if from_ms is not None and to_ms is not None and from_ms >= to_ms:
        raise BadRequest(f"from ({from_ms}) must be before to ({to_ms})")
    return AlertQuery(
        states=frozenset(state) if state else OPEN,
        vin=vin,
        kind=kind,
        severity=severity,
        from_ms=from_ms,
        to_ms=to_ms,
        before=cursor,
        limit=limit,
    )


def _alerts(platform: Platform, query: AlertQuery) -> Alerts:
    platform.alerts.sync()
    page = platform.registry.query_alerts(query)
    last = page.alerts[-1] if len(page.alerts) == query.limit else None
    return Alerts(
        now=platform.clock(),
        counts={s: page.counts.get(s, 0) for s in SEVERITIES},
        total=page.total,
        alerts=[AlertOut.of(a) for a in page.alerts],
        next_before=f"{last.facts.raised_ms}:{last.id}" if last is not None else None,
    )


@router.get("/v1/alerts", response_model=Alerts)
def fleet_alerts(
    principal: OperatorDep,
    platform: PlatformDep,
    vin: Annotated[str | None, Query(description="only this vehicle")] = None,
    state: StateQuery = None,
    severity: SeverityQuery = None,
    kind: KindQuery = None,
    start: FromQuery = None,
    to: ToQuery = None,
    limit: LimitQuery = 500,
    before: BeforeQuery = None,
) -> Alerts:
    """The fleet's alerts (or one vehicle's, with `vin=`), newest raised first: by default
    those open now; `state=cleared` and `from`/`to` for the history. Operator only."""
    if vin is not None and not platform.registry.has_vehicle(vin):
        raise NotFound(f"vehicle {vin} is not registered")
    return _alerts(platform, _query(vin, state, severity, kind, start, to, limit, before))


@router.post("/v1/alerts/{alert_id}/ack", response_model=AlertOut)
def acknowledge_alert(
    alert_id: Annotated[int, Path(ge=1, le=INT64_MAX)],
    principal: OperatorDep,
    platform: PlatformDep,
    body: AckIn | None = None,
) -> AlertOut:
    """Acknowledge an alert (open or cleared): who and when are kept with it, with an
    optional note; the call is in the audit log. 409 if it was acknowledged already. An open
    alert whose severity rises later is active again."""
    note = body.note if body is not None else None
    return AlertOut.of(platform.registry.acknowledge_alert(alert_id, principal.actor, note))


@router.get("/v1/vehicles/{vin}/alerts", response_model=Alerts)
def vehicle_alerts(
    vin: str,
    principal: ReaderDep,
    platform: PlatformDep,
    state: StateQuery = None,
    severity: SeverityQuery = None,
    kind: KindQuery = None,
    start: FromQuery = None,
    to: ToQuery = None,
    limit: LimitQuery = 500,
    before: BeforeQuery = None,
) -> Alerts:
    """One vehicle's alerts, as the fleet route: whoever sees the vehicle."""
    return _alerts(platform, _query(vin, state, severity, kind, start, to, limit, before))
