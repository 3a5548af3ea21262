"""Service cases from alerts: which alerts need a workshop, under which problem key, and the
intake that opens (or attaches to) the case.

Two sources feed it: the alert log's newly raised alerts (`volta.alertwatch`, on its timer
thread) and diagnostics' predictive alerts turning on (`volta.processors.diagnostics`, on the
bus thread). The bus thread only queues (a `deque.append`): the database writes happen on the
alert watch's thread, so a new prediction never holds up ingest. `problem_of_alert` and
`problem_of_prediction` are pure; one problem key per vehicle and problem, shared by both
sources where they name the same fault (a predicted tyre leak and the low-pressure alert of that
tyre are one case).
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from volta.diagnostics.vehicle import AlertChange
from volta.errors import NotFound, VoltaError
from volta.registry import AlertChanges, AlertFacts
from volta.service.desk import ServiceDesk
from volta.service.model import AlertDetails, Severity

__all__ = ["CaseIntake", "Problem", "problem_of_alert", "problem_of_prediction"]

log = logging.getLogger(__name__)

# The alert log's kinds that need a workshop: a trouble code, a tyre losing air, a weak 12 V
# battery, a battery fading faster than its model's norm. A low charge needs a charger, not a
# technician.
_ALERT_KINDS = {
    "dtc": "dtc",
    "tyre_pressure": "tyre",
    "low_voltage_battery": "lv_battery",
    "battery_fade": "battery_fade",
}
# Diagnostics' predictive rules (`volta.diagnostics.rules`): all of them foretell a repair.
_PREDICTION_KINDS = {
    "tyre_leak": "tyre",
    "lv_battery": "lv_battery",
    "cell_imbalance": "cell_imbalance",
    "pad_wear": "brake_pads",
    "battery_hot": "battery_hot",
}
_BAD = re.compile(r"[^A-Za-z0-9._:/-]+")


@dataclass(frozen=True, slots=True)
class Problem:
    """What to open a case for: the vehicle, its problem key and the alert."""

    vin: str
    key: str
    alert: AlertDetails


def _detail(text: str) -> str:
    """A problem key's detail from free text: lower case, other characters as '-'."""
    return _BAD.sub("-", text.strip()).strip("-").lower()[:96]


def _key(kind: str, detail: str) -> str:
    d = _detail(detail)
    return f"{kind}:{d}" if d else kind


def problem_of_alert(f: AlertFacts) -> Problem | None:
    """The problem a raised alert of the log is, or None for a kind that needs no workshop."""
    kind = _ALERT_KINDS.get(f.kind)
    if kind is None:
        return None
    # a trouble code keeps its case as sent (P0A80 is not p0a80); a malformed one is kept too
    detail = _BAD.sub("-", f.key)[:96] if f.kind == "dtc" else f.key
    severity: Severity = "critical" if f.severity == "critical" else "warning"
    alert = AlertDetails(f.kind, severity, f.message, f.raised_ms, f.signal, f.value)
    return Problem(f.vin, f"{kind}:{detail}" if detail else kind, alert)


def problem_of_prediction(p: AlertChange) -> Problem | None:
    """The problem a predictive alert that turned on foretells (None for one that turned off,
    or a rule this does not know)."""
    kind = _PREDICTION_KINDS.get(p.kind)
    if kind is None or not p.on:
        return None
    # the tyre's subject ("Front-left") names it as the log's tyre alerts do ("front-left")
    key = _key(kind, p.subject) if kind == "tyre" else kind
    alert = AlertDetails(f"predicted_{p.kind}", "warning", p.message, p.ts_ms, None, None)
    return Problem(p.vin, key, alert)


class CaseIntake:
    """Opens a case per vehicle and problem from the alert sources; repeats attach to it."""

    def __init__(self, desk: ServiceDesk) -> None:
        self.desk = desk
        self._predictions: deque[AlertChange] = deque()
        self.opened = 0
        self.attached = 0
        self.skipped = 0  # vehicles that are not registered, or refused keys

    def predicted(self, changes: Iterable[AlertChange]) -> None:
        """Queue predictive alerts that turned on (any thread; opened at the next `sync`)."""
        self._predictions.extend(c for c in changes if c.on)

    def sync(self, changes: AlertChanges) -> None:
        """Open cases for the alert log's raised alerts and the queued predictions."""
        problems = [p for f in changes.raised if (p := problem_of_alert(f)) is not None]
        while self._predictions:
            p = problem_of_prediction(self._predictions.popleft())
            if p is not None:
                problems.append(p)
        for p in problems:
            self.open(p)

    def open(self, p: Problem) -> None:
        try:
            _, created = self.desk.open_from_alert(p.vin, p.key, p.alert)
        except NotFound:  # an unregistered VIN (benchmarks admit any): nobody to service it
            self.skipped += 1
            return
        except VoltaError as e:
            self.skipped += 1
            log.warning("service: no case for %s %s: %s", p.vin, p.key, e)
            return
        if created:
            self.opened += 1
        else:
            self.attached += 1
