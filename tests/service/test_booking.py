"""Workshops and booking on both registry engines: slots from opening hours in the workshop's
time zone, a taken slot or a time outside the hours refused with the next free slots, moving
and cancelling, and concurrent bookings through separate connections (as separate API
processes would) that never share a bay."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.service.conftest import HOURS, NOW, VIN, VIN2, VIN3, Engine
from volta.errors import BadRequest, Conflict
from volta.service import CaseState, ServiceDesk
from volta.service.booking import SlotUnavailable
from volta.service.cases import IllegalTransition
from volta.service.model import Actor, Appointment, Workshop

TECH = Actor("tove", "technician")
DRIVER = Actor("dana", "driver")
HOUR = 3_600_000
# NOW is Monday 10:00 in Helsinki (UTC+2 in December): the 11:00 slot starts an hour later.
AT_11 = NOW + HOUR
AT_12 = NOW + 2 * HOUR  # lunch: closed
AT_13 = NOW + 3 * HOUR


def _workshop(desk: ServiceDesk, bays: int = 2) -> Workshop:
    return desk.add_workshop("North Garage", "north", bays, 60, "Europe/Helsinki", HOURS)


def test_slots_follow_opening_hours_in_the_workshops_time_zone(desk: ServiceDesk) -> None:
    ws = _workshop(desk)
    free = desk.bookings.free(ws, NOW, 8)
    starts = [(s.start_ms - NOW) // HOUR for s in free]
    # 10:00 (now), 11:00, then 13:00-16:00 (the last ends at 17:00), then Tuesday 08:00.
    assert starts == [0, 1, 3, 4, 5, 6, 22, 23]
    assert all(s.free_bays == 2 for s in free)


def test_a_taken_slot_answers_with_the_next_free_ones(desk: ServiceDesk) -> None:
    ws = _workshop(desk, bays=1)
    first, _ = desk.open_case(VIN, "dtc:P0A80", "HV battery", "critical", TECH)
    second, _ = desk.open_case(VIN2, "dtc:P0A80", "HV battery", "critical", TECH)
    appt, booked = desk.book(first.id, ws.id, AT_11, TECH)
    assert booked.state is CaseState.APPOINTMENT_BOOKED and booked.workshop_id == ws.id
    assert appt.bay == 0 and appt.end_ms == AT_11 + HOUR
    with pytest.raises(SlotUnavailable, match="is taken") as taken:
        desk.book(second.id, ws.id, AT_11, DRIVER)
    assert [s.start_ms for s in taken.value.alternatives][:2] == [AT_13, AT_13 + HOUR]
    with pytest.raises(SlotUnavailable, match="no slot starting") as closed:
        desk.book(second.id, ws.id, AT_12, DRIVER)
    assert closed.value.alternatives[0].start_ms == AT_13
    with pytest.raises(SlotUnavailable, match="grid"):
        desk.book(second.id, ws.id, AT_13 + 30 * 60_000, DRIVER)
    with pytest.raises(SlotUnavailable, match="has passed"):
        desk.book(second.id, ws.id, NOW - 2 * HOUR, DRIVER)
    # The refused attempts changed nothing.
    assert desk.cases.get(second.id).state is CaseState.OPEN
    assert desk.bookings.taken(ws.id, NOW, NOW + 24 * HOUR) == {AT_11: 1}


def test_moving_and_cancelling_free_the_old_bay(desk: ServiceDesk, engine: Engine) -> None:
    ws = _workshop(desk, bays=1)
    case, _ = desk.open_case(VIN, "dtc:P0A80", "HV battery", "critical", TECH)
    desk.transition(case.id, CaseState.TRIAGED, TECH)
    appt, _ = desk.book(case.id, ws.id, AT_11, DRIVER)
    moved = desk.move(appt.id, AT_13, DRIVER)
    assert moved.start_ms == AT_13
    assert desk.bookings.taken(ws.id, NOW, NOW + 24 * HOUR) == {AT_13: 1}
    with pytest.raises(IllegalTransition, match="cannot go to appointment_booked"):
        desk.book(case.id, ws.id, AT_11, DRIVER)  # one appointment per case
    cancelled, back = desk.cancel(appt.id, DRIVER)
    assert cancelled.state == "cancelled" and back.state is CaseState.TRIAGED
    assert desk.bookings.taken(ws.id, NOW, NOW + 24 * HOUR) == {}
    with pytest.raises(Conflict, match="nothing to cancel"):
        desk.cancel(appt.id, DRIVER)
    # In service, the appointment is attended; the bay stays taken (the car is there).
    again, _ = desk.book(case.id, ws.id, AT_11, DRIVER)
    engine.clock.now = AT_11
    desk.transition(case.id, CaseState.IN_SERVICE, TECH)
    assert desk.bookings.appointment(again.id).state == "attended"
    assert desk.bookings.taken(ws.id, NOW, NOW + 24 * HOUR) == {AT_11: 1}
    events = [(e.kind, e.text) for e in desk.cases.events(case.id) if e.kind == "appointment"]
    assert events == [("appointment", t) for t in ("booked", "moved", "cancelled", "booked")]


def test_a_workshop_takes_only_its_organisations_cases(desk: ServiceDesk) -> None:
    ws = _workshop(desk)
    south, _ = desk.open_case(VIN3, "dtc:P0A80", "HV battery", "critical", TECH)
    with pytest.raises(Conflict, match="belongs to north"):
        desk.book(south.id, ws.id, AT_11, TECH)


def test_bad_workshops_are_refused_with_a_reason(desk: ServiceDesk) -> None:
    with pytest.raises(BadRequest, match="unknown time zone"):
        desk.add_workshop("W", "north", 2, 60, "Mars/Olympus", HOURS)
    with pytest.raises(BadRequest, match="unknown day"):
        desk.add_workshop("W", "north", 2, 60, "UTC", {"monday": [["08:00", "17:00"]]})
    with pytest.raises(BadRequest, match="is empty"):
        desk.add_workshop("W", "north", 2, 60, "UTC", {"mon": [["17:00", "08:00"]]})
    with pytest.raises(BadRequest, match="overlap"):
        desk.add_workshop(
            "W", "north", 2, 60, "UTC", {"mon": [["08:00", "12:00"], ["11:00", "13:00"]]}
        )
    with pytest.raises(BadRequest, match="bays"):
        desk.add_workshop("W", "north", 0, 60, "UTC", HOURS)


def test_concurrent_bookings_never_share_a_bay(engine: Engine) -> None:
    """Eight people book the same two-bay slot at once, each through a connection of its own:
    exactly two get it, on different bays; the others are told the next free slots."""
    setup = engine.desk()
    ws = _workshop(setup, bays=2)
    cases = [
        setup.open_case(VIN if i % 2 else VIN2, f"manual:n{i}", f"case {i}", "warning", TECH)[0]
        for i in range(8)
    ]
    desks = [engine.desk() for _ in cases]
    barrier = threading.Barrier(len(cases))

    def book(i: int) -> Appointment | SlotUnavailable:
        barrier.wait()
        try:
            return desks[i].book(cases[i].id, ws.id, AT_11, DRIVER)[0]
        except SlotUnavailable as e:
            return e

    with ThreadPoolExecutor(len(cases)) as pool:
        outcomes = list(pool.map(book, range(len(cases))))
    won = [o for o in outcomes if isinstance(o, Appointment)]
    refused = [o for o in outcomes if isinstance(o, SlotUnavailable)]
    assert len(won) == 2 and sorted(a.bay for a in won) == [0, 1]
    assert len(refused) == 6
    assert all(r.alternatives[0].start_ms == AT_13 for r in refused)
    assert setup.bookings.taken(ws.id, NOW, NOW + 24 * HOUR) == {AT_11: 2}
    booked = {c.id for c in cases if setup.cases.get(c.id).state is CaseState.APPOINTMENT_BOOKED}
    assert booked == {a.case_id for a in won}
