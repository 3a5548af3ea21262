"""Notifications waiting to go out, in the registry's database: webhooks (their signing
secrets), people's preferences, and one row per delivery (to one endpoint or address).

Enqueueing is a few inserts on the caller's path; sending is the dispatcher's
(`volta.service.notify`), on its own thread, so a slow or dead endpoint never holds up a
request or ingest. A delivery is claimed by moving it to `sending` with a lease
(`next_ms`): a dispatcher that dies mid-send leaves it to be retried after the lease.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from volta.errors import Conflict, NotFound
from volta.registry.database import Database, Row
from volta.service.casebook import new_id
from volta.service.model import Delivery, Preferences, Webhook

_HOOK_COLUMNS = "id, url, events, organisation, created_ms, disabled_ms"
_DELIVERY_COLUMNS = (
    "id, channel, target, event, body, state, attempts, next_ms, last_error, created_ms, done_ms"
)


class Outbox:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- webhooks ---------------------------------------------------------------------------

    def add_webhook(
        self, url: str, events: tuple[str, ...], organisation: str | None, now_ms: int
    ) -> tuple[Webhook, str]:
        """A new webhook and its signing secret (shown to the caller once)."""
        hook = Webhook(new_id("wh"), url, events, organisation, now_ms)
        secret = "whsec_" + secrets.token_urlsafe(32)
        with self._db.connection() as c:
            c.execute(
                "INSERT INTO svc_webhooks (id, url, secret, events, organisation, created_ms)"
                " VALUES (?,?,?,?,?,?)",
                (hook.id, url, secret, json.dumps(list(events)), organisation, now_ms),
            )
        return hook, secret

    def webhooks(self, include_disabled: bool = False) -> list[Webhook]:
        sql = f"SELECT {_HOOK_COLUMNS} FROM svc_webhooks"
        if not include_disabled:
            sql += " WHERE disabled_ms IS NULL"
        with self._db.connection() as c:
            rows = c.rows(sql + " ORDER BY id")
        return [_hook(r) for r in rows]

    def secret(self, webhook_id: str) -> tuple[str, str] | None:
        """(url, secret) of an active webhook, None if it is gone or disabled."""
        with self._db.connection() as c:
            row = c.one(
                "SELECT url, secret FROM svc_webhooks WHERE id = ? AND disabled_ms IS NULL",
                (webhook_id,),
            )
        return None if row is None else (str(row[0]), str(row[1]))

    def disable_webhook(self, webhook_id: str, now_ms: int) -> None:
        with self._db.connection() as c:
            changed = c.execute(
                "UPDATE svc_webhooks SET disabled_ms = ? WHERE id = ? AND disabled_ms IS NULL",
                (now_ms, webhook_id),
            )
        if changed == 0:
            raise NotFound(f"no active webhook {webhook_id}")

    # -- preferences ------------------------------------------------------------------------

    def preferences(self, user: str) -> Preferences | None:
        with self._db.connection() as c:
            row = c.one(
                "SELECT user_name, email, email_on, events, updated_ms FROM svc_preferences"
                " WHERE user_name = ?",
                (user,),
            )
        return None if row is None else _prefs(row)

    def set_preferences(self, p: Preferences) -> Preferences:
        with self._db.transaction() as tx:
            tx.execute("DELETE FROM svc_preferences WHERE user_name = ?", (p.user,))
            tx.execute(
                "INSERT INTO svc_preferences (user_name, email, email_on, events, updated_ms)"
                " VALUES (?,?,?,?,?)",
                (p.user, p.email, 1 if p.email_on else 0, json.dumps(list(p.events)), p.updated_ms),
            )
        return p

    def email_recipients(self) -> list[tuple[Preferences, str, str | None, frozenset[str]]]:
        """People who want e-mail: (preferences, role, organisation, assigned VINs)."""
        with self._db.connection() as c:
            rows = c.rows(
                "SELECT p.user_name, p.email, p.email_on, p.events, p.updated_ms, u.role,"
                " u.organisation, u.id FROM svc_preferences p JOIN users u ON u.name ="
                " p.user_name WHERE u.disabled_ms IS NULL AND p.email_on = 1"
                " AND p.email IS NOT NULL"
            )
            out = []
            for r in rows:
                vins = frozenset(
                    str(v[0])
                    for v in c.rows("SELECT vin FROM assignments WHERE user_id = ?", (r[7],))
                )
                out.append((_prefs(r[:5]), str(r[5]), r[6], vins))
        return out

    # -- deliveries -------------------------------------------------------------------------

    def enqueue(self, items: list[tuple[str, str, str, dict[str, Any]]], now_ms: int) -> list[str]:
        """(channel, target, event, body) each as a pending delivery due now; their ids."""
        ids = []
        with self._db.transaction() as tx:
            for channel, target, event, body in items:
                delivery_id = new_id("dlv")
                payload = json.dumps(
                    {"id": delivery_id, "event": event, "created_ms": now_ms, "data": body},
                    sort_keys=True,
                )
                tx.execute(
                    f"INSERT INTO svc_deliveries ({_DELIVERY_COLUMNS}) VALUES"
                    " (?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        delivery_id,
                        channel,
                        target,
                        event,
                        payload,
                        "pending",
                        0,
                        now_ms,
                        None,
                        now_ms,
                        None,
                    ),
                )
                ids.append(delivery_id)
        return ids

    def claim_due(self, now_ms: int, lease_ms: int, limit: int) -> list[Delivery]:
        """Deliveries due now (pending, or sending with an expired lease), each claimed."""
        with self._db.connection() as c:
            rows = c.rows(
                f"SELECT {_DELIVERY_COLUMNS} FROM svc_deliveries WHERE state IN"
                " ('pending', 'sending') AND next_ms <= ? ORDER BY next_ms LIMIT ?",
                (now_ms, limit),
            )
        claimed = []
        for r in rows:
            with self._db.connection() as c:
                won = c.execute(
                    "UPDATE svc_deliveries SET state = 'sending', next_ms = ? WHERE id = ?"
                    " AND state = ? AND next_ms = ?",
                    (now_ms + lease_ms, r[0], r[5], r[7]),
                )
            if won == 1:
                claimed.append(_delivery(r))
        return claimed

    def delivered(self, delivery_id: str, attempts: int, now_ms: int) -> None:
        with self._db.connection() as c:
            c.execute(
                "UPDATE svc_deliveries SET state = 'delivered', attempts = ?, done_ms = ?,"
                " last_error = NULL WHERE id = ?",
                (attempts, now_ms, delivery_id),
            )

    def failed(
        self, delivery_id: str, attempts: int, error: str, next_ms: int | None, now_ms: int
    ) -> None:
        """Record a failed attempt: retry at `next_ms`, or dead (None)."""
        state = "pending" if next_ms is not None else "dead"
        with self._db.connection() as c:
            c.execute(
                "UPDATE svc_deliveries SET state = ?, attempts = ?, last_error = ?, next_ms = ?,"
                " done_ms = ? WHERE id = ?",
                (
                    state,
                    attempts,
                    error[:500],
                    next_ms if next_ms is not None else now_ms,
                    None if next_ms is not None else now_ms,
                    delivery_id,
                ),
            )

    def get(self, delivery_id: str) -> Delivery:
        with self._db.connection() as c:
            row = c.one(
                f"SELECT {_DELIVERY_COLUMNS} FROM svc_deliveries WHERE id = ?", (delivery_id,)
            )
        if row is None:
            raise NotFound(f"no delivery {delivery_id}")
        return _delivery(row)

    def find(self, state: str | None = None, limit: int = 100) -> list[Delivery]:
        sql = f"SELECT {_DELIVERY_COLUMNS} FROM svc_deliveries"
        args: list[Any] = []
        if state is not None:
            sql += " WHERE state = ?"
            args.append(state)
        with self._db.connection() as c:
            rows = c.rows(sql + " ORDER BY created_ms DESC, id LIMIT ?", (*args, limit))
        return [_delivery(r) for r in rows]

    def replay(self, delivery_id: str, now_ms: int) -> Delivery:
        """A dead delivery goes out again now, with a fresh count of attempts (same id, so the
        receiver can tell a replay from a new event)."""
        with self._db.connection() as c:
            changed = c.execute(
                "UPDATE svc_deliveries SET state = 'pending', attempts = 0, next_ms = ?,"
                " done_ms = NULL WHERE id = ? AND state = 'dead'",
                (now_ms, delivery_id),
            )
        if changed == 0:
            found = self.get(delivery_id)
            raise Conflict(f"delivery {delivery_id} is {found.state}: only dead ones are replayed")
        return self.get(delivery_id)


def _hook(r: Row) -> Webhook:
    return Webhook(r[0], r[1], tuple(json.loads(r[2])), r[3], r[4], r[5])


def _prefs(r: Row) -> Preferences:
    return Preferences(r[0], r[1], bool(r[2]), tuple(json.loads(r[3])), r[4])


def _delivery(r: Row) -> Delivery:
    return Delivery(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10])
