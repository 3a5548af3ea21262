"""A slow WebSocket client gets the newest value of each signal, not a growing backlog."""

from __future__ import annotations

import asyncio
import threading

from volta.api.state import LiveFeed
from volta.twin import TwinValue


def test_changes_waiting_for_a_slow_client_are_merged_per_signal() -> None:
    async def scenario() -> dict[int, TwinValue]:
        feed = LiveFeed(asyncio.get_running_loop())

        def committer() -> None:  # pushes from another thread, as the twin does
            for t in range(1000):
                feed.push("VIN", {1: TwinValue(t, float(t), None), 2: TwinValue(t, 0.0, None)})
            feed.push("VIN", {3: TwinValue(5, None, "x")})

        thread = threading.Thread(target=committer)
        thread.start()
        thread.join()
        return await asyncio.wait_for(feed.next(), 1.0)

    pending = asyncio.run(scenario())
    assert pending == {
        1: TwinValue(999, 999.0, None),
        2: TwinValue(999, 0.0, None),
        3: TwinValue(5, None, "x"),
    }
