"""The incremental driver services: per-vehicle sample buffers fed from the bus, analysed as
data arrives.

Each vehicle's buffer holds the samples from `done_until - CONTEXT_MS` on. Data is known
complete up to the *watermark*: the newest sample of the unbroken run of batch sequence
numbers (a hole, i.e. a batch still buffered in a car out of coverage, holds it back, until
`STALE_HOLE_MS` of newer data says the batch is not coming). A run re-detects everything in the
buffer; the cores say which items the data up to the watermark makes final (a drive followed by
"park", a charge followed by 10 min of data or by motion, anything ending `SETTLE_MS` before).
The derived store's records from `done_until` on are replaced by the run's, so a provisional
drive grows in place, and a re-detection never leaves a stale record behind.

The store, not the bus, is the system of record: an event the bus lost (NATS down while a
gateway stored the batch: the gateway drops what it cannot publish and goes on) is read back
from the store. A vehicle *catches up* when a hole in its sequence numbers has `HEAL_AFTER_MS`
of newer data behind it, and once each time it falls quiet (`QUIET_MS` without new samples, at
the sweep): if the store holds batches the bus did not bring, the buffer is re-read from the
store and those batches count as seen, so the watermark moves on and nothing waits for a
manual `volta recompute`.

A car that goes to sleep right after a drive or charge sends nothing that would close it: the
*sweep* (`sweep(now_ms)`, every `SWEEP_EVERY_MS` on the worker, `now_ms` from the platform's
clock) takes all data of a vehicle silent for `SILENT_MS` (its newest sample that old, nothing
of it queued, nothing of it off the bus for `QUIET_MS`: a backlog of old data arriving now is
not a sleeping car) as complete and closes what is open; so does `stop()`.

The queue between the bus handler and the analysis worker is bounded (`max_backlog` events):
when it is full the handler waits, so a burst pushes back on whoever publishes (the gateway's
committer on the in-process bus, which in turn stops taking messages; on NATS the events stay
unacknowledged on the server) instead of growing memory or dropping an event.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from volta.bus import Bus, Message, StoredGroup, Subscription
from volta.bus.events import STORED_ALL
from volta.charging.core import Charge
from volta.clock import Clock, wall_ms
from volta.derived.columns import Series
from volta.derived.store import DerivedStore
from volta.drives.core import SETTLE_MS, Drive
from volta.places.core import Tagger
from volta.places.tag import retag
from volta.processors.analysis import KINDS, Results, analyse
from volta.store.base import AcceptedBatch, TelemetryStore

__all__ = ["DriverServices"]

log = logging.getLogger(__name__)

CONTEXT_MS = 15 * 60_000  # samples kept before `done_until`: the look-back of the cores
STALE_HOLE_MS = 45 * 60_000
RUN_EVERY_MS = 60_000  # of new data, per vehicle
# Events waiting for the worker: ~1 s of a 10,000-car fleet at one batch per 10 s; one event
# is a few kB, so the queue stays within a few MB however long a burst lasts.
MAX_BACKLOG = 1024
# Nothing measured by a car for this long (by the platform's clock): it sleeps, and what it sent
# is all there is. Longer than a connectivity outage lasts (the simulator's: at most 30 min),
# so that a car sending its buffered batches late is not closed before they come.
SILENT_MS = 60 * 60_000
SWEEP_EVERY_MS = 60_000
# A hole in a vehicle's sequence numbers this old (of newer data) is looked for in the store:
# longer than batches of one car committed by two gateway workers arrive out of order.
HEAL_AFTER_MS = 2 * 60_000
QUIET_MS = 5 * 60_000  # no new samples for this long: the store is asked for what came since
HEAL_SEQS = 2_000  # the highest seqs looked at in the store: ~5 h of 10 s batches
_NEVER = -(2**62)
_FOREVER = 2**62


@dataclass
class _Vehicle:
    done_until: int = _NEVER
    next_seq: int = 1
    pending: dict[int, int] = field(default_factory=dict)  # seq → newest sample ts
    watermark: int = _NEVER
    newest: int = _NEVER
    last_run: int = _NEVER
    open: bool = False  # the last run left a provisional item
    top_seq: int = 0  # the highest seq seen
    healed_hole: int = 0  # the hole (its first seq) last looked for in the store
    checked_quiet: bool = False  # the store was asked after the car fell quiet
    # raw (signal id, ts, value) chunks as they came: appending costs a few array ops, the
    # split per signal happens once per run
    chunks: list[tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]] = field(
        default_factory=list
    )

    def columns(self, since: int, names: dict[int, str]) -> dict[str, Series]:
        """The buffer from `since` on, per signal and sorted by time; compacts the buffer."""
        if not self.chunks:
            return {}
        sid = np.concatenate([c[0] for c in self.chunks])
        ts = np.concatenate([c[1] for c in self.chunks])
        num = np.concatenate([c[2] for c in self.chunks])
        keep = ts >= since
        sid, ts, num = sid[keep], ts[keep], num[keep]
        order = np.lexsort((ts, sid))
        sid, ts, num = sid[order], ts[order], num[order]
        if len(ts) > 1:  # a sample seen twice (warm-up scan and event): once
            dup = np.r_[False, (sid[1:] == sid[:-1]) & (ts[1:] == ts[:-1])]
            if dup.any():
                sid, ts, num = sid[~dup], ts[~dup], num[~dup]
        self.chunks = [(sid, ts, num)]
        cuts = np.flatnonzero(np.diff(sid)) + 1
        out: dict[str, Series] = {}
        for a, b in zip(np.r_[0, cuts].tolist(), np.r_[cuts, len(sid)].tolist(), strict=True):
            if b > a:
                out[names[int(sid[a])]] = (ts[a:b], num[a:b])
        return out


class DriverServices:
    """Drives, charges and capacity samples, kept up to date from the batches on `stored.*`."""

    def __init__(
        self,
        bus: Bus,
        store: DerivedStore,
        ids: dict[str, int],
        *,
        telemetry: TelemetryStore | None = None,
        durable: str = "driver-services",
        tagger: Callable[[], Tagger] | None = None,
        max_backlog: int = MAX_BACKLOG,
        clock: Clock = wall_ms,
    ) -> None:
        self.bus = bus
        self.store = store
        self.telemetry = telemetry
        self.names = {sid: name for name, sid in ids.items()}
        self.durable = durable
        self._vehicles: dict[str, _Vehicle] = {}
        self._lock = threading.Lock()
        self._sub: Subscription | None = None
        self.tagger = tagger
        self.max_backlog = max_backlog
        self.clock = clock
        self._last_sweep = _NEVER
        self.closed_silent = 0  # vehicles whose open items a sweep closed
        self.healed = 0  # batches read back from the store that the bus had not brought
        # how many of each vehicle's batches came off the bus and were analysed: a car whose
        # batches wait in the queue is not silent (one writer each: the handler, the worker)
        self._received: dict[str, int] = {}
        # when (platform clock) each vehicle's newest batch came off the bus: a car uploading
        # hours of old data is not silent, whatever the time of its samples
        self._heard: dict[str, int] = {}
        self._analysed: dict[str, int] = {}
        self._queue: queue.Queue[AcceptedBatch | None] = queue.Queue(maxsize=max_backlog)
        self._worker: threading.Thread | None = None
        self.runs = 0
        self.errors = 0
        self.late_dropped = 0
        self.waits = 0  # times the bus handler found the queue full and waited (backpressure)
        self.peak_backlog = 0

    def start(self) -> None:
        """Subscribe; events are queued by the bus handler and analysed on a worker thread,
        so that the gateway's committer (which publishes) never waits for the analysis."""
        if self._sub is None:
            self._worker = threading.Thread(
                target=self._work, name="volta-driver-services", daemon=True
            )
            self._worker.start()
            self._sub = self.bus.subscribe(STORED_ALL, self._on_message, durable=self.durable)

    def stop(self) -> None:
        """Unsubscribe, finish what is queued, close what silent cars left open, stop the
        worker."""
        if self._sub is not None:
            self._sub.close()
            self._sub = None
            self._queue.put(None)
            if self._worker is not None:
                self._worker.join()
                self._worker = None
            self.sweep(self.clock())

    @property
    def backlog(self) -> int:
        """Events received and not analysed yet."""
        return self._queue.qsize()

    def _on_message(self, message: Message) -> None:
        now = self.clock()
        for ev in message.decode(StoredGroup).batches:
            self._heard[ev.vin] = now
            self._received[ev.vin] = self._received.get(ev.vin, 0) + 1
            try:
                self._queue.put_nowait(ev)
            except queue.Full:
                self.waits += 1
                self._queue.put(ev)  # blocks the publisher until the worker catches up
        self.peak_backlog = max(self.peak_backlog, self._queue.qsize())

    def _work(self) -> None:
        while True:
            try:
                ev = self._queue.get(timeout=SWEEP_EVERY_MS / 1000)
            except queue.Empty:
                self._sweep_due()
                continue
            try:
                if ev is None:
                    return
                self.feed(ev)
                self._analysed[ev.vin] = self._analysed.get(ev.vin, 0) + 1
                self._sweep_due()
            except Exception:  # one bad batch must not stop the service for every car
                self.errors += 1
                log.exception("driver services failed on a batch of %s", ev.vin if ev else "?")
            finally:
                self._queue.task_done()

    def _sweep_due(self) -> None:
        now = self.clock()
        if now - self._last_sweep >= SWEEP_EVERY_MS:
            self._last_sweep = now
            try:
                self.sweep(now)
            except Exception:
                self.errors += 1
                log.exception("driver services: the sweep failed")

    def sweep(self, now_ms: int) -> int:
        """Close the open drives and charges of every vehicle silent for `SILENT_MS` at
        `now_ms` (the platform's clock): what it sent is taken as complete. Returns how many
        vehicles it closed."""
        closed = 0
        with self._lock:
            for vin, veh in self._vehicles.items():
                if self._waiting(vin) or now_ms - veh.newest < QUIET_MS:
                    continue
                if now_ms - self._heard.get(vin, _NEVER) < QUIET_MS:
                    continue  # still sending (a backlog of old data): not quiet yet
                silent = veh.open and now_ms - veh.newest >= SILENT_MS
                if not veh.checked_quiet or silent:  # never close what the store could extend
                    if self._catch_up(vin, veh):  # new data: asked again once quiet again
                        self._run(vin, veh, veh.watermark)
                        continue
                    veh.checked_quiet = True
                if silent:
                    self._run(vin, veh, _FOREVER)
                    closed += 1
        self.closed_silent += closed
        return closed

    def _waiting(self, vin: str) -> bool:
        """Batches of `vin` are queued: it is not quiet, whenever they were measured."""
        return self._received.get(vin, 0) > self._analysed.get(vin, 0)

    def _catch_up(self, vin: str, veh: _Vehicle) -> bool:
        """Read back from the store the batches of `vin` the bus did not bring (stored, seq not
        seen): the buffer is re-read from the store, those seqs count as seen. True if any."""
        if self.telemetry is None:
            return False
        look = min(max(veh.top_seq - veh.next_seq, 0), HEAL_SEQS) + HEAL_SEQS
        stored = self.telemetry.recent_seqs(vin, look)
        missing = [q for q in stored if q >= veh.next_seq and q not in veh.pending]
        if not missing:
            return False
        # from the buffer's start: for a vehicle this process has not analysed yet (its first
        # batches were lost), its whole stored history, once, as `volta recompute` would
        since = veh.done_until - CONTEXT_MS if veh.done_until > _NEVER else _NEVER
        scanned = self.telemetry.scan(vin, sorted(self.names), since, _FOREVER)
        newest = veh.newest
        for sid, (ts, num) in scanned.items():
            if len(ts):
                veh.chunks.append((np.full(len(ts), sid, dtype=np.int64), ts, num))
                newest = max(newest, int(ts[-1]))
        for q in missing:  # everything stored is now in the buffer, up to `newest`
            self._advance(veh, q, newest)
        self.healed += len(missing)
        log.info("driver services: %d batches of %s read back from the store", len(missing), vin)
        return True

    def feed(self, ev: AcceptedBatch) -> None:
        """Take one stored batch; analyse the vehicle if enough new data came in."""
        with self._lock:
            veh = self._vehicles.get(ev.vin)
            if veh is None:
                veh = self._vehicles[ev.vin] = self._resume(ev)
            newest = self._append(veh, ev)
            self._advance(veh, ev.seq, newest)
            veh.checked_quiet = False
            hole = veh.next_seq if veh.pending else 0
            if hole and veh.newest - veh.watermark > HEAL_AFTER_MS and hole != veh.healed_hole:
                veh.healed_hole = hole
                self._catch_up(ev.vin, veh)
            self._skip_stale_hole(veh)
            if veh.newest - veh.last_run >= RUN_EVERY_MS:
                self._run(ev.vin, veh, veh.watermark)

    def flush(self, *, complete: bool = False) -> None:
        """Analyse every vehicle now (after what is queued); with `complete`, take all data
        received as final (end of a replay, or a test)."""
        if self._worker is not None:
            self._queue.join()
        with self._lock:
            for vin, veh in self._vehicles.items():
                self._run(vin, veh, _FOREVER if complete else veh.watermark)

    def _resume(self, ev: AcceptedBatch) -> _Vehicle:
        """State for a vehicle seen for the first time by this process. If it has derived
        records (a restart), carry on after them: the first provisional record is re-owned,
        its samples reloaded from the telemetry store, and sequence numbers start here."""
        latest: list[Drive | Charge] = [
            *self.store.list("drive", Drive, ev.vin, limit=1),
            *self.store.list("charge", Charge, ev.vin, limit=1),
        ]
        if not latest:
            return _Vehicle()  # new: its data starts at seq 1
        final_end = max((r.end_ms for r in latest if r.final), default=_NEVER)
        open_start = min((r.start_ms for r in latest if not r.final), default=_FOREVER)
        done = min(final_end, open_start) if final_end > _NEVER else open_start
        veh = _Vehicle(done_until=done, next_seq=ev.seq)
        if self.telemetry is not None:
            ids = sorted(self.names)
            scanned = self.telemetry.scan(ev.vin, ids, done - CONTEXT_MS, _FOREVER)
            for sid, (ts, num) in scanned.items():
                if len(ts):
                    veh.chunks.append((np.full(len(ts), sid, dtype=np.int64), ts, num))
        return veh

    def _append(self, veh: _Vehicle, ev: AcceptedBatch) -> int:
        sid = np.asarray(ev.signal_ids, dtype=np.int64)
        ts = np.asarray(ev.ts, dtype=np.int64)
        newest = int(ts.max()) if len(ts) else ev.ts_ms
        # A set look-up per sample: batches are small, and np.isin costs ~100 us of GIL each.
        names = self.names
        picked = [i for i, s in enumerate(ev.signal_ids) if s in names]
        if picked:
            idx = np.array(picked, dtype=np.intp)
            num = np.array([ev.num[i] for i in picked], dtype=np.float64)  # None → nan
            t = ts[idx]
            ok = (t >= veh.done_until - CONTEXT_MS) & ~np.isnan(num)
            self.late_dropped += int(len(t) - ok.sum())
            veh.chunks.append((sid[idx][ok], t[ok], num[ok]))
        return newest

    def _advance(self, veh: _Vehicle, seq: int, newest: int) -> None:
        veh.newest = max(veh.newest, newest)
        veh.top_seq = max(veh.top_seq, seq)
        if seq < veh.next_seq:
            return  # a re-numbered or very late batch: data kept, watermark unchanged
        veh.pending[seq] = max(veh.pending.get(seq, _NEVER), newest)
        self._close_up(veh)

    def _close_up(self, veh: _Vehicle) -> None:
        while veh.next_seq in veh.pending:
            veh.watermark = max(veh.watermark, veh.pending.pop(veh.next_seq))
            veh.next_seq += 1

    def _skip_stale_hole(self, veh: _Vehicle) -> None:
        """Move past a hole with `STALE_HOLE_MS` of newer data behind it: the store did not
        have it either (a batch rejected whole, a restart), and it is not going to fill."""
        if veh.pending and veh.newest - veh.watermark > STALE_HOLE_MS:
            veh.next_seq = min(veh.pending)
            self._close_up(veh)

    def _run(self, vin: str, veh: _Vehicle, complete_to: int) -> None:
        veh.last_run = veh.newest
        cols = veh.columns(veh.done_until - CONTEXT_MS, self.names)
        tagger = self.tagger() if self.tagger is not None else None
        res = analyse(vin, cols, complete_to, tagger)
        self.runs += 1
        start = veh.done_until
        for kind in KINDS:
            self.store.replace_from(
                kind, vin, start, [r for r in res.of(kind) if r.start_ms >= start]
            )
        if tagger is not None and self.tagger is not None:
            now = self.tagger()
            if now.version != tagger.version:  # places changed while this run was going on
                retag(self.store, now, [vin])
        items: list[Drive | Charge] = [*res.drives, *res.charges]
        veh.open = any(not r.final for r in items)
        veh.done_until = max(veh.done_until, _boundary(res, complete_to))


def _boundary(res: Results, complete_to: int) -> int:
    """The earliest time a later run could still change: the start of the first provisional
    item, or `SETTLE_MS` before the data is complete, moved past a final item it would cut.
    No item straddles it."""
    items: list[Drive | Charge] = [*res.drives, *res.charges]
    if complete_to >= _FOREVER:
        return max((r.end_ms for r in items), default=_NEVER)
    settled = complete_to - SETTLE_MS
    for r in items:  # a drive closed by "park" may end after `settled`
        if r.final and r.start_ms < settled < r.end_ms:
            settled = r.end_ms
    return min([*(r.start_ms for r in items if not r.final), settled])
