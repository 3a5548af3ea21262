"""The gateway: the hand-off between the transports' threads and the one that commits.

Every transport (MQTT, HTTP, in-process) hands raw messages to one `Gateway`. A committer
thread collects them for up to `commit_max_delay_ms` or `commit_max_batches` and prepares them
(`admission`: screening, budgets, `pipeline.prepare`); a writer thread then commits the
groups in order (`commit`: de-duplicate, ONE store transaction, then announce the stored
batches on the bus, which the twin, the ingest rates and the processors follow) and calls
each message's `on_done`. So an answer (an MQTT PUBACK) always means "durably stored" — or,
with `error="store_unavailable"`, "not stored, send again". The two threads overlap the Python
work of preparing a group with the store's work on the previous one.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from volta.bus import Bus
from volta.catalog import Catalog
from volta.clock import Clock, wall_ms
from volta.config import Settings
from volta.ingest import codes
from volta.ingest.admission import Admission
from volta.ingest.commit import GroupCommit, IngestResult, not_stored
from volta.ingest.metrics import IngestMetrics
from volta.ingest.pipeline import Prepared
from volta.store.base import TelemetryStore

log = logging.getLogger(__name__)

Done = Callable[[IngestResult], None]


@dataclass(slots=True)
class _Item:
    payload: bytes
    vin: str
    received_ms: int
    on_done: Done


_STOP = object()


class Gateway:
    """Ingestion for one process; see the module doc for the order of things."""

    def __init__(
        self,
        *,
        catalog: Catalog,
        store: TelemetryStore,
        bus: Bus,
        settings: Settings,
        clock: Clock = wall_ms,
        metrics: IngestMetrics | None = None,
        known_vehicle: Callable[[str], bool] | None = None,
        source: int = 0,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.admission = Admission(catalog, settings, known_vehicle)
        self.group_commit = GroupCommit(
            store, bus, settings, metrics if metrics is not None else IngestMetrics(None), source
        )
        # Serialises commits (the writer thread vs. `ingest_many` callers): the write path
        # has one writer; readers (twin, store queries) never take this lock.
        self._commit_lock = threading.Lock()
        self._queue: queue.SimpleQueue[_Item | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._stopping = False

    # -- transports' entry points ---------------------------------------------------------

    def start(self) -> None:
        """Start the group-commit thread (the process's interpreter is tuned by its entry
        point: `volta.tuning`)."""
        if self._thread is not None:
            return
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="volta-committer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Commit everything submitted so far, then stop the committer thread."""
        thread = self._thread
        if thread is None:
            return
        self._stopping = True
        self._queue.put(_STOP)
        thread.join()
        self._thread = None

    def submit(self, payload: bytes, vin: str, on_done: Done) -> None:
        """Queue one message; `on_done(result)` runs in the writer thread once the batch
        (or its quarantine record) is durably stored, or with an error if it was not."""
        if self._stopping:
            _call(on_done, not_stored(vin, codes.GATEWAY_STOPPED, "the gateway is shutting down"))
            return
        # Only queued here: decoding and checking run on the committer thread, so a transport's
        # thread (an event loop, the MQTT network loop) is never held up by them. Preparing
        # on the caller's thread instead was measured: GIL hand-offs cost ~25 % more CPU than
        # the overlap with DuckDB's writes gained.
        self._queue.put(_Item(payload, vin, self.clock(), on_done))

    def ingest(self, payload: bytes, vin: str, timeout_s: float = 10.0) -> IngestResult:
        """Submit and wait for the answer (the HTTP route). Without a running committer the
        message is committed on the caller's thread."""
        if self._thread is None:
            return self._ingest_now([(vin, payload)], budgeted=True)[0]
        done = threading.Event()
        box: list[IngestResult] = []

        def on_done(result: IngestResult) -> None:
            box.append(result)
            done.set()

        self.submit(payload, vin, on_done)
        if not done.wait(timeout_s):
            reason = f"not committed within {timeout_s} s; send again"
            return not_stored(vin, codes.TIMEOUT, reason)
        return box[0]

    def ingest_many(self, items: Sequence[tuple[str, bytes]]) -> list[IngestResult]:
        """Commit `(vin, payload)` messages in one transaction on the caller's thread (the
        in-process transport: not subject to per-vehicle budgets)."""
        return self._ingest_now(items, budgeted=False)

    def _ingest_now(self, items: Sequence[tuple[str, bytes]], budgeted: bool) -> list[IngestResult]:
        now = self.clock()
        messages = [(payload, vin, now) for vin, payload in items]
        prepared = self.admission.prepare_many(messages, budgeted)
        with self._commit_lock:
            return self.group_commit.commit(prepared)

    # -- the committer ---------------------------------------------------------------------

    def _run(self) -> None:
        """Collect and prepare groups; a writer thread commits and answers them, so that the
        next group is decoded and validated while DuckDB writes this one (DuckDB releases the
        GIL while it works). At most one prepared group waits for the writer."""
        handoff: queue.Queue[tuple[list[_Item], list[Prepared] | Exception] | None]
        handoff = queue.Queue(maxsize=1)
        writer = threading.Thread(
            target=self._write, args=(handoff,), name="volta-writer", daemon=True
        )
        writer.start()
        try:
            self._collect(handoff)
        finally:
            handoff.put(None)
            writer.join()
        self._refuse_late_arrivals()

    def _collect(
        self, handoff: queue.Queue[tuple[list[_Item], list[Prepared] | Exception] | None]
    ) -> None:
        max_batches = max(1, self.settings.commit_max_batches)
        max_delay_s = max(0, self.settings.commit_max_delay_ms) / 1000
        stop = False
        while not stop:
            first = self._queue.get()
            if first is _STOP:
                break
            group: list[_Item] = [first]  # type: ignore[list-item]
            deadline = time.monotonic() + max_delay_s
            while len(group) < max_batches:
                wait = deadline - time.monotonic()
                try:
                    item = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                group.append(item)  # type: ignore[arg-type]
            prepared: list[Prepared] | Exception
            try:
                messages = [(i.payload, i.vin, i.received_ms) for i in group]
                prepared = self.admission.prepare_many(messages, budgeted=True)
            except Exception as err:  # a bug here must not kill the thread that acks
                prepared = err
            handoff.put((group, prepared))

    def _write(
        self, handoff: queue.Queue[tuple[list[_Item], list[Prepared] | Exception] | None]
    ) -> None:
        """Commit prepared groups in order, then answer each message of the group."""
        while (job := handoff.get()) is not None:
            group, prepared = job
            try:
                if isinstance(prepared, Exception):
                    raise prepared
                with self._commit_lock:
                    results = self.group_commit.commit(prepared)
            except Exception as err:  # a bug here must not kill the thread that acks
                log.exception("group commit failed unexpectedly")
                results = [not_stored(i.vin, codes.STORE_UNAVAILABLE, str(err)) for i in group]
            for item, result in zip(group, results, strict=True):
                _call(item.on_done, result)

    def _refuse_late_arrivals(self) -> None:
        """Answer what a transport queued while `stop` was under way, so no callback waits
        forever (the transport does not ack it; the broker will deliver it again)."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, _Item):
                failed = not_stored(item.vin, codes.GATEWAY_STOPPED, "the gateway is shutting down")
                _call(item.on_done, failed)


def _call(on_done: Done, result: IngestResult) -> None:
    try:
        on_done(result)
    except Exception:
        log.exception("on_done callback failed for %s/%s", result.vin, result.seq)
