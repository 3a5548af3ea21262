"""Service cases from alerts: which alerts need a workshop, under which problem key, and the
intake that opens (or attaches to) the case.

Two sources feed it: the alert log's newly raised alerts (`volta.alertwatch`, on its timer
thread) and diagnostics' predictive alerts turning on (`volta.processors.diagnostics`, on the
bus thread). The bus thread only queues (a `deque.append`): the database writes happen on the
alert watch's thread, so a new prediction never holds up ingest. `problem_of_alert` and
`problem_of_prediction` are pure; one problem key per vehicle and problem, shared by both
sources where they name the same fault (a predicted tyre leak and the low-pressure alert of that
tyre are one case).

Nothing queued is lost quietly: a prediction whose case could not be written (the database
failed) goes back to the head of the queue for the next sync, and when the platform stops it
`drain`s the queue (bounded by `DRAIN_S`) after diagnostics stopped following the bus; what
still could not be opened is counted in `dropped` and logged as an error.
"""

from __future__ import annotations

import logging
import re
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from volta.diagnostics.vehicle import AlertChange
from volta.errors import NotFound, VoltaError
from volta.registry import AlertChanges, AlertFacts
from volta.service.desk import ServiceDesk
from volta.service.model import AlertDetails, Severity

__all__ = ["DRAIN_S", "CaseIntake", "Problem", "problem_of_alert", "problem_of_prediction"]

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
# At a stop, the longest the queued predictions may take to open (a case is a few ms; a
# database that does not answer must not hold the stop for ever)
DRAIN_S = 10.0


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
        self.dropped = 0  # predictions still queued when a stop's drain gave up (logged)

    @property
    def queued(self) -> int:
        """Predictions waiting for the next `sync` (or `drain`)."""
        return len(self._predictions)

    def predicted(self, changes: Iterable[AlertChange]) -> None:
        """Queue predictive alerts that turned on (any thread; opened at the next `sync`)."""
        self._predictions.extend(c for c in changes if c.on)

    def sync(self, changes: AlertChanges) -> None:
        """Open cases for the alert log's raised alerts and the queued predictions."""
        for f in changes.raised:
            if (p := problem_of_alert(f)) is not None:
                self.open(p)
        self._open_queued(None)

    def drain(self, timeout_s: float = DRAIN_S) -> int:
        """Open the queued predictions' cases now (the platform's stop, once nothing queues
        any more), for at most `timeout_s`; what is left is counted in `dropped` and logged.
        Returns how many were left."""
        try:
            self._open_queued(time.monotonic() + timeout_s)
        except Exception:  # the database failed: the stop goes on, the rest is counted below
            log.exception("service: opening the queued predictions' cases failed at the stop")
        left = len(self._predictions)
        if left:
            self._predictions.clear()
            self.dropped += left
            log.error(
                "service: %d predicted alerts were still queued at the stop and open no case "
                "(dropped: %d in all)", left, self.dropped,
            )  # fmt: skip
        return left

    def _open_queued(self, deadline: float | None) -> None:
        """Open the queued predictions one at a time, until none is left or `deadline`
        (monotonic) has passed. One whose case raised goes back to the queue's head."""
        while deadline is None or time.monotonic() < deadline:
            try:
                change = self._predictions.popleft()
            except IndexError:  # empty (another thread may take from it too)
                return
            p = problem_of_prediction(change)
            if p is None:
                continue
            try:
                self.open(p)
            except Exception:
                self._predictions.appendleft(change)  # tried again at the next sync
                raise

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
