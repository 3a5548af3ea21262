"""Moving an embedded registry into PostgreSQL (`volta registry migrate --from-sqlite DIR`),
for a deployment that grows from one machine to scale-out.

Rows move as they are: ids, HMACs of tokens, argon2 hashes, audit ids. Tokens go on working
only if the PostgreSQL registry is given the HMAC key they were made with (the SQLite data
dir's `registry.key`); the caller checks that before copying. All in one transaction, into a
registry with no vehicles, users, credentials or audit entries yet.
"""

from __future__ import annotations

from volta.errors import Conflict
from volta.registry.database import BUMP, Database

# In the order foreign keys need; each with the columns both engines have.
TABLES = {
    "vehicles": "vin, model, attributes, created_ms, organisation, name, plate, group_name",
    "users": "id, name, password_hash, role, organisation, created_ms, disabled_ms",
    "credentials": "id, digest, role, vin, created_ms, revoked_ms",
    "assignments": "user_id, vin, created_ms",
    "audit": "id, ts_ms, actor, role, credential_id, action, target, client, status, detail",
    "alerts": "id, vin, kind, key, severity, signal, value, message, raised_ms, cleared_ms,"
    " ack_ms, ack_by, ack_note",
}


def copy_registry(source: Database, target: Database) -> dict[str, int]:
    """Copy every row of `source` into the empty `target`; the rows copied per table.
    Conflict if `target` holds any."""
    copied: dict[str, int] = {}
    with target.transaction() as tx:
        used = [t for t in TABLES if tx.one(f"SELECT 1 FROM {t} LIMIT 1") is not None]
        if used:
            raise Conflict(
                f"the target registry is not empty ({', '.join(used)}): copy into a new one"
            )
        for table, columns in TABLES.items():
            with source.connection() as c:
                rows = c.rows(f"SELECT {columns} FROM {table}")
            marks = ", ".join("?" * len(columns.split(",")))
            for row in rows:
                tx.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", row)
            copied[table] = len(rows)
        # New audit entries and alerts are numbered after the copied ones.
        for table in ("audit", "alerts"):
            tx.one(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
        tx.execute(BUMP)
    return copied
