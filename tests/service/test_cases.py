"""Service cases on both registry engines: one open case per vehicle and problem, the state
machine with its 409 naming the allowed states, history, lines and SLA timers."""

from __future__ import annotations

import pytest

from tests.service.conftest import NOW, VIN, VIN2, Engine
from volta.errors import BadRequest, Conflict, NotFound
from volta.service import AlertDetails, CaseState, ServiceDesk
from volta.service.casebook import CaseQuery
from volta.service.cases import IllegalTransition, sla
from volta.service.model import Actor

TECH = Actor("tove", "technician")
HOUR = 3_600_000


def _alert(since: int = NOW, severity: str = "critical") -> AlertDetails:
    return AlertDetails(
        "dtc",
        "critical",
        "P0A80: replace hybrid battery pack",
        since,
        "Vehicle.Diagnostics.DTCList",
        "P0A80",
    )


def test_repeated_alerts_attach_to_the_one_open_case(desk: ServiceDesk, engine: Engine) -> None:
    case, created = desk.open_from_alert(VIN, "dtc:P0A80", _alert())
    assert created and case.state is CaseState.OPEN and case.organisation == "north"
    engine.clock.now += 60_000
    again, created2 = desk.open_from_alert(VIN, "dtc:P0A80", _alert(NOW + 60_000))
    assert not created2 and again.id == case.id and again.alert_count == 2
    other, created3 = desk.open_from_alert(VIN, "tyre_pressure:Row1.Left", _alert())
    assert created3 and other.id != case.id
    elsewhere, created4 = desk.open_from_alert(VIN2, "dtc:P0A80", _alert())
    assert created4 and elsewhere.id != case.id
    kinds = [e.kind for e in desk.cases.events(case.id)]
    assert kinds == ["opened", "alert"]
    # Once the case is closed, the next alert opens a new one.
    desk.transition(case.id, CaseState.CANCELLED, TECH, note="duplicate")
    fresh, created5 = desk.open_from_alert(VIN, "dtc:P0A80", _alert())
    assert created5 and fresh.id != case.id


def test_the_state_machine_refuses_illegal_moves_naming_the_allowed(desk: ServiceDesk) -> None:
    case, _ = desk.open_case(VIN, "manual:noise", "Rattle at 50 km/h", "warning", TECH)
    with pytest.raises(IllegalTransition) as refused:
        desk.transition(case.id, CaseState.RESOLVED, TECH)
    assert refused.value.allowed == ["triaged", "cancelled"]
    assert "allowed: triaged, cancelled" in str(refused.value)
    with pytest.raises(IllegalTransition, match="book an appointment"):
        desk.transition(case.id, CaseState.APPOINTMENT_BOOKED, TECH)
    triaged = desk.transition(case.id, CaseState.TRIAGED, TECH, note="heard it")
    started = desk.transition(triaged.id, CaseState.IN_SERVICE, TECH)
    done = desk.transition(started.id, CaseState.RESOLVED, TECH, remedy="tighten-heat-shield")
    assert done.state is CaseState.RESOLVED and done.due_ms is None and done.remedy
    with pytest.raises(IllegalTransition, match="nothing \\(the case is closed\\)"):
        desk.transition(done.id, CaseState.TRIAGED, TECH)
    history = [(e.kind, e.actor, e.detail.get("to")) for e in desk.cases.events(case.id)]
    assert history == [
        ("opened", "tove", None),
        ("transition", "tove", "triaged"),
        ("transition", "tove", "in_service"),
        ("transition", "tove", "resolved"),
    ]


def test_notes_and_lines_are_kept_with_who_added_them(desk: ServiceDesk) -> None:
    case, _ = desk.open_case(VIN, "dtc:P0A80", "HV battery", "critical", TECH)
    desk.add_note(case.id, TECH, "cell 41 low")
    desk.add_line(case.id, TECH, "part", "HV module", 1, "MOD-41")
    desk.add_line(case.id, TECH, "labour", "replace module", 2.5)
    lines = desk.cases.lines(case.id)
    assert [(ln.kind, ln.quantity, ln.part_number, ln.actor) for ln in lines] == [
        ("part", 1.0, "MOD-41", "tove"),
        ("labour", 2.5, None, "tove"),
    ]
    assert [e.kind for e in desk.cases.events(case.id)] == ["opened", "note", "line", "line"]
    desk.transition(case.id, CaseState.CANCELLED, TECH)
    with pytest.raises(Conflict, match="takes no more lines"):
        desk.add_line(case.id, TECH, "part", "late", 1)


def test_sla_timers_and_overdue_marking(desk: ServiceDesk, engine: Engine) -> None:
    critical, _ = desk.open_case(VIN, "dtc:P0A80", "HV battery", "critical", TECH)
    warning, _ = desk.open_case(VIN2, "tyre_pressure:Row1.Left", "Tyre", "warning", TECH)
    assert critical.triage_due_ms == NOW + 4 * HOUR and critical.due_ms == NOW + 4 * HOUR
    assert warning.triage_due_ms == NOW + 24 * HOUR
    assert sla(critical, NOW + HOUR).overdue == ()
    assert sla(critical, NOW + 5 * HOUR).overdue == ("triage",)
    # The queue is ordered by the next deadline; overdue ones can be asked for.
    queue = desk.cases.find(CaseQuery(organisations=frozenset({"north"})))
    assert [c.id for c in queue] == [critical.id, warning.id]
    overdue = desk.cases.find(CaseQuery(overdue_at=NOW + 5 * HOUR))
    assert [c.id for c in overdue] == [critical.id]
    engine.clock.now = NOW + 2 * HOUR
    triaged = desk.transition(critical.id, CaseState.TRIAGED, TECH)
    assert triaged.due_ms == NOW + 48 * HOUR
    timers = sla(triaged, NOW + 50 * HOUR)
    assert timers.time_to_triage_ms == 2 * HOUR and timers.overdue == ("repair",)
    engine.clock.now = NOW + 3 * HOUR
    desk.transition(critical.id, CaseState.IN_SERVICE, TECH)
    engine.clock.now = NOW + 30 * HOUR
    done = desk.transition(critical.id, CaseState.RESOLVED, TECH)
    assert sla(done, NOW + 100 * HOUR).time_to_repair_ms == 30 * HOUR
    assert sla(done, NOW + 100 * HOUR).overdue == ()


def test_bad_input_is_refused_with_a_reason(desk: ServiceDesk) -> None:
    with pytest.raises(BadRequest, match="invalid problem key"):
        desk.open_case(VIN, "DTC P0A80!", "x", "warning", TECH)
    with pytest.raises(NotFound, match="not registered"):
        desk.open_case("JHMZZ1A1XRV999999", "dtc:P0A80", "x", "warning", TECH)
    with pytest.raises(NotFound):
        desk.transition("case_nothing", CaseState.TRIAGED, TECH)
