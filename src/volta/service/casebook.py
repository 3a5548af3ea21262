"""Service cases in the registry's database (SQLite embedded, PostgreSQL scale-out): opening
(one open case per vehicle and problem), transitions, notes, lines and the queues.

Every change is one transaction. A transition writes `UPDATE … WHERE state = <what was read>`,
so two people moving the same case at once cannot both win: the second gets a Conflict.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from volta.errors import Conflict, NotFound
from volta.registry.database import Database, Row, Statements, Taken
from volta.service.cases import check_transition, deadlines, next_due
from volta.service.model import (
    Actor,
    AlertDetails,
    Case,
    CaseEvent,
    CaseLine,
    CaseState,
    LineKind,
    Severity,
)

CASE_COLUMNS = (
    "id, vin, organisation, problem_key, title, severity, source, state, opened_ms, opened_by,"
    " triage_due_ms, repair_due_ms, due_ms, updated_ms, triaged_ms, started_ms, closed_ms,"
    " alert_count, last_alert_ms, workshop_id, recall_id, remedy"
)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


@dataclass(frozen=True, slots=True)
class CaseQuery:
    """Which cases to list. `organisations` / `vins` restrict to what the caller may see
    (None = no restriction). `active` only open work, ordered by SLA deadline; otherwise newest
    first. `overdue_at`: only active cases whose next deadline is before it."""

    organisations: frozenset[str] | None = None
    vins: frozenset[str] | None = None
    vin: str | None = None
    workshop_id: str | None = None
    state: CaseState | None = None
    active: bool = True
    overdue_at: int | None = None
    recall_id: str | None = None
    limit: int = 50
    offset: int = 0


class CaseBook:
    """Cases, their history and lines over a `Database`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def open_case(
        self,
        *,
        vin: str,
        organisation: str | None,
        problem_key: str,
        title: str,
        severity: Severity,
        source: str,
        actor: Actor,
        now_ms: int,
        alert: AlertDetails | None = None,
        recall_id: str | None = None,
    ) -> tuple[Case, bool]:
        """The vehicle's open case for the problem, and whether it was opened now: a second
        alert for the same problem attaches to the open case (counted, in its history)."""
        for _ in range(3):  # a race with another opener ends in Taken; the winner's case is read
            try:
                with self._db.transaction() as tx:
                    found = self._open_for(tx, vin, problem_key)
                    if found is not None:
                        if alert is not None:
                            found = self._attach(tx, found, alert, actor, now_ms)
                        return found, False
                    case = self._insert(
                        tx,
                        vin,
                        organisation,
                        problem_key,
                        title,
                        severity,
                        source,
                        actor,
                        now_ms,
                        alert,
                        recall_id,
                    )
                    return case, True
            except Taken:
                continue
        raise Conflict(f"could not open a case for {vin} {problem_key}: retry")

    def get(self, case_id: str) -> Case:
        with self._db.connection() as c:
            row = c.one(f"SELECT {CASE_COLUMNS} FROM svc_cases WHERE id = ?", (case_id,))
        if row is None:
            raise NotFound(f"no case {case_id}")
        return case_of(row)

    def transition(
        self,
        case_id: str,
        to: CaseState,
        actor: Actor,
        now_ms: int,
        *,
        note: str | None = None,
        remedy: str | None = None,
    ) -> Case:
        """Move a case a person asked to move. IllegalTransition (409) naming the allowed
        states; a case leaving APPOINTMENT_BOOKED for good releases or closes its appointment."""
        with self._db.transaction() as tx:
            case = self._read(tx, case_id)
            check_transition(case, to)
            moved = move_case(tx, case, to, actor, now_ms, note=note, remedy=remedy)
            if to is CaseState.IN_SERVICE:
                _settle_appointment(tx, case_id, "attended")
            elif to.final:
                _settle_appointment(tx, case_id, None)
            if moved.recall_id is not None and to is CaseState.RESOLVED:
                _complete_recall(tx, moved, now_ms)
            return moved

    def add_note(self, case_id: str, actor: Actor, text: str, now_ms: int) -> CaseEvent:
        with self._db.transaction() as tx:
            self._read(tx, case_id)
            _touch(tx, case_id, now_ms)
            return add_event(tx, case_id, actor, "note", now_ms, text)

    def add_line(
        self,
        case_id: str,
        actor: Actor,
        kind: LineKind,
        description: str,
        quantity: float,
        part_number: str | None,
        now_ms: int,
    ) -> CaseLine:
        """A part or labour line; a closed case takes none (Conflict)."""
        with self._db.transaction() as tx:
            case = self._read(tx, case_id)
            if case.state.final:
                raise Conflict(f"case {case_id} is {case.state.value}: it takes no more lines")
            row = tx.one(
                "INSERT INTO svc_case_lines (case_id, ts_ms, actor, kind, description,"
                " part_number, quantity) VALUES (?,?,?,?,?,?,?) RETURNING id",
                (case_id, now_ms, actor.name, kind, description, part_number, quantity),
            )
            line_id = int(row[0]) if row is not None else 0
            detail = {"line": line_id, "kind": kind, "quantity": quantity}
            add_event(tx, case_id, actor, "line", now_ms, description, detail)
            _touch(tx, case_id, now_ms)
        return CaseLine(
            line_id, case_id, now_ms, actor.name, kind, description, part_number, quantity
        )

    def events(self, case_id: str) -> list[CaseEvent]:
        with self._db.connection() as c:
            rows = c.rows(
                "SELECT id, case_id, ts_ms, actor, role, kind, text, detail FROM svc_case_events"
                " WHERE case_id = ? ORDER BY id",
                (case_id,),
            )
        return [CaseEvent(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7])) for r in rows]

    def lines(self, case_id: str) -> list[CaseLine]:
        with self._db.connection() as c:
            rows = c.rows(
                "SELECT id, case_id, ts_ms, actor, kind, description, part_number, quantity"
                " FROM svc_case_lines WHERE case_id = ? ORDER BY id",
                (case_id,),
            )
        return [CaseLine(r[0], r[1], r[2], r[3], r[4], r[5], r[6], float(r[7])) for r in rows]

    def find(self, q: CaseQuery) -> list[Case]:
        """Cases matching the query (see `CaseQuery`)."""
        where: list[str] = []
        args: list[Any] = []
        if q.organisations is not None:
            if not q.organisations:
                return []
            where.append(f"organisation IN ({','.join('?' * len(q.organisations))})")
            args += sorted(q.organisations)
        if q.vins is not None:
            if not q.vins:
                return []
            where.append(f"vin IN ({','.join('?' * len(q.vins))})")
            args += sorted(q.vins)
        for column, value in (
            ("vin", q.vin),
            ("workshop_id", q.workshop_id),
            ("recall_id", q.recall_id),
            ("state", q.state.value if q.state else None),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if q.active:
            where.append("active = 1")
        if q.overdue_at is not None:
            where += ["active = 1", "due_ms < ?"]
            args.append(q.overdue_at)
        order = "due_ms, id" if q.active or q.overdue_at is not None else "opened_ms DESC, id"
        sql = (
            f"SELECT {CASE_COLUMNS} FROM svc_cases"
            + (" WHERE " + " AND ".join(where) if where else "")
            + f" ORDER BY {order} LIMIT ? OFFSET ?"
        )
        with self._db.connection() as c:
            rows = c.rows(sql, (*args, q.limit, q.offset))
        return [case_of(r) for r in rows]

    # -- inside a transaction ---------------------------------------------------------------

    def _read(self, tx: Statements, case_id: str) -> Case:
        row = tx.one(f"SELECT {CASE_COLUMNS} FROM svc_cases WHERE id = ?", (case_id,))
        if row is None:
            raise NotFound(f"no case {case_id}")
        return case_of(row)

    def _open_for(self, tx: Statements, vin: str, key: str) -> Case | None:
        row = tx.one(
            f"SELECT {CASE_COLUMNS} FROM svc_cases WHERE vin = ? AND problem_key = ?"
            " AND active = 1",
            (vin, key),
        )
        return None if row is None else case_of(row)

    def _attach(
        self, tx: Statements, case: Case, alert: AlertDetails, actor: Actor, now_ms: int
    ) -> Case:
        tx.execute(
            "UPDATE svc_cases SET alert_count = alert_count + 1, last_alert_ms = ?,"
            " updated_ms = ? WHERE id = ?",
            (alert.since_ms, now_ms, case.id),
        )
        add_event(tx, case.id, actor, "alert", now_ms, alert.message, _alert_detail(alert))
        return replace(
            case, alert_count=case.alert_count + 1, last_alert_ms=alert.since_ms, updated_ms=now_ms
        )

    def _insert(
        self,
        tx: Statements,
        vin: str,
        organisation: str | None,
        key: str,
        title: str,
        severity: Severity,
        source: str,
        actor: Actor,
        now_ms: int,
        alert: AlertDetails | None,
        recall_id: str | None,
    ) -> Case:
        triage_due, repair_due = deadlines(severity, now_ms)
        case = Case(
            id=new_id("case"),
            vin=vin,
            organisation=organisation,
            problem_key=key,
            title=title,
            severity=severity,
            source=source,
            state=CaseState.OPEN,
            opened_ms=now_ms,
            opened_by=actor.name,
            triage_due_ms=triage_due,
            repair_due_ms=repair_due,
            due_ms=triage_due,
            updated_ms=now_ms,
            alert_count=1 if alert else 0,
            last_alert_ms=alert.since_ms if alert else None,
            recall_id=recall_id,
        )
        tx.execute(
            f"INSERT INTO svc_cases ({CASE_COLUMNS}, active) VALUES"
            f" ({','.join('?' * (len(CASE_COLUMNS.split(',')) + 1))})",
            (*case_row(case), 1),
        )
        detail = _alert_detail(alert) if alert else {}
        add_event(tx, case.id, actor, "opened", now_ms, title, {"problem_key": key, **detail})
        return case


def move_case(
    tx: Statements,
    case: Case,
    to: CaseState,
    actor: Actor,
    now_ms: int,
    *,
    note: str | None = None,
    remedy: str | None = None,
    workshop_id: str | None = None,
) -> Case:
    """Write a checked transition (inside the caller's transaction). Conflict if someone else
    moved the case since it was read."""
    triaged = case.triaged_ms
    # Triage is a person looking at the case; a driver's booking or a cancellation is not.
    if triaged is None and to not in (CaseState.APPOINTMENT_BOOKED, CaseState.CANCELLED):
        triaged = now_ms
    started = now_ms if to is CaseState.IN_SERVICE and case.started_ms is None else case.started_ms
    moved = replace(
        case,
        state=to,
        updated_ms=now_ms,
        triaged_ms=triaged,
        started_ms=started,
        closed_ms=now_ms if to.final else None,
        due_ms=next_due(to, case.triage_due_ms, case.repair_due_ms),
        remedy=remedy if remedy is not None else case.remedy,
        workshop_id=workshop_id if workshop_id is not None else case.workshop_id,
    )
    changed = tx.execute(
        "UPDATE svc_cases SET state = ?, active = ?, updated_ms = ?, triaged_ms = ?,"
        " started_ms = ?, closed_ms = ?, due_ms = ?, remedy = ?, workshop_id = ?"
        " WHERE id = ? AND state = ?",
        (
            to.value,
            0 if to.final else 1,
            now_ms,
            moved.triaged_ms,
            moved.started_ms,
            moved.closed_ms,
            moved.due_ms,
            moved.remedy,
            moved.workshop_id,
            case.id,
            case.state.value,
        ),
    )
    if changed != 1:
        raise Conflict(f"case {case.id} changed while this was being done: read it and retry")
    detail: dict[str, Any] = {"from": case.state.value, "to": to.value}
    if remedy is not None:
        detail["remedy"] = remedy
    add_event(tx, case.id, actor, "transition", now_ms, note, detail)
    return moved


def add_event(
    tx: Statements,
    case_id: str,
    actor: Actor,
    kind: str,
    now_ms: int,
    text: str | None,
    detail: dict[str, Any] | None = None,
) -> CaseEvent:
    row = tx.one(
        "INSERT INTO svc_case_events (case_id, ts_ms, actor, role, kind, text, detail)"
        " VALUES (?,?,?,?,?,?,?) RETURNING id",
        (case_id, now_ms, actor.name, actor.role, kind, text, json.dumps(detail or {})),
    )
    return CaseEvent(
        int(row[0]) if row else 0, case_id, now_ms, actor.name, actor.role, kind, text, detail or {}
    )


def case_of(r: Row) -> Case:
    return Case(
        id=r[0],
        vin=r[1],
        organisation=r[2],
        problem_key=r[3],
        title=r[4],
        severity=r[5],
        source=r[6],
        state=CaseState(r[7]),
        opened_ms=r[8],
        opened_by=r[9],
        triage_due_ms=r[10],
        repair_due_ms=r[11],
        due_ms=r[12],
        updated_ms=r[13],
        triaged_ms=r[14],
        started_ms=r[15],
        closed_ms=r[16],
        alert_count=r[17],
        last_alert_ms=r[18],
        workshop_id=r[19],
        recall_id=r[20],
        remedy=r[21],
    )


def case_row(c: Case) -> Sequence[object]:
    return (
        c.id,
        c.vin,
        c.organisation,
        c.problem_key,
        c.title,
        c.severity,
        c.source,
        c.state.value,
        c.opened_ms,
        c.opened_by,
        c.triage_due_ms,
        c.repair_due_ms,
        c.due_ms,
        c.updated_ms,
        c.triaged_ms,
        c.started_ms,
        c.closed_ms,
        c.alert_count,
        c.last_alert_ms,
        c.workshop_id,
        c.recall_id,
        c.remedy,
    )


def _touch(tx: Statements, case_id: str, now_ms: int) -> None:
    tx.execute("UPDATE svc_cases SET updated_ms = ? WHERE id = ?", (now_ms, case_id))


def _settle_appointment(tx: Statements, case_id: str, state: str | None) -> None:
    """The case's booked appointment ends: attended (its bay stays taken, the car is there) or,
    with `state` None, cancelled (the bay is free again)."""
    row = tx.one(
        "SELECT id FROM svc_appointments WHERE case_id = ? AND state = 'booked'", (case_id,)
    )
    if row is None:
        return
    if state is None:
        tx.execute("DELETE FROM svc_slot_claims WHERE appointment_id = ?", (row[0],))
    tx.execute("UPDATE svc_appointments SET state = ? WHERE id = ?", (state or "cancelled", row[0]))


def _complete_recall(tx: Statements, case: Case, now_ms: int) -> None:
    """A recall case resolved with the campaign's remedy completes the vehicle."""
    tx.execute(
        "UPDATE svc_recall_vehicles SET completed_ms = ?, case_id = ?, completed_via = 'case'"
        " WHERE recall_id = ?"
        " AND vin = ? AND completed_ms IS NULL AND EXISTS (SELECT 1 FROM svc_recalls r"
        " WHERE r.id = svc_recall_vehicles.recall_id AND r.remedy = ?)",
        (now_ms, case.id, case.recall_id, case.vin, case.remedy),
    )


def _alert_detail(alert: AlertDetails) -> dict[str, Any]:
    return {
        "kind": alert.kind,
        "severity": alert.severity,
        "since_ms": alert.since_ms,
        "signal": alert.signal,
        "value": alert.value,
    }
