"""NATS JetStream for the bus tests: one stream per bus, under a prefix unique to the test run.

`VOLTA_TEST_NATS` names the server (default nats://127.0.0.1:4222). Each bus the tests open
gets its own prefix (and so its own stream), deleted when the bus is closed.
"""

from __future__ import annotations

import os
import socket
import uuid
from urllib.parse import urlsplit

import pytest

from volta.bus.nats_bus import NatsBus

NATS_URL = os.environ.get("VOLTA_TEST_NATS", "nats://127.0.0.1:4222")
RUN = uuid.uuid4().hex[:8]


def listening(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 4222), 1):
            return True
    except OSError:
        return False


class ThrowawayNatsBus(NatsBus):
    """A `NatsBus` whose stream goes away with it."""

    def close(self) -> None:
        if not self.closed:
            self.delete_stream()
        super().close()


def nats_bus(prefix: str | None = None) -> NatsBus:
    """A bus on a fresh stream (or on `prefix`'s, to play a second process); skips without NATS."""
    if not listening(NATS_URL):
        pytest.skip(f"no NATS listening at {urlsplit(NATS_URL).netloc}")
    return ThrowawayNatsBus(NATS_URL, prefix=prefix or f"volta_test_{RUN}_{uuid.uuid4().hex[:6]}")
