"""Workshops and appointments in the registry's database. Booking is one transaction that
first takes the workshop's row lock (`UPDATE svc_workshops SET bookings = bookings + 1`: a
row lock on PostgreSQL, the write lock on SQLite), so bookings of one workshop are checked and
written one at a time; the claim's primary key (workshop, start, bay) is the last guard: two
people can never hold the same bay at the same time.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from volta.errors import Conflict, NotFound
from volta.registry.database import Database, Row, Statements, Taken
from volta.service.casebook import CASE_COLUMNS, add_event, case_of, move_case, new_id
from volta.service.cases import check_transition
from volta.service.model import Actor, Appointment, Case, CaseState, Workshop
from volta.service.slots import FreeSlot, free_slots, is_slot

_WS_COLUMNS = "id, name, organisation, bays, slot_minutes, timezone, hours, created_ms"
_APPT_COLUMNS = (
    "id, case_id, workshop_id, vin, start_ms, end_ms, bay, state, booked_by, created_ms, updated_ms"
)
ALTERNATIVES = 5


class SlotUnavailable(Conflict):
    """The wished slot cannot be booked (taken, outside opening hours, past); `alternatives`
    are the next free slots."""

    def __init__(self, message: str, alternatives: list[FreeSlot]) -> None:
        super().__init__(message)
        self.alternatives = alternatives


class _Refused(Exception):
    """Raised inside the booking transaction to roll it back; turned into SlotUnavailable
    (with alternatives read after the rollback)."""

    def __init__(self, reason: str, from_ms: int) -> None:
        self.reason = reason
        self.from_ms = from_ms


class Bookings:
    """Workshops, their free slots and appointments over a `Database`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- workshops --------------------------------------------------------------------------

    def add_workshop(self, ws: Workshop) -> Workshop:
        hours = json.dumps({str(d): [list(s) for s in spans] for d, spans in ws.hours.items()})
        with self._db.transaction() as tx:
            tx.execute(
                f"INSERT INTO svc_workshops ({_WS_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)",
                (
                    ws.id,
                    ws.name,
                    ws.organisation,
                    ws.bays,
                    ws.slot_minutes,
                    ws.timezone,
                    hours,
                    ws.created_ms,
                ),
            )
        return ws

    def workshop(self, workshop_id: str) -> Workshop:
        with self._db.connection() as c:
            row = c.one(f"SELECT {_WS_COLUMNS} FROM svc_workshops WHERE id = ?", (workshop_id,))
        if row is None:
            raise NotFound(f"no workshop {workshop_id}")
        return _workshop(row)

    def workshops(self, organisations: frozenset[str] | None = None) -> list[Workshop]:
        """Every workshop, or those of the given organisations; by organisation, then id."""
        sql = f"SELECT {_WS_COLUMNS} FROM svc_workshops"
        args: list[Any] = []
        if organisations is not None:
            if not organisations:
                return []
            sql += f" WHERE organisation IN ({','.join('?' * len(organisations))})"
            args += sorted(organisations)
        with self._db.connection() as c:
            rows = c.rows(sql + " ORDER BY organisation, id", args)
        return [_workshop(r) for r in rows]

    def taken(self, workshop_id: str, from_ms: int, to_ms: int) -> dict[int, int]:
        """Bays taken per slot start in [from_ms, to_ms)."""
        with self._db.connection() as c:
            return _taken(c, workshop_id, from_ms, to_ms)

    def free(
        self, ws: Workshop, from_ms: int, limit: int, horizon_days: int = 60
    ) -> list[FreeSlot]:
        """The next `limit` slots with a bay free from `from_ms`."""
        taken = self.taken(ws.id, from_ms, from_ms + horizon_days * 86_400_000)
        return free_slots(ws, taken, from_ms, limit, horizon_days)

    # -- appointments -----------------------------------------------------------------------

    def book(
        self, case_id: str, workshop_id: str, start_ms: int, actor: Actor, now_ms: int
    ) -> tuple[Appointment, Case]:
        """Book the case into the workshop at `start_ms` and move it to APPOINTMENT_BOOKED.
        SlotUnavailable (with the next free slots) for a taken slot or one the workshop does
        not have; IllegalTransition for a case that cannot be booked now; Conflict for a case
        of another organisation than the workshop's."""
        ws = self.workshop(workshop_id)
        try:
            with self._db.transaction() as tx:
                _lock(tx, ws.id)
                case = _case(tx, case_id)
                check_transition(case, CaseState.APPOINTMENT_BOOKED, by_booking=True)
                if case.organisation != ws.organisation:
                    raise Conflict(
                        f"workshop {ws.id} belongs to {ws.organisation}; the vehicle of case"
                        f" {case_id} is serviced by {case.organisation or 'no organisation'}"
                    )
                bay = _free_bay(tx, ws, start_ms, now_ms)
                appt = Appointment(
                    id=new_id("appt"),
                    case_id=case_id,
                    workshop_id=ws.id,
                    vin=case.vin,
                    start_ms=start_ms,
                    end_ms=start_ms + ws.slot_minutes * 60_000,
                    bay=bay,
                    state="booked",
                    booked_by=actor.name,
                    created_ms=now_ms,
                    updated_ms=now_ms,
                )
                _claim(tx, appt)
                tx.execute(
                    f"INSERT INTO svc_appointments ({_APPT_COLUMNS}) VALUES"
                    " (?,?,?,?,?,?,?,?,?,?,?)",
                    _appt_row(appt),
                )
                moved = move_case(
                    tx, case, CaseState.APPOINTMENT_BOOKED, actor, now_ms, workshop_id=ws.id
                )
                add_event(
                    tx,
                    case_id,
                    actor,
                    "appointment",
                    now_ms,
                    "booked",
                    {"appointment": appt.id, "workshop": ws.id, "start_ms": start_ms},
                )
                return appt, moved
        except _Refused as refused:
            raise self._unavailable(ws, refused, now_ms) from None

    def move(self, appointment_id: str, start_ms: int, actor: Actor, now_ms: int) -> Appointment:
        """Move a booked appointment to another slot of its workshop (the old bay is freed in
        the same transaction). SlotUnavailable with the next free slots."""
        appt = self.appointment(appointment_id)
        ws = self.workshop(appt.workshop_id)
        try:
            with self._db.transaction() as tx:
                _lock(tx, ws.id)
                current = _appointment(tx, appointment_id)
                if current.state != "booked":
                    raise Conflict(f"appointment {appointment_id} is {current.state}: book anew")
                tx.execute("DELETE FROM svc_slot_claims WHERE appointment_id = ?", (current.id,))
                bay = _free_bay(tx, ws, start_ms, now_ms)
                moved = replace(
                    current,
                    start_ms=start_ms,
                    end_ms=start_ms + ws.slot_minutes * 60_000,
                    bay=bay,
                    updated_ms=now_ms,
                )
                _claim(tx, moved)
                tx.execute(
                    "UPDATE svc_appointments SET start_ms = ?, end_ms = ?, bay = ?,"
                    " updated_ms = ? WHERE id = ?",
                    (moved.start_ms, moved.end_ms, moved.bay, now_ms, moved.id),
                )
                add_event(
                    tx,
                    moved.case_id,
                    actor,
                    "appointment",
                    now_ms,
                    "moved",
                    {"appointment": moved.id, "from_ms": current.start_ms, "start_ms": start_ms},
                )
                return moved
        except _Refused as refused:
            raise self._unavailable(ws, refused, now_ms) from None

    def cancel(self, appointment_id: str, actor: Actor, now_ms: int) -> tuple[Appointment, Case]:
        """Cancel a booked appointment: its bay is free again and the case goes back to
        triaged (open if it was never triaged)."""
        with self._db.transaction() as tx:
            appt = _appointment(tx, appointment_id)
            if appt.state != "booked":
                raise Conflict(f"appointment {appointment_id} is {appt.state}: nothing to cancel")
            tx.execute("DELETE FROM svc_slot_claims WHERE appointment_id = ?", (appt.id,))
            tx.execute(
                "UPDATE svc_appointments SET state = 'cancelled', updated_ms = ? WHERE id = ?",
                (now_ms, appt.id),
            )
            case = _case(tx, appt.case_id)
            if case.state is CaseState.APPOINTMENT_BOOKED:
                # Back to where it was before the booking (a case booked straight from open
                # was never triaged).
                back = CaseState.TRIAGED if case.triaged_ms is not None else CaseState.OPEN
                case = move_case(tx, case, back, actor, now_ms)
            add_event(
                tx, case.id, actor, "appointment", now_ms, "cancelled", {"appointment": appt.id}
            )
        return replace(appt, state="cancelled", updated_ms=now_ms), case

    def appointment(self, appointment_id: str) -> Appointment:
        with self._db.connection() as c:
            return _appointment(c, appointment_id)

    def appointments(
        self,
        *,
        workshop_ids: frozenset[str] | None = None,
        vins: frozenset[str] | None = None,
        case_id: str | None = None,
        from_ms: int | None = None,
        limit: int = 100,
    ) -> list[Appointment]:
        """Booked appointments (by start) matching every given filter."""
        where = ["state = 'booked'"]
        args: list[Any] = []
        for column, values in (("workshop_id", workshop_ids), ("vin", vins)):
            if values is not None:
                if not values:
                    return []
                where.append(f"{column} IN ({','.join('?' * len(values))})")
                args += sorted(values)
        if case_id is not None:
            where.append("case_id = ?")
            args.append(case_id)
        if from_ms is not None:
            where.append("start_ms >= ?")
            args.append(from_ms)
        sql = (
            f"SELECT {_APPT_COLUMNS} FROM svc_appointments WHERE {' AND '.join(where)}"
            " ORDER BY start_ms, id LIMIT ?"
        )
        with self._db.connection() as c:
            rows = c.rows(sql, (*args, limit))
        return [_appointment_of(r) for r in rows]

    def _unavailable(self, ws: Workshop, refused: _Refused, now_ms: int) -> SlotUnavailable:
        alternatives = self.free(ws, max(now_ms, refused.from_ms), ALTERNATIVES)
        return SlotUnavailable(refused.reason, alternatives)


