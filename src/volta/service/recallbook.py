"""Recalls and their vehicles in the registry's database. The affected vehicles are fixed
when the recall is created (a campaign's scope does not drift); completion is written when a
recall case is resolved with the campaign's remedy (`casebook`) or when the twin shows the
recall's fixing software installed (`complete_by_software`, called by the desk)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from volta.errors import NotFound
from volta.registry.database import Database, Row
from volta.service.model import Recall, RecallFilter, RecallVehicle, SoftwareFix

_COLUMNS = (
    "id, title, description, remedy, filter, state, created_ms, created_by, last_reminder_ms,"
    " fix_ecu, fix_version"
)
_VEHICLE_COLUMNS = "recall_id, vin, added_ms, completed_ms, case_id, reminders, completed_via"


class RecallBook:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, recall: Recall, vins: list[str]) -> Recall:
        """Store the recall with its affected vehicles, in one transaction."""
        with self._db.transaction() as tx:
            tx.execute(
                f"INSERT INTO svc_recalls ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    recall.id,
                    recall.title,
                    recall.description,
                    recall.remedy,
                    json.dumps(filter_to_json(recall.filter)),
                    recall.state,
                    recall.created_ms,
                    recall.created_by,
                    None,
                    recall.fix.ecu if recall.fix else None,
                    recall.fix.version if recall.fix else None,
                ),
            )
            for vin in vins:
                tx.execute(
                    f"INSERT INTO svc_recall_vehicles ({_VEHICLE_COLUMNS}) VALUES (?,?,?,?,?,?,?)",
                    (recall.id, vin, recall.created_ms, None, None, 0, None),
                )
        return recall

    def get(self, recall_id: str) -> Recall:
        with self._db.connection() as c:
            row = c.one(f"SELECT {_COLUMNS} FROM svc_recalls WHERE id = ?", (recall_id,))
        if row is None:
            raise NotFound(f"no recall {recall_id}")
        return _recall(row)

    def all(self) -> list[Recall]:
        with self._db.connection() as c:
            rows = c.rows(f"SELECT {_COLUMNS} FROM svc_recalls ORDER BY created_ms DESC, id")
        return [_recall(r) for r in rows]

    def vehicles(
        self,
        recall_id: str,
        *,
        vins: frozenset[str] | None = None,
        open_only: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[RecallVehicle]:
        """The recall's vehicles by VIN (restricted to `vins` when given)."""
        where = ["recall_id = ?"]
        args: list[Any] = [recall_id]
        if vins is not None:
            if not vins:
                return []
            where.append(f"vin IN ({','.join('?' * len(vins))})")
            args += sorted(vins)
        if open_only:
            where.append("completed_ms IS NULL")
        sql = f"SELECT {_VEHICLE_COLUMNS} FROM svc_recall_vehicles WHERE {' AND '.join(where)}"
        sql += " ORDER BY vin"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            args += [limit, offset]
        with self._db.connection() as c:
            rows = c.rows(sql, args)
        return [RecallVehicle(r[0], r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows]

    def counts(self, recall_id: str) -> tuple[int, int]:
        """(vehicles, completed)."""
        with self._db.connection() as c:
            row = c.one(
                "SELECT count(*), count(completed_ms) FROM svc_recall_vehicles WHERE recall_id = ?",
                (recall_id,),
            )
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def complete_by_software(self, recall_id: str, done: list[tuple[str, int]]) -> int:
        """Mark each (vin, when) done by its installed software, unless already done; how
        many were marked."""
        marked = 0
        with self._db.transaction() as tx:
            for vin, when_ms in done:
                marked += tx.execute(
                    "UPDATE svc_recall_vehicles SET completed_ms = ?, completed_via = 'software'"
                    " WHERE recall_id = ? AND vin = ? AND completed_ms IS NULL",
                    (when_ms, recall_id, vin),
                )
        return marked

    def link_case(self, recall_id: str, vin: str, case_id: str) -> None:
        with self._db.connection() as c:
            c.execute(
                "UPDATE svc_recall_vehicles SET case_id = ? WHERE recall_id = ? AND vin = ?",
                (case_id, recall_id, vin),
            )

    def reminded(self, recall_id: str, vins: list[str], now_ms: int) -> None:
        with self._db.transaction() as tx:
            for vin in vins:
                tx.execute(
                    "UPDATE svc_recall_vehicles SET reminders = reminders + 1"
                    " WHERE recall_id = ? AND vin = ?",
                    (recall_id, vin),
                )
            tx.execute(
                "UPDATE svc_recalls SET last_reminder_ms = ? WHERE id = ?", (now_ms, recall_id)
            )


def filter_to_json(f: RecallFilter) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(f).items()}


def filter_from_json(d: dict[str, Any]) -> RecallFilter:
    return RecallFilter(
        models=tuple(d.get("models") or ()),
        build_from=d.get("build_from"),
        build_to=d.get("build_to"),
        vin_from=d.get("vin_from"),
        vin_to=d.get("vin_to"),
        ecu=d.get("ecu"),
        software_versions=tuple(d.get("software_versions") or ()),
        hardware_variants=tuple(d.get("hardware_variants") or ()),
        attributes=dict(d.get("attributes") or {}),
    )


def _recall(r: Row) -> Recall:
    fix = SoftwareFix(r[9], r[10]) if r[9] is not None and r[10] is not None else None
    return Recall(
        r[0], r[1], r[2], r[3], filter_from_json(json.loads(r[4])), r[5], r[6], r[7], r[8], fix
    )
