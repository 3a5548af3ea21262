"""The predictive alert changes the processors record, passed on once each to a scale-out API
process's service desk.

In scale-out the rules run in `volta processors`, which have no service desk; each car's latest
`KEEP_CHANGES` alert changes are in its kept `history` part (`volta.diagnostics.store`). A
`ChangeFeed` reads the histories written since its last read (by revision; only their changes
are decoded) and gives the changes after each car's *mark*: the last change it passed on. The
marks are kept in the same table, so a restarted API process goes on after them and a change
passed on before (whose case may be resolved since) is never passed on again. A car without a
mark (new, or the first read of a deployment) has all its kept changes passed on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import msgspec

from volta.diagnostics import snapshot
from volta.diagnostics.store import DiagnosticsTable, Mark
from volta.diagnostics.vehicle import AlertChange

__all__ = ["ChangeFeed", "after_mark"]

log = logging.getLogger(__name__)


def _mark(c: AlertChange) -> Mark:
    return (c.ts_ms, c.kind, c.subject, c.on)


def after_mark(changes: list[AlertChange], mark: Mark | None) -> list[AlertChange]:
    """The changes after the marked one (all without a mark). When the marked one is no longer
    kept (more than `KEEP_CHANGES` came since), those later than its time."""
    if mark is None:
        return changes
    for i in range(len(changes) - 1, -1, -1):
        if _mark(changes[i]) == mark:
            return changes[i + 1 :]
    return [c for c in changes if c.ts_ms > mark[0]]


class ChangeFeed:
    """Passes on the kept alert changes not passed on yet (one caller at a time)."""

    def __init__(self, table: DiagnosticsTable) -> None:
        self.table = table
        self.rev = 0  # the histories read up to this revision
        self.skipped = 0  # kept histories that could not be read
        self._marks: dict[str, Mark] | None = None  # read from the table at the first call
        self._lock = threading.Lock()

    def pass_on(self, fn: Callable[[list[AlertChange]], None]) -> int:
        """Call `fn` with the changes recorded since the last call (if any), then keep their
        marks; how many. If `fn` or keeping the marks fails, the next call gives them again
        (at least once: a crash between the two passes them on again after a restart)."""
        with self._lock:
            if self._marks is None:
                self._marks = self.table.marks()
            rev, new, marks = self.rev, [], {}
            for vin, part_rev, body in self.table.histories(self.rev):
                rev = max(rev, part_rev)
                try:
                    changes = after_mark(snapshot.changes_of(body), self._marks.get(vin))
                except msgspec.DecodeError as e:  # written by another Volta
                    self.skipped += 1
                    log.warning("diagnostics: cannot read the alert changes of %s (%s)", vin, e)
                    continue
                if changes:
                    new += changes
                    marks[vin] = _mark(changes[-1])
            if new:
                fn(new)
                self.table.set_marks(marks)
                self._marks.update(marks)
            self.rev = rev
            return len(new)
