"""The diagnostics of a scale-out API process, read from the table the processors write.

Following every batch beside the twin made the API process's twin fall behind at 10,000
vehicles (volta.platform says so), so there diagnostics run in `volta processors`, which keep
their state in the shared `DiagnosticsTable` (`VOLTA_DIAGNOSTICS`). A `DiagnosticsMirror`
answers the same readers as the live `DiagnosticsFollower` (`read`, `report`) from a copy of
that state, brought up to date before a read when it is older than `REFRESH_S`: only the parts
written since (by revision) and the records added since are read and decoded, and for one
vehicle's diagnosis only that vehicle's parts (a fleet-wide reader decodes every car that
changed: ~0.2 s of CPU per 1,000 cars). What it answers is at most the processors' save
interval plus `REFRESH_S` behind the cars. Its listeners get the predictive alert changes the
processors recorded when its owner calls `pass_on` (the platform: on the alert watch's timer),
not on a read.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from volta.diagnostics.decode import Descriptions
from volta.diagnostics.feed import ChangeFeed
from volta.diagnostics.fleet import FleetDiagnostics
from volta.diagnostics.store import DiagnosticsKeeper, DiagnosticsTable
from volta.diagnostics.vehicle import AlertChange

__all__ = ["REFRESH_S", "DiagnosticsMirror", "DiagnosticsSource"]

T = TypeVar("T")
REFRESH_S = 2.0


class DiagnosticsMirror:
    """A read-only copy of the kept diagnostics, refreshed on read."""

    def __init__(
        self,
        table: DiagnosticsTable,
        descriptions: Descriptions | None = None,
        *,
        refresh_s: float = REFRESH_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fleet = FleetDiagnostics(descriptions=descriptions)
        self.keeper = DiagnosticsKeeper(table)
        self.refresh_s = refresh_s
        self.clock = clock
        self._lock = threading.Lock()
        self._read_at = -float("inf")
        self._vehicle_read_at: dict[str, float] = {}
        self.feed = ChangeFeed(table)
        self._listeners: list[Callable[[list[AlertChange]], None]] = []

    def start(self) -> None:
        """Nothing runs in the background: a read brings the copy up to date."""

    def stop(self) -> None:
        self.keeper.table.close()

    def listen(self, fn: Callable[[list[AlertChange]], None]) -> None:
        """Call `fn` with the predictive alerts the processors recorded turning on or off,
        each once (`pass_on`: the caller's timer drives it)."""
        self._listeners.append(fn)

    def pass_on(self) -> None:
        """Call the listeners with the alert changes the processors recorded since the last
        call, each once, also across restarts (`volta.diagnostics.feed`)."""
        if self._listeners:
            self.feed.pass_on(self._call)

    def _call(self, changes: list[AlertChange]) -> None:
        for fn in self._listeners:
            fn(changes)

    def refresh(self) -> None:
        """Read what was written since the last refresh."""
        with self._lock:
            self._refresh()

    def _refresh(self) -> None:
        self.keeper.restore(self.fleet)
        self._read_at = self.clock()

    def read(self, fn: Callable[[FleetDiagnostics], T]) -> T:
        """Run a reader over the copy, refreshed first when older than `refresh_s`."""
        with self._lock:
            if self.clock() - self._read_at >= self.refresh_s:
                self._refresh()
            return fn(self.fleet)

    def report(self, vin: str) -> dict[str, Any] | None:
        """One vehicle's diagnosis: its parts and the fleet's records brought up to date."""
        with self._lock:
            now = self.clock()
            read_at = max(self._read_at, self._vehicle_read_at.get(vin, -float("inf")))
            if now - read_at >= self.refresh_s:
                self.keeper.restore(self.fleet, vin)
                self._vehicle_read_at[vin] = now
            return self.fleet.report(vin)


class DiagnosticsSource(Protocol):
    """What the API and the OTA campaigns read diagnostics from: the live follower (embedded)
    or a mirror of what the processors keep (a scale-out API process)."""

    fleet: FleetDiagnostics

    def read(self, fn: Callable[[FleetDiagnostics], T]) -> T: ...

    def report(self, vin: str) -> dict[str, Any] | None: ...

    def listen(self, fn: Callable[[list[AlertChange]], None]) -> None: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...
