"""The event bus interface: subjects, messages, subscriptions.

Two engines implement `Bus`: `MemoryBus` (in-process, synchronous; the embedded default) and
NATS JetStream (scale-out, later). `tests/bus/test_contract.py` defines the behaviour every
engine must have.

Subjects are dot-separated tokens (`telemetry.JHMZZ1A1XRV000001`); a subscription pattern may
use NATS wildcards: `*` matches one token, `>` (last) matches one or more tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

import msgspec

T = TypeVar("T", bound=msgspec.Struct)

Event = bytes | msgspec.Struct


class Message:
    """One delivered event. Encodes or decodes lazily, so an in-process subscriber that asks
    for the type that was published gets the very object, without a serialisation round trip."""

    __slots__ = ("_data", "_event", "subject")

    def __init__(self, subject: str, event: Event) -> None:
        self.subject = subject
        self._event: msgspec.Struct | None = None if isinstance(event, bytes) else event
        self._data: bytes | None = event if isinstance(event, bytes) else None

    @property
    def data(self) -> bytes:
        """The event as MessagePack bytes (what a network engine carries)."""
        if self._data is None:
            self._data = msgspec.msgpack.encode(self._event)
        return self._data

    def decode(self, type_: type[T]) -> T:
        """The event as `type_`; raises `msgspec.ValidationError` if it is something else."""
        if isinstance(self._event, type_):
            return self._event
        return msgspec.msgpack.decode(self.data, type=type_)


Handler = Callable[[Message], None]


class Subscription(Protocol):
    def close(self) -> None:
        """Stop delivering to this subscription's handler. Idempotent."""
        ...


class Bus(Protocol):
    """Publish events to subjects; deliver them to handlers whose pattern matches."""

    def publish(self, subject: str, event: Event) -> None:
        """Deliver `event` to every matching subscription. A failing handler is logged and
        counted; it never raises into the publisher."""
        ...

    def subscribe(
        self, subject_pattern: str, handler: Handler, durable: str | None = None
    ) -> Subscription:
        """Call `handler(message)` for every event published on a matching subject from now on.

        `durable` names a consumer whose position survives restarts on engines that persist
        (JetStream); engines that do not persist accept and ignore it."""
        ...

    def tap(self, subject_pattern: str, handler: Handler) -> Subscription:
        """Call `handler(message)` for every event published on a matching subject from now on,
        at most once: no consumer, no acknowledgement, nothing replayed after a reconnect. For
        followers that tolerate a gap and mend it otherwise (the twin, ingest rates); on an
        engine that does not persist it is `subscribe`."""
        ...

    def close(self) -> None: ...


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: `*` is one token, a final `>` is one or more tokens."""
    p_tokens = pattern.split(".")
    s_tokens = subject.split(".")
    for i, tok in enumerate(p_tokens):
        if tok == ">":
            return i == len(p_tokens) - 1 and len(s_tokens) > i
        if i >= len(s_tokens):
            return False
        if tok != "*" and tok != s_tokens[i]:
            return False
    return len(p_tokens) == len(s_tokens)
