"""`Periodic`: a job that runs in a daemon thread every so often until stopped.

The platform's background jobs (the alert watch, the command sweep, the trip watch, the OTA
campaign runner and the OTA re-signing) share its shape: run, wait, run again, and never let
one failed run end the job, since what failed now (a database, a folder) may work at the next.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

__all__ = ["Periodic"]


class Periodic:
    """Calls `job` every `interval_s()` seconds in a daemon thread named `name`; with
    `at_start`, once at once too. A run that raises is logged with `failed` and the job goes
    on. `start` twice starts one thread; `stop` waits up to `timeout_s` for a run under way.
    The interval is read before each wait, so its owner may change it while it runs."""

    def __init__(
        self,
        name: str,
        interval_s: Callable[[], float],
        job: Callable[[], object],
        log: logging.Logger,
        failed: str,
        *,
        at_start: bool = False,
        timeout_s: float = 10.0,
    ) -> None:
        self.name = name
        self._interval_s = interval_s
        self._job = job
        self._log = log
        self._failed = failed
        self._at_start = at_start
        self._timeout_s = timeout_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._timeout_s)
            self._thread = None

    def _run(self) -> None:
        if self._at_start and not self._stop.is_set():
            self._once()
        while not self._stop.wait(self._interval_s()):
            self._once()

    def _once(self) -> None:
        try:
            self._job()
        except Exception:  # what failed now may work at the next run
            self._log.exception(self._failed)
