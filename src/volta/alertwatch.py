"""Keeps the alert log (`volta.registry.alertlog`) in step with the alerts of now.

Who detects that an alert appeared or cleared: the process that holds the twin (the embedded
platform, or the API process in scale-out, whose twin follows the workers' commits). It
evaluates every vehicle's latest values and the fleet's fade norms (`volta.alerts`), compares
them with the log's open alerts and writes the difference, every `SYNC_S` seconds on a
thread of its own, and at once before the alerts routes answer (so a page never lags the
twin). Evaluating on a timer instead of on each stored batch keeps the database writes off
the ingest path: at 10,000 vehicles a second that path has no room for them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from volta.alerts import Alert, evaluate, fade_alerts, reconcile
from volta.battery.watch import FadeWatch
from volta.catalog import Catalog
from volta.clock import Clock
from volta.periodic import Periodic
from volta.registry import AlertChanges, AlertLog
from volta.twin.state import Twin, TwinValue

__all__ = ["SYNC_S", "AlertWatch"]

log = logging.getLogger(__name__)

SYNC_S = 10.0


class AlertWatch:
    """Evaluates the fleet's alerts and writes what changed to the log."""

    def __init__(
        self,
        twin: Twin,
        catalog: Catalog,
        fade: FadeWatch,
        alert_log: AlertLog,
        clock: Clock,
        interval_s: float = SYNC_S,
        sources: Sequence[Callable[[], list[Alert]]] = (),
    ) -> None:
        self.twin = twin
        self.catalog = catalog
        self.fade = fade
        self.log = alert_log
        self.clock = clock
        self.interval_s = interval_s
        self.sources = list(sources)  # more alerts of now (e.g. trips under way)
        self._lock = threading.Lock()
        self._job = Periodic(
            "alert-watch",
            lambda: self.interval_s,
            self.sync,
            log,
            "alerts: could not bring the alert log up to date",
        )
        self._listeners: list[Callable[[AlertChanges], None]] = []

    def listen(self, fn: Callable[[AlertChanges], None]) -> None:
        """Call `fn` with what each sync wrote, once written (empty ones too: a listener may
        have work of its own queued). A listener's error is logged, never the sync's."""
        self._listeners.append(fn)

    def sync(self) -> AlertChanges:
        """Raise, update and clear in the log what changed since the last sync; what it wrote.
        One at a time (the timer and the routes share it)."""
        with self._lock:
            now = self.clock()
            fade = self.fade.current()
            open_alerts = self.log.open_alerts()
            open_vins = {a.facts.vin for a in open_alerts}
            kept: dict[str, dict[int, TwinValue]] = {}
            found: list[Alert] = []
            for vin in sorted(set(self.twin.vehicles()) | set(fade.rates)):
                values = self.twin.get(vin)
                if values:
                    found.extend(evaluate(vin, values, self.catalog, now))
                    if vin in open_vins:
                        kept[vin] = values
            found.extend(fade_alerts(fade.fast, fade.norms))
            for source in self.sources:
                found.extend(source())
            cleared_at: dict[tuple[str, str], int] = {}
            for a in open_alerts:
                signal = self.catalog.resolve(a.facts.signal)
                tv = kept.get(a.facts.vin, {}).get(signal.id) if signal is not None else None
                if tv is not None:
                    cleared_at[(a.facts.vin, a.facts.signal)] = tv.ts_ms
            changes = reconcile(open_alerts, found, cleared_at, now)
            self.log.apply_alerts(changes)
            for fn in self._listeners:
                try:
                    fn(changes)
                except Exception:  # the log is written; a listener's trouble stays its own
                    log.exception("alerts: a listener failed on the alert log's changes")
            return changes

    def start(self) -> None:
        self._job.start()

    def stop(self) -> None:
        self._job.stop()