def _lock(tx: Statements, workshop_id: str) -> None:
    if (
        tx.execute("UPDATE svc_workshops SET bookings = bookings + 1 WHERE id = ?", (workshop_id,))
        != 1
    ):
        raise NotFound(f"no workshop {workshop_id}")


def _free_bay(tx: Statements, ws: Workshop, start_ms: int, now_ms: int) -> int:
    """The lowest free bay at `start_ms`; _Refused when there is none or no such slot."""
    if start_ms < now_ms:
        raise _Refused(f"{_iso(start_ms)} has passed; pick a later slot", now_ms)
    if not is_slot(ws, start_ms):
        raise _Refused(
            f"workshop {ws.id} has no slot starting at {_iso(start_ms)} (outside its opening"
            f" hours or not on its {ws.slot_minutes}-minute grid, {ws.timezone})",
            start_ms,
        )
    used = {
        int(r[0])
        for r in tx.rows(
            "SELECT bay FROM svc_slot_claims WHERE workshop_id = ? AND start_ms = ?",
            (ws.id, start_ms),
        )
    }
    for bay in range(ws.bays):
        if bay not in used:
            return bay
    raise _Refused(
        f"the slot at {_iso(start_ms)} is taken (all {ws.bays} bays of {ws.id} are booked)",
        start_ms,
    )


