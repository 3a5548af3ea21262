"""Road sensing on the bus: stored telemetry in, `RoadSensing` fed, hazards served.

`HazardFollower` subscribes to what the gateways stored (`stored.*`, one `StoredGroup` per
commit), keeps the samples of the signals detection reads, and feeds each car's batch to a
`RoadSensing`; it is the `HazardSource` the `GET /v1/hazards` route reads. With a
`HazardWarner`, each car's latest fix and every change of the published hazards go to it, so
the cars heading towards a hazard are warned (`volta.hazards.warnings`). Detection is cheap
(~25,000 driving cars at 1 Hz per core, bench/hazards.py), so it runs in the bus handler, under
one lock that the route also takes.
With a `HazardTable`, fusion's candidates are loaded back at start and what changed is written
every `SAVE_EVERY_MS` and at stop (by the owner only, the durable follower: a scale-out API
process loads them and follows on its own), so confirmed hazards and the reports gathering
toward k cars survive a restart; a crash loses at most the last 5 s of fusion changes. Each
car's detection state (its last seconds) is not kept: a queue a car was in is lost.
The platform starts one when `VOLTA_ROADS` names an OSM extract (`assembly.road_sensing`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from volta.bus import Bus, Message, StoredGroup, Subscription
from volta.bus.events import STORED_ALL
from volta.catalog import Catalog
from volta.errors import VoltaError
from volta.hazards.detect import HEADING, LAT, LON, SIGNALS
from volta.hazards.model import Hazard
from volta.hazards.notify import MqttNotifier
from volta.hazards.sensing import RoadSensing
from volta.hazards.store import HazardTable
from volta.hazards.warnings import HazardWarner
from volta.store.base import AcceptedBatch

__all__ = ["HazardFollower"]

_EXPIRE_EVERY_MS = 60_000
SAVE_EVERY_MS = 5_000


class HazardFollower:
    """Feeds stored batches to road sensing; serves the published hazards."""

    def __init__(
        self,
        bus: Bus,
        catalog: Catalog,
        sensing: RoadSensing,
        clock: Callable[[], int],
        durable: str | None = "hazards",
        warner: HazardWarner | None = None,
        notifier: MqttNotifier | None = None,
        table: HazardTable | None = None,
    ) -> None:
        self.bus, self.catalog, self.sensing, self.clock = bus, catalog, sensing, clock
        self.warner = warner
        self.notifier = notifier
        self._revision = (-1, -1)
        self.durable = durable
        self._paths = {catalog.get(p).id: p for p in SIGNALS}
        self._lock = threading.Lock()
        self._sub: Subscription | None = None
        self._expired_ms = 0
        self.table = table
        self._saved_ms = 0
        self._restored = False
        self.batches = 0
        self.errors = 0

    def start(self) -> None:
        if self.table is not None and not self._restored:
            candidates, next_id = self.table.load()
            with self._lock:
                self.sensing.fusion.restore(candidates, next_id)
                self.sensing.fusion.changes()  # what was just loaded is what is kept
            self._restored = True
        if self.notifier is not None:
            self.notifier.start()
        if self._sub is None:
            self._sub = self.bus.subscribe(STORED_ALL, self._on_message, durable=self.durable)

    def stop(self) -> None:
        if self._sub is not None:
            self._sub.close()
            self._sub = None
        if self.notifier is not None:
            self.notifier.stop()
        with self._lock:
            self._save()

    def _save(self) -> None:
        """Write what fusion changed since the last save (the owner only; under the lock)."""
        if self.table is None or self.durable is None:
            return
        changed, gone, next_id = self.sensing.fusion.changes()
        if changed or gone:
            self.table.save(changed, gone, next_id)

    def _on_message(self, message: Message) -> None:
        for event in message.decode(StoredGroup).batches:
            self.feed(event)

    def feed(self, event: AcceptedBatch) -> None:
        """One stored batch: the samples of the signals detection reads, to the car's state."""
        paths, catalog = self._paths, self.catalog
        try:
            samples = [
                (ts, paths[sid], catalog.from_stored(sid, num, txt))
                for sid, ts, num, txt in zip(
                    event.signal_ids, event.ts, event.num, event.txt, strict=True
                )
                if sid in paths
            ]
        except (VoltaError, ValueError):  # stored by a gateway with another catalog
            self.errors += 1
            return
        now = self.clock()
        with self._lock:
            self.sensing.feed(event.vin, samples, now)
            self.batches += 1
            if self.warner is not None:
                self._warn(event.vin, samples, now)
            if now - self._expired_ms >= _EXPIRE_EVERY_MS:
                self.sensing.expire(now)
                self._expired_ms = now
            if now - self._saved_ms >= SAVE_EVERY_MS:
                self._save()
                self._saved_ms = now

    def _warn(self, vin: str, samples: list[tuple[int, str, object]], now: int) -> None:
        assert self.warner is not None
        revision = self.sensing.fusion.revision(now)
        if revision != self._revision:  # published hazards may have changed
            self._revision = revision
            self.warner.hazards(self.sensing.hazards(now), now)
        fix: dict[str, float] = {}
        for _, path, value in samples:  # the batch's latest position and heading
            if path in (LAT, LON, HEADING) and isinstance(value, int | float):
                fix[path] = float(value)
        if len(fix) == 3:
            self.warner.car(vin, fix[LAT], fix[LON], fix[HEADING], now)

    def hazards(self, now_ms: int) -> list[Hazard]:
        """The published hazards (the API's `HazardSource`)."""
        with self._lock:
            return self.sensing.hazards(now_ms)
