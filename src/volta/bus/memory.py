"""The in-process bus: synchronous dispatch in the publisher's thread, nothing persisted."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from volta.bus.base import Event, Handler, Message, subject_matches

log = logging.getLogger(__name__)

# Per-VIN subjects make the match cache grow with the fleet; past this it is simply rebuilt.
_CACHE_LIMIT = 100_000


@dataclass(eq=False)
class _Subscription:
    bus: MemoryBus
    pattern: str
    handler: Handler
    durable: str | None
    closed: bool = field(default=False)

    def close(self) -> None:
        self.bus._remove(self)


class MemoryBus:
    """`Bus` for one process. Handlers run synchronously, in order of subscription; the
    subscription list is copy-on-write so publishing takes no lock."""

    def __init__(self) -> None:
        self._subs: tuple[_Subscription, ...] = ()
        self._cache: dict[str, tuple[_Subscription, ...]] = {}
        self._lock = threading.Lock()
        self.published = 0
        self.handler_errors = 0

    def publish(self, subject: str, event: Event) -> None:
        self.published += 1
        targets = self._cache.get(subject)
        if targets is None:
            targets = self._match(subject)
        if not targets:
            return
        message = Message(subject, event)
        for sub in targets:
            if sub.closed:
                continue
            try:
                sub.handler(message)
            except Exception:
                self.handler_errors += 1
                log.exception("bus handler for %r failed on %r", sub.pattern, subject)

    def subscribe(
        self, subject_pattern: str, handler: Handler, durable: str | None = None
    ) -> _Subscription:
        sub = _Subscription(self, subject_pattern, handler, durable)
        with self._lock:
            self._subs = (*self._subs, sub)
            self._cache = {}
        return sub

    def tap(self, subject_pattern: str, handler: Handler) -> _Subscription:
        """`subscribe`: in one process nothing is persisted, so nothing is skipped either."""
        return self.subscribe(subject_pattern, handler)

    def close(self) -> None:
        with self._lock:
            for sub in self._subs:
                sub.closed = True
            self._subs = ()
            self._cache = {}

    def _match(self, subject: str) -> tuple[_Subscription, ...]:
        subs = self._subs
        targets = tuple(s for s in subs if subject_matches(s.pattern, subject))
        with self._lock:
            if self._subs is subs:  # not stale: nobody (un)subscribed meanwhile
                if len(self._cache) >= _CACHE_LIMIT:
                    self._cache = {}
                self._cache[subject] = targets
        return targets

    def _remove(self, sub: _Subscription) -> None:
        with self._lock:
            sub.closed = True
            self._subs = tuple(s for s in self._subs if s is not sub)
            self._cache = {}