def _claim(tx: Statements, appt: Appointment) -> None:
    try:
        tx.execute(
            "INSERT INTO svc_slot_claims (workshop_id, start_ms, bay, appointment_id)"
            " VALUES (?,?,?,?)",
            (appt.workshop_id, appt.start_ms, appt.bay, appt.id),
        )
    except Taken:
        raise _Refused(f"the slot at {_iso(appt.start_ms)} was just taken", appt.start_ms) from None


def _taken(c: Statements, workshop_id: str, from_ms: int, to_ms: int) -> dict[int, int]:
    rows = c.rows(
        "SELECT start_ms, count(*) FROM svc_slot_claims WHERE workshop_id = ? AND start_ms >= ?"
        " AND start_ms < ? GROUP BY start_ms",
        (workshop_id, from_ms, to_ms),
    )
    return {int(r[0]): int(r[1]) for r in rows}


def _case(tx: Statements, case_id: str) -> Case:
    row = tx.one(f"SELECT {CASE_COLUMNS} FROM svc_cases WHERE id = ?", (case_id,))
    if row is None:
        raise NotFound(f"no case {case_id}")
    return case_of(row)


def _appointment(c: Statements, appointment_id: str) -> Appointment:
    row = c.one(f"SELECT {_APPT_COLUMNS} FROM svc_appointments WHERE id = ?", (appointment_id,))
    if row is None:
        raise NotFound(f"no appointment {appointment_id}")
    return _appointment_of(row)


def _appointment_of(r: Row) -> Appointment:
    return Appointment(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10])


def _appt_row(a: Appointment) -> tuple[object, ...]:
    return (
        a.id,
        a.case_id,
        a.workshop_id,
        a.vin,
        a.start_ms,
        a.end_ms,
        a.bay,
        a.state,
        a.booked_by,
        a.created_ms,
        a.updated_ms,
    )


def _workshop(r: Row) -> Workshop:
    hours = {
        int(d): tuple((int(a), int(b)) for a, b in spans) for d, spans in json.loads(r[6]).items()
    }
    return Workshop(r[0], r[1], r[2], int(r[3]), int(r[4]), r[5], hours, r[7])


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%MZ")
