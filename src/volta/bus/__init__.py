"""The event bus: one interface (`base.Bus`), an in-process engine, NATS JetStream later."""

from volta.bus.base import Bus, Event, Handler, Message, Subscription, subject_matches
from volta.bus.events import TELEMETRY_ALL, TelemetryStored, telemetry_subject
from volta.bus.memory import MemoryBus

__all__ = [
    "TELEMETRY_ALL",
    "Bus",
    "Event",
    "Handler",
    "MemoryBus",
    "Message",
    "Subscription",
    "TelemetryStored",
    "subject_matches",
    "telemetry_subject",
]
