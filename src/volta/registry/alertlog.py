"""The alert log: each alert of a vehicle from when it was raised until it cleared, and who
acknowledged it (when, with what note).

The log stores what it is told: `volta.alertwatch` decides what was raised, changed and
cleared (from the twin and the fleet's fade norms) and hands it over as `AlertChanges`. An
alert is one (vin, kind, key) while open: a DTC code, a tyre, or '' for a kind a vehicle has
once; the engines keep at most one open per triple (a unique index), so two processes raising
the same alert at once write it once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from volta.errors import Conflict, NotFound
from volta.registry.database import Core, Row

AlertState = Literal["active", "acknowledged", "cleared"]
ALERT_STATES: tuple[AlertState, ...] = get_args(AlertState)
MAX_NOTE = 500


@dataclass(frozen=True, slots=True)
class AlertFacts:
    """What an alert says at one moment; `raised_ms` is the time of the sample that first
    showed it."""

    vin: str
    kind: str
    key: str
    severity: str
    signal: str
    value: float | str
    message: str
    raised_ms: int


@dataclass(frozen=True, slots=True)
class LoggedAlert:
    """One alert in the log."""

    id: int
    facts: AlertFacts
    cleared_ms: int | None = None
    ack_ms: int | None = None
    ack_by: str | None = None
    ack_note: str | None = None

    @property
    def state(self) -> AlertState:
        if self.cleared_ms is not None:
            return "cleared"
        return "active" if self.ack_ms is None else "acknowledged"


@dataclass(frozen=True, slots=True)
class AlertChanges:
    """One reconciliation: alerts to open, open ones whose facts changed (`unack`: the
    severity rose, so an acknowledgement of the milder alert no longer stands), and open ones
    to close with the time they cleared."""

    raised: Sequence[AlertFacts] = ()
    updated: Sequence[tuple[int, AlertFacts, bool]] = ()
    cleared: Sequence[tuple[int, int]] = ()

    def __bool__(self) -> bool:
        return bool(self.raised or self.updated or self.cleared)


@dataclass(frozen=True, slots=True)
class AlertQuery:
    """Filters of the log, newest raised first. `states` empty: every state. [from_ms, to_ms)
    keeps the alerts open at some time in it. `before` pages: the (raised_ms, id) of the last
    alert of the previous page."""

    states: frozenset[AlertState] = frozenset()
    vin: str | None = None
    kind: str | None = None
    severity: str | None = None
    from_ms: int | None = None
    to_ms: int | None = None
    before: tuple[int, int] | None = None
    limit: int = 100


@dataclass(frozen=True, slots=True)
class AlertPage:
    """A page of the log, and how many alerts match the query in all, by severity."""

    alerts: list[LoggedAlert]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


_COLUMNS = (
    "id, vin, kind, key, severity, signal, value, message, raised_ms, cleared_ms, ack_ms,"
    " ack_by, ack_note"
)
_STATE_SQL: dict[AlertState, str] = {
    "active": "(cleared_ms IS NULL AND ack_ms IS NULL)",
    "acknowledged": "(cleared_ms IS NULL AND ack_ms IS NOT NULL)",
    "cleared": "cleared_ms IS NOT NULL",
}


class AlertBook(Core):
    """The alert log over a `Database`."""

    def open_alerts(self) -> list[LoggedAlert]:
        """Every alert not cleared yet."""
        with self._db.connection() as c:
            rows = c.rows(f"SELECT {_COLUMNS} FROM alerts WHERE cleared_ms IS NULL")
        return [_alert(r) for r in rows]

    def apply_alerts(self, changes: AlertChanges) -> None:
        """Write one reconciliation in one transaction."""
        if not changes:
            return
        with self._db.transaction() as tx:
            for f in changes.raised:
                tx.execute(
                    "INSERT INTO alerts (vin, kind, key, severity, signal, value, message,"
                    " raised_ms) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                    (f.vin, f.kind, f.key, f.severity, f.signal, json.dumps(f.value),
                     f.message, f.raised_ms),
                )  # fmt: skip
            for alert_id, f, unack in changes.updated:
                ack = ", ack_ms = NULL, ack_by = NULL, ack_note = NULL" if unack else ""
                tx.execute(
                    f"UPDATE alerts SET severity = ?, signal = ?, value = ?, message = ?{ack}"
                    " WHERE id = ? AND cleared_ms IS NULL",
                    (f.severity, f.signal, json.dumps(f.value), f.message, alert_id),
                )
            for alert_id, cleared_ms in changes.cleared:
                tx.execute(
                    "UPDATE alerts SET cleared_ms = ? WHERE id = ? AND cleared_ms IS NULL",
                    (cleared_ms, alert_id),
                )

    def get_alert(self, alert_id: int) -> LoggedAlert:
        """NotFound if there is no such alert."""
        with self._db.connection() as c:
            row = c.one(f"SELECT {_COLUMNS} FROM alerts WHERE id = ?", (alert_id,))
        if row is None:
            raise NotFound(f"no alert {alert_id}")
        return _alert(row)

    def acknowledge_alert(self, alert_id: int, by: str, note: str | None = None) -> LoggedAlert:
        """Record that `by` has seen the alert (open or cleared). NotFound for an unknown id,
        Conflict if it was acknowledged already."""
        # A lone surrogate (JSON allows one) cannot be stored as UTF-8: it becomes "?".
        text = (note or "").strip()[:MAX_NOTE].encode("utf-8", "replace").decode() or None
        with self._db.transaction() as tx:
            changed = tx.execute(
                "UPDATE alerts SET ack_ms = ?, ack_by = ?, ack_note = ?"
                " WHERE id = ? AND ack_ms IS NULL",
                (self._clock(), by, text, alert_id),
            )
        if changed == 0:
            alert = self.get_alert(alert_id)  # NotFound if there is none
            raise Conflict(
                f"alert {alert_id} was acknowledged by {alert.ack_by} at {alert.ack_ms} (ms)"
            )
        return self.get_alert(alert_id)

    def query_alerts(self, query: AlertQuery) -> AlertPage:
        """A page of the alerts matching `query`, newest raised first, and the counts."""
        where: list[str] = []
        args: list[Any] = []
        if query.states and set(query.states) != set(ALERT_STATES):
            where.append("(" + " OR ".join(_STATE_SQL[s] for s in sorted(query.states)) + ")")
        for column, value in (
            ("vin", query.vin),
            ("kind", query.kind),
            ("severity", query.severity),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if query.to_ms is not None:
            where.append("raised_ms < ?")
            args.append(query.to_ms)
        if query.from_ms is not None:
            where.append("(cleared_ms IS NULL OR cleared_ms >= ?)")
            args.append(query.from_ms)
        filters = " WHERE " + " AND ".join(where) if where else ""
        page_where, page_args = list(where), list(args)
        if query.before is not None:
            page_where.append("(raised_ms < ? OR (raised_ms = ? AND id < ?))")
            raised, last_id = query.before
            page_args += [raised, raised, last_id]
        paged = " WHERE " + " AND ".join(page_where) if page_where else ""
        with self._db.connection() as c:
            rows = c.rows(
                f"SELECT {_COLUMNS} FROM alerts{paged} ORDER BY raised_ms DESC, id DESC LIMIT ?",
                (*page_args, query.limit),
            )
            counts = c.rows(
                f"SELECT severity, count(*) FROM alerts{filters} GROUP BY severity", args
            )
        return AlertPage([_alert(r) for r in rows], {str(s): int(n) for s, n in counts})


def _alert(r: Row) -> LoggedAlert:
    facts = AlertFacts(
        vin=r[1],
        kind=r[2],
        key=r[3],
        severity=r[4],
        signal=r[5],
        value=json.loads(r[6]),
        message=r[7],
        raised_ms=int(r[8]),
    )
    return LoggedAlert(
        id=int(r[0]),
        facts=facts,
        cleared_ms=None if r[9] is None else int(r[9]),
        ack_ms=None if r[10] is None else int(r[10]),
        ack_by=r[11],
        ack_note=r[12],
    )
