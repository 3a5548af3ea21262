"""Moving an embedded registry into PostgreSQL (`volta registry migrate --from-sqlite`)
brings the service records along: cases with their history, workshops, booked slots."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from tests.service.conftest import HOURS, NOW, SERVICE_RUN, VIN, Clock
from volta.registry import SQLiteRegistry
from volta.registry.copy import copy_registry
from volta.service import CaseState, ServiceDesk
from volta.service.booking import SlotUnavailable
from volta.service.model import Actor

TECH = Actor("tove", "technician")


def test_service_records_survive_the_move_to_postgresql(tmp_path: Path) -> None:
    from volta.registry.postgres import PostgresRegistry

    clock = Clock()
    source = SQLiteRegistry.open(tmp_path, clock)
    source.add_vehicle(VIN, "Model V", organisation="north")
    desk = ServiceDesk(source.database, source, clock)
    ws = desk.add_workshop("North", "north", 1, 60, "Europe/Helsinki", HOURS)
    case, _ = desk.open_case(VIN, "dtc:P0A80", "HV battery", "critical", TECH)
    desk.add_note(case.id, TECH, "cell 41")
    appt, _ = desk.book(case.id, ws.id, NOW + 3_600_000, TECH)
    target = PostgresRegistry(SERVICE_RUN.ensure(), secrets.token_bytes(32),
                              schema=SERVICE_RUN.new_schema(), clock=clock)  # fmt: skip
    try:
        copied = copy_registry(source.database, target.database)
        assert copied["svc_cases"] == 1 and copied["svc_slot_claims"] == 1
        moved = ServiceDesk(target.database, target, clock)
        assert moved.cases.get(case.id).state is CaseState.APPOINTMENT_BOOKED
        before = [e.kind for e in moved.cases.events(case.id)]
        assert before == ["opened", "note", "transition", "appointment"]
        moved.add_note(case.id, TECH, "after the move")  # numbered after the copied events
        assert [e.kind for e in moved.cases.events(case.id)][-1] == "note"
        other, _ = moved.open_case(VIN, "manual:x", "x", "warning", TECH)
        with pytest.raises(SlotUnavailable, match="is taken"):  # the copied claim holds it
            moved.book(other.id, ws.id, appt.start_ms, TECH)
    finally:
        target.close()
        source.close()
