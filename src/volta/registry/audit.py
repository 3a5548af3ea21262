"""The audit role: an append-only log of who did what through the API."""

from __future__ import annotations

import json
from typing import Any

from volta.registry.database import Core
from volta.registry.model import AuditEntry, AuditQuery


class AuditLog(Core):
    """`Audit` over a `Database`."""

    def record(
        self,
        *,
        actor: str,
        role: str,
        action: str,
        status: int,
        credential_id: str | None = None,
        target: str | None = None,
        client: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> int:
        """Append one entry to the audit log; its id."""
        args = (self._clock(), actor, role, credential_id, action, target, client, status,
                json.dumps(detail or {}))  # fmt: skip
        with self._db.connection() as c:
            row = c.one(
                "INSERT INTO audit (ts_ms, actor, role, credential_id, action, target, client,"
                " status, detail) VALUES (?,?,?,?,?,?,?,?,?) RETURNING id",
                args,
            )
        return int(row[0]) if row is not None else 0

    def audit(self, query: AuditQuery) -> list[AuditEntry]:
        """Entries matching every given filter, newest first. `action` matches a prefix
        (`POST`, `POST /v1/users`); `target` a VIN, user name or credential id exactly."""
        where: list[str] = []
        args: list[Any] = []
        if query.actor is not None:
            where.append("actor = ?")
            args.append(query.actor)
        if query.action is not None:
            where.append("substr(action, 1, ?) = ?")
            args += [len(query.action), query.action]
        if query.target is not None:
            where.append("target = ?")
            args.append(query.target)
        if query.since_ms is not None:
            where.append("ts_ms >= ?")
            args.append(query.since_ms)
        if query.until_ms is not None:
            where.append("ts_ms < ?")
            args.append(query.until_ms)
        if query.before is not None:
            where.append("id < ?")
            args.append(query.before)
        sql = (
            "SELECT id, ts_ms, actor, role, credential_id, action, target, client, status, detail"
            " FROM audit"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY id DESC LIMIT ?"
        )
        with self._db.connection() as c:
            rows = c.rows(sql, (*args, query.limit))
        return [
            AuditEntry(
                id=r[0],
                ts_ms=r[1],
                actor=r[2],
                role=r[3],
                credential_id=r[4],
                action=r[5],
                target=r[6],
                client=r[7],
                status=r[8],
                detail=json.loads(r[9]),
            )
            for r in rows
        ]
