"""A simulated fleet fed through the real pipeline (in-process transport → gateway → store →
bus → driver services) into a Platform on a temporary data dir."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sim.simrun import Day
from volta.config import Settings
from volta.ingest.inproc import InProcessTransport
from volta.platform import Platform
from volta.sim.senders import encode_batch

CHUNK = 200  # batches per transaction


@dataclass
class Fed:
    platform: Platform
    day: Day


def feed(day: Day, data_dir: Path, *, register: bool = True) -> Fed:
    """Register the day's vehicles (with their models) and publish every batch in the order
    the cars sent them, the platform's clock following the send times."""
    now = [day.sent_ms[0] if day.sent_ms else 0]
    platform = Platform(Settings(data_dir=data_dir, mqtt=None), clock=lambda: now[0])
    platform.start()
    if register:
        for v in day.truth.vehicles:
            platform.registry.add_vehicle(v.vin, v.model)
    transport = InProcessTransport(platform.gateway)
    for i in range(0, len(day.batches), CHUNK):
        chunk = day.batches[i : i + CHUNK]
        now[0] = day.sent_ms[i + len(chunk) - 1]
        transport.publish_many([(b.vin, encode_batch(b, "msgpack")) for b in chunk])
    return Fed(platform, day)
