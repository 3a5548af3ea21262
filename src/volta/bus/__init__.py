"""The event bus: one interface (`base.Bus`), an in-process engine and NATS JetStream."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from volta.bus.base import Bus, Event, Handler, Message, Subscription, subject_matches
from volta.bus.events import (
    STORED_ALL,
    StoredGroup,
    publish_stored,
    stored_subject,
    tap_stored,
)
from volta.bus.memory import MemoryBus
from volta.config import Settings
from volta.errors import ConfigError

SUPPORTED_ENGINES = ("memory", "nats")

__all__ = [
    "STORED_ALL",
    "Bus",
    "Event",
    "Handler",
    "MemoryBus",
    "Message",
    "StoredGroup",
    "Subscription",
    "open_bus",
    "publish_stored",
    "stored_subject",
    "subject_matches",
    "tap_stored",
]


def open_bus(settings: Settings) -> Bus:
    """The bus `settings.bus` names: 'memory' (in-process, the default) or
    nats://host:port[?prefix=volta&max_pending=4000] (JetStream; the prefix names the stream,
    `max_pending` bounds the events unacknowledged: past it, an outage drops events)."""
    if settings.bus == "memory":
        return MemoryBus()
    parts = urlsplit(settings.bus)
    if parts.scheme in ("nats", "tls"):
        # Imported here: the embedded default never loads nats-py.
        from volta.bus.nats_bus import NatsBus

        query = parse_qs(parts.query)
        prefix = query.get("prefix", ["volta"])[0]
        pending = query.get("max_pending", ["4000"])[0]
        if not pending.isdigit() or int(pending) < 1:
            raise ConfigError(f"max_pending in the bus URL must be a positive integer: {pending!r}")
        url = parts._replace(query="").geturl()
        return NatsBus(url, prefix=prefix, max_pending=int(pending))
    # Only the scheme is echoed: a bus URL may carry a password.
    raise ConfigError(
        f"unsupported bus engine {parts.scheme or settings.bus.split(':', 1)[0]!r}: supported "
        f"engines are {', '.join(repr(e) for e in SUPPORTED_ENGINES)} (nats://host:4222)"
    )
