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
    # after-sales service (volta.service)
    "svc_workshops": "id, name, organisation, bays, slot_minutes, timezone, hours, bookings,"
    " created_ms",
    "svc_cases": "id, vin, organisation, problem_key, title, severity, source, state, active,"
    " opened_ms, opened_by, triaged_ms, started_ms, closed_ms, triage_due_ms, repair_due_ms,"
    " due_ms, alert_count, last_alert_ms, workshop_id, recall_id, remedy, updated_ms",
    "svc_case_events": "id, case_id, ts_ms, actor, role, kind, text, detail",
    "svc_case_lines": "id, case_id, ts_ms, actor, kind, description, part_number, quantity",
    "svc_appointments": "id, case_id, workshop_id, vin, start_ms, end_ms, bay, state, booked_by,"
    " created_ms, updated_ms",
    "svc_slot_claims": "workshop_id, start_ms, bay, appointment_id",
    "svc_recalls": "id, title, description, remedy, filter, state, created_ms, created_by,"
    " last_reminder_ms",
    "svc_recall_vehicles": "recall_id, vin, added_ms, completed_ms, case_id, reminders",
    "svc_webhooks": "id, url, secret, events, organisation, created_ms, disabled_ms",
    "svc_deliveries": "id, channel, target, event, body, state, attempts, next_ms, last_error,"
    " created_ms, done_ms",
    "svc_preferences": "user_name, email, email_on, events, updated_ms",
}
# Tables whose ids a sequence hands out: new rows are numbered after the copied ones.
SEQUENCED = ("audit", "alerts", "svc_case_events", "svc_case_lines")


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
        for table in SEQUENCED:
            tx.one(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
        tx.execute(BUMP)
    return copied
