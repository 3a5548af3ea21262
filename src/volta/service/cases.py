"""The service case's rules, pure: which state may follow which, the SLA deadlines and what is
overdue. Time is passed in."""

from __future__ import annotations

import re
from dataclasses import dataclass

from volta.errors import BadRequest, Conflict
from volta.service.model import Case, CaseState, Severity

S = CaseState

# Allowed transitions. Booking an appointment (POST /v1/appointments) is the only way into
# APPOINTMENT_BOOKED, and cancelling it the way back (see `BOOKING_ONLY`).
TRANSITIONS: dict[CaseState, tuple[CaseState, ...]] = {
    S.OPEN: (S.TRIAGED, S.APPOINTMENT_BOOKED, S.CANCELLED),
    S.TRIAGED: (S.APPOINTMENT_BOOKED, S.IN_SERVICE, S.RESOLVED, S.NO_FAULT_FOUND, S.CANCELLED),
    S.APPOINTMENT_BOOKED: (S.IN_SERVICE, S.TRIAGED, S.CANCELLED),
    S.IN_SERVICE: (S.RESOLVED, S.NO_FAULT_FOUND, S.APPOINTMENT_BOOKED),
    S.RESOLVED: (),
    S.NO_FAULT_FOUND: (),
    S.CANCELLED: (),
}
BOOKING_ONLY = frozenset({S.APPOINTMENT_BOOKED})

# Hours to triage and to repair, by severity: a critical problem (a car that may not start or
# is unsafe) is looked at within half a working day and fixed within two days.
SLA_HOURS: dict[Severity, tuple[int, int]] = {
    "critical": (4, 48),
    "warning": (24, 14 * 24),
    "info": (72, 30 * 24),
}
_HOUR_MS = 3_600_000

_PROBLEM_KEY = re.compile(r"[a-z][a-z0-9_]{0,31}(:[A-Za-z0-9._:/-]{1,96})?")


class IllegalTransition(Conflict):
    """The case cannot go to that state from where it is; `allowed` says where it can."""

    def __init__(self, case_id: str, state: CaseState, to: CaseState) -> None:
        self.allowed = [s.value for s in TRANSITIONS[state] if s not in BOOKING_ONLY]
        where = ", ".join(self.allowed) if self.allowed else "nothing (the case is closed)"
        hint = ""
        if to in BOOKING_ONLY and to in TRANSITIONS[state]:
            hint = "; book an appointment (POST /v1/appointments) to get there"
        elif state is S.APPOINTMENT_BOOKED and to is S.TRIAGED:
            hint = "; cancel the appointment (DELETE /v1/appointments/{id}) to get there"
        super().__init__(
            f"case {case_id} is {state.value}: it cannot go to {to.value}; allowed: {where}{hint}"
        )


def check_transition(case: Case, to: CaseState, *, by_booking: bool = False) -> None:
    """IllegalTransition unless `case` may go to `to` now. A person asks for most moves
    directly; the booking code moves into and out of APPOINTMENT_BOOKED (`by_booking`)."""
    allowed = TRANSITIONS[case.state]
    booking_move = to in BOOKING_ONLY or (case.state in BOOKING_ONLY and to is S.TRIAGED)
    if to not in allowed or (booking_move and not by_booking):
        raise IllegalTransition(case.id, case.state, to)


def check_problem_key(key: str) -> str:
    """`key` if it names a problem the way cases are keyed ("dtc:P0A80",
    "tyre_pressure:Row1.Left", "battery_fade"); BadRequest saying the form otherwise."""
    if not _PROBLEM_KEY.fullmatch(key):
        raise BadRequest(
            f"invalid problem key {key!r}: a kind (a-z, 0-9, _) and optionally ':' and a detail"
            " (letters, digits, . _ : / -), e.g. 'dtc:P0A80' or 'tyre_pressure:Row1.Left'"
        )
    return key


def deadlines(severity: Severity, opened_ms: int) -> tuple[int, int]:
    """(triage due, repair due) of a case opened at `opened_ms`."""
    triage_h, repair_h = SLA_HOURS[severity]
    return opened_ms + triage_h * _HOUR_MS, opened_ms + repair_h * _HOUR_MS


def next_due(state: CaseState, triage_due_ms: int, repair_due_ms: int) -> int | None:
    """The deadline the queue orders by: triage while open, repair until final, then none."""
    if state.final:
        return None
    return triage_due_ms if state is S.OPEN else repair_due_ms


@dataclass(frozen=True, slots=True)
class Sla:
    """A case's SLA timers at one moment."""

    triage_due_ms: int
    repair_due_ms: int
    time_to_triage_ms: int | None  # once triaged (or moved on without triage)
    time_to_repair_ms: int | None  # once resolved
    overdue: tuple[str, ...]  # "triage", "repair"


def sla(case: Case, now_ms: int) -> Sla:
    """The case's timers at `now_ms`: how long triage and repair took, and which deadline has
    passed without the step done."""
    overdue: list[str] = []
    triaged = case.triaged_ms  # set when a person first takes the case up
    if case.state is S.OPEN and now_ms > case.triage_due_ms:
        overdue.append("triage")
    if not case.state.final and now_ms > case.repair_due_ms:
        overdue.append("repair")
    repaired = case.closed_ms if case.state is S.RESOLVED else None
    return Sla(
        triage_due_ms=case.triage_due_ms,
        repair_due_ms=case.repair_due_ms,
        time_to_triage_ms=None if triaged is None else triaged - case.opened_ms,
        time_to_repair_ms=None if repaired is None else repaired - case.opened_ms,
        overdue=tuple(overdue),
    )
