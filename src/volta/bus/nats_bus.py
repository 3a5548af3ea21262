"""The scale-out event bus on NATS JetStream: persisted, shared by many processes.

Layout: one stream per deployment prefix (`volta` → stream `VOLTA`, subjects `volta.>`); a
bus subject `stored.<worker>` travels as `volta.stored.<worker>`, so test runs and deployments
sharing one NATS never see each other's events.

Delivery: a subscription with a `durable` name is a durable push consumer with a deliver group
of the same name: every process of one processor shares the consumer, the server spreads
events over them and remembers the position across restarts. Events are acknowledged after
the handler returns (at-least-once): an event whose handler did not finish — the process died —
is delivered again, so processors must be idempotent. A handler that raises is logged and
counted, retried twice, then skipped. Without `durable`, a subscription gets the events
published from now on, for as long as it lives. `replay` re-reads the stream from a point in
time, to rebuild a derived table. `tap` is a plain (core NATS) live subscription without
acknowledgements: the cheapest way for an API process to follow every event, e.g. to keep its
twin current, where a missed event only means a value is one batch old.

Outages: the client reconnects forever with jittered, capped exponential back-off. While it is
disconnected, `publish` does not wait for room: events that do not fit into the pending window
are dropped and counted in `dropped`, so a gateway keeps storing (the store, not the bus, is
the system of record) instead of stalling `timeout` seconds per event.

Threads: the `Bus` protocol is synchronous and nats-py is asyncio, so one event-loop thread per
bus runs the client; callers hand it coroutines and wait. Handlers run in one worker thread per
subscription (in order), never on the loop, so a slow handler does not stall the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import random
import re
import threading
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig

from volta.backoff import backoff_delay
from volta.bus.base import Event, Handler, Message
from volta.errors import ConfigError, Unavailable

log = logging.getLogger(__name__)

R = TypeVar("R")
_PREFIX = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MAX_DELIVERIES = 3  # a raising handler gets the event this many times, then it is skipped


class NatsSubscription:
    """One consumer binding; `close` stops delivery here (a durable keeps its position)."""

    def __init__(self, bus: NatsBus, pattern: str, handler: Handler) -> None:
        self.bus = bus
        self.pattern = pattern
        self.handler = handler
        self.closed = False
        self._worker = ThreadPoolExecutor(1, thread_name_prefix=f"nats-handler-{pattern}")
        self._sub: JetStreamContext.PushSubscription | None = None

    async def on_message(self, msg: Msg) -> None:
        if self.closed:
            return  # not acknowledged: another member of the group, or a restart, gets it
        message = Message(msg.subject[len(self.bus.prefix) + 1 :], msg.data)
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._worker, self.handler, message)
        except Exception:
            self.bus.handler_errors += 1
            log.exception("bus handler for %r failed on %r", self.pattern, message.subject)
            if msg.metadata.num_delivered < _MAX_DELIVERIES:
                await msg.nak(delay=0.5)
                return
        await msg.ack()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._sub is not None and not self.bus.closed:
            self.bus.call(self._sub.unsubscribe())
        self._worker.shutdown(wait=False)


class NatsTap:
    """A live core-NATS subscription; see `NatsBus.tap`. Handler errors are logged, counted."""

    def __init__(self, bus: NatsBus, pattern: str, handler: Handler) -> None:
        self.bus = bus
        self.pattern = pattern
        self.handler = handler
        self.closed = False
        self.errors = 0
        self.queue: queue.SimpleQueue[Message | None] = queue.SimpleQueue()
        self.sub: Any = None
        self._thread = threading.Thread(target=self._run, name=f"nats-tap-{pattern}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (message := self.queue.get()) is not None:
            try:
                self.handler(message)
            except Exception:
                self.errors += 1
                log.exception("bus tap for %r failed on %r", self.pattern, message.subject)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.sub is not None and not self.bus.closed:
            # If the connection is gone, the subscription went with it.
            with contextlib.suppress(Unavailable):
                self.bus.call(self.sub.unsubscribe())
        self.queue.put(None)
        self._thread.join(self.bus.timeout)


def _jittered_reconnect(servers: list[Any], info: dict[str, Any]) -> tuple[Any, float]:
    """nats-py's server pick for a reconnect: the least-tried server, after a jittered,
    capped exponential delay (nats-py's own wait is a constant)."""
    server = min(servers, key=lambda s: s.reconnects)
    return server, backoff_delay(server.reconnects, base_s=0.25, cap_s=10.0, rand=random.random)


class NatsBus:
    """`Bus` on NATS JetStream at `url` (nats://host:port). `prefix` names the stream and is the
    first token of every subject; `max_age_s` is how long the stream keeps events (replay
    reaches that far back); `max_pending` bounds unacknowledged publishes. Raises
    `Unavailable` when the server cannot be reached."""

    def __init__(
        self,
        url: str = "nats://127.0.0.1:4222",
        *,
        prefix: str = "volta",
        max_age_s: float = 7 * 86_400,
        max_pending: int = 4000,
        timeout: float = 5.0,
    ) -> None:
        if not _PREFIX.match(prefix):
            raise ConfigError(f"invalid bus prefix {prefix!r}: use letters, digits, _ and -")
        parts = urlsplit(url)
        self.where = f"NATS at {parts.hostname or '127.0.0.1'}:{parts.port or 4222}"
        self.prefix = prefix
        self.stream = prefix.upper()
        self.timeout = timeout
        self.published = 0
        self.publish_errors = 0
        self.dropped = 0  # not sent: the server was unreachable and the window full
        self.handler_errors = 0
        self.closed = False
        self._subs: list[NatsSubscription] = []
        self._taps: list[NatsTap] = []
        self._max_pending = max_pending
        self._room = threading.BoundedSemaphore(max_pending)
        self._outbox: queue.SimpleQueue[tuple[str, bytes]] = queue.SimpleQueue()
        self._sending = False  # a sender task is draining the outbox
        self._pending = 0  # published, not yet acknowledged
        self._idle = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"nats-bus-{prefix}", daemon=True
        )
        self._thread.start()
        try:
            self._nc: Client = self.call(self._connect(url, max_age_s), timeout + 1)
        except BaseException:
            self._stop_loop()
            raise
        self._js = self._nc.jetstream(timeout=timeout)

    # -- the loop bridge --------------------------------------------------------------------

    def call(self, coro: Coroutine[Any, Any, R], timeout: float | None = None) -> R:
        """Run `coro` on the bus's loop and wait for its result; engine failures become
        `Unavailable`."""
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(self.timeout + 1 if timeout is None else timeout)
        except TimeoutError as e:
            future.cancel()
            raise Unavailable(f"{self.where} did not answer within {self.timeout:g} s") from e
        except (nats.errors.Error, OSError) as e:
            raise Unavailable(f"{self.where} is unavailable: {type(e).__name__} {e}") from e

    async def _connect(self, url: str, max_age_s: float) -> Client:
        async def quiet(e: Exception) -> None:
            log.debug("nats: %s", e)  # every failed attempt; the outcome is reported once

        async def disconnected() -> None:
            if not self.closed:
                log.warning("%s: disconnected, reconnecting", self.where)

        async def reconnected() -> None:
            log.info("%s: reconnected", self.where)

        # nats-py retries a refused first connection until the timeout; one probe answers
        # "refused" at once instead.
        parts = urlsplit(url)
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(parts.hostname or "127.0.0.1", parts.port or 4222),
                self.timeout,
            )
            writer.close()
        except (TimeoutError, OSError) as e:
            reason = getattr(e, "strerror", None) or str(e) or "timeout"
            raise Unavailable(f"{self.where} is unavailable: cannot connect ({reason})") from e
        try:
            nc = await asyncio.wait_for(
                nats.connect(
                    url,
                    name="volta",
                    connect_timeout=self.timeout,
                    max_reconnect_attempts=-1,  # a running worker rides out a NATS restart
                    reconnect_time_wait=0.5,
                    error_cb=quiet,
                    disconnected_cb=disconnected,
                    reconnected_cb=reconnected,
                    reconnect_to_server_handler=_jittered_reconnect,
                ),
                self.timeout,
            )
        except (TimeoutError, OSError, nats.errors.Error) as e:
            reason = str(e) or "timeout"
            raise Unavailable(f"{self.where} is unavailable: cannot connect ({reason})") from e
        config = StreamConfig(
            name=self.stream,
            subjects=[f"{self.prefix}.>"],
            storage=StorageType.FILE,
            max_age=max_age_s,
        )
        js = nc.jetstream(timeout=self.timeout)
        try:
            await js.add_stream(config)
        except nats.js.errors.BadRequestError:
            await js.update_stream(config)  # exists with other limits: take ours
        return nc

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(self.timeout)

    # -- Bus --------------------------------------------------------------------------------

    def publish(self, subject: str, event: Event) -> None:
        """Queue `event` for sending, in publish order, and return at once: waiting for the
        server's acknowledgement of each event would cap a gateway at ~1,500 events/s. At most
        `max_pending` events are unacknowledged; past that, publish waits (back-pressure) and
        raises `Unavailable` after `timeout`. A refused event is logged and counted in
        `publish_errors`. `flush()` waits until everything published is stored."""
        if self.closed:
            raise Unavailable(f"{self.where}: the bus is closed")
        if not self._room.acquire(blocking=False):
            if not self._nc.is_connected:
                # Waiting would stall the caller (a gateway's writer) for nothing.
                self.dropped += 1
                if self.dropped == 1 or self.dropped % 10_000 == 0:
                    log.warning("%s: disconnected; %d events dropped", self.where, self.dropped)
                return
            if not self._room.acquire(timeout=self.timeout):
                raise Unavailable(f"{self.where}: {self._max_pending} events unacknowledged")
        data = Message(subject, event).data
        with self._idle:  # one lock orders the outbox and the sender flag
            self._pending += 1
            self.published += 1
            self._outbox.put((f"{self.prefix}.{subject}", data))
            start, self._sending = not self._sending, True
        if start:
            self._loop.call_soon_threadsafe(self._start_sender)

    def _start_sender(self) -> None:
        self._loop.create_task(self._send())

    async def _send(self) -> None:
        """Drain the outbox in order; one sender at a time keeps publish order."""
        while True:
            try:
                subject, data = self._outbox.get_nowait()
            except queue.Empty:
                with self._idle:
                    if self._outbox.empty():
                        self._sending = False
                        return
                continue  # a publish slipped in between
            try:
                ack = await self._js.publish_async(subject, data, stream=self.stream)
            except Exception as e:  # the connection is gone: counted, like a refused ack
                self._acknowledged(e)
                continue
            # An ack in flight when the connection drops never comes and nats-py never
            # resolves its future: without a limit it would hold a `max_pending` slot (and
            # `flush`) for ever. Past the timeout the event counts as not stored.
            waited = asyncio.ensure_future(asyncio.wait_for(ack, self.timeout))
            waited.add_done_callback(self._acknowledged)

    def _acknowledged(self, ack: asyncio.Future[Any] | BaseException) -> None:
        error = ack if isinstance(ack, BaseException) else None
        if isinstance(ack, asyncio.Future):
            error = asyncio.CancelledError() if ack.cancelled() else ack.exception()
        if error is not None:
            self.publish_errors += 1
            log.warning("%s: an event was not stored: %r", self.where, error)
        self._room.release()
        with self._idle:
            self._pending -= 1
            if not self._pending:
                self._idle.notify_all()

    def flush(self) -> None:
        """Wait until every event published so far is stored (or counted in publish_errors)."""
        with self._idle:
            if not self._idle.wait_for(lambda: self._pending == 0, self.timeout):
                raise Unavailable(f"{self.where}: {self._pending} events not acknowledged")

    def subscribe(
        self, subject_pattern: str, handler: Handler, durable: str | None = None
    ) -> NatsSubscription:
        sub = NatsSubscription(self, subject_pattern, handler)
        config = ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=30, max_ack_pending=1000)
        sub._sub = self.call(
            self._js.subscribe(
                f"{self.prefix}.{subject_pattern}",
                queue=durable,
                durable=durable,
                stream=self.stream,
                cb=sub.on_message,
                manual_ack=True,
                deliver_policy=DeliverPolicy.NEW,  # for a new consumer; a durable resumes
                config=config,
            )
        )
        self._subs.append(sub)
        return sub

    def tap(self, subject_pattern: str, handler: Handler) -> NatsTap:
        """Call `handler` (in one thread of its own, in order) for every event published on a
        matching subject from now on, at most once: no consumer, no acknowledgement, nothing
        replayed after a reconnect. For followers that tolerate a gap (a twin)."""
        tap = NatsTap(self, subject_pattern, handler)

        async def on_message(msg: Msg) -> None:
            tap.queue.put(Message(msg.subject[len(self.prefix) + 1 :], msg.data))

        tap.sub = self.call(self._nc.subscribe(f"{self.prefix}.{subject_pattern}", cb=on_message))
        self._taps.append(tap)
        return tap

    def replay(self, subject_pattern: str, handler: Handler, since_ms: int) -> int:
        """Call `handler` (in this thread) for every stored event on a matching subject
        published at or after `since_ms`, up to the newest at the time of the call; return how
        many. For rebuilding a derived table; live subscriptions are not affected."""
        self.flush()
        info = self.call(self._js.stream_info(self.stream))
        last = info.state.last_seq
        if last == 0:
            return 0
        start = datetime.fromtimestamp(since_ms / 1000, UTC)
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_TIME,
            opt_start_time=start,
            ack_policy=AckPolicy.NONE,
            inactive_threshold=30,
        )
        psub = self.call(
            self._js.pull_subscribe(
                f"{self.prefix}.{subject_pattern}", stream=self.stream, config=config
            )
        )
        count = 0
        try:
            while True:
                try:
                    batch = self.call(psub.fetch(256, timeout=1.0))
                except Unavailable as e:
                    if isinstance(e.__cause__, nats.errors.TimeoutError):
                        break  # nothing (more) matches
                    raise
                for msg in batch:
                    handler(Message(msg.subject[len(self.prefix) + 1 :], msg.data))
                    count += 1
                meta = batch[-1].metadata
                if meta.num_pending == 0 or meta.sequence.stream >= last:
                    break
        finally:
            self.call(psub.unsubscribe())
        return count

    def delete_stream(self) -> None:
        """Delete this prefix's stream and every consumer on it (tests, decommissioning)."""
        self.call(self._js.delete_stream(self.stream))

    def close(self) -> None:
        if self.closed:
            return
        for sub in self._subs:
            sub.close()
        for tap in self._taps:
            tap.close()
        try:
            self.flush()
        except Unavailable:
            log.warning("%s: closed with events not acknowledged", self.where)
        self.closed = True
        try:
            self.call(self._nc.drain())
        except Unavailable:
            log.warning("%s: closed without draining", self.where)
        finally:
            self._stop_loop()
