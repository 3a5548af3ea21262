"""Launching Volta's processes: the supervisor behind `volta serve --workers N`, the command
lines and environment of its children, and what makes a process a background one.

The children are gateway workers (`volta gateway --index I --workers N`) and one processors process
(`volta processors`); see `volta.workers` for what runs inside them. They inherit the parent's
settings through `VOLTA_*` variables and are restarted with the same index when they die.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType

from volta.backoff import backoff_delay
from volta.config import Settings

log = logging.getLogger(__name__)


def worker_command(index: int, workers: int, *extra: str) -> list[str]:
    """The command line of worker `index` of `workers`: this interpreter, this Volta."""
    return [
        sys.executable, "-m", "volta.cli", "gateway",
        "--index", str(index), "--workers", str(workers), *extra,
    ]  # fmt: skip


def processors_command() -> list[str]:
    """The command line of the processors process: this interpreter, this Volta."""
    return [sys.executable, "-m", "volta.cli", "processors"]


def settings_env(settings: Settings) -> dict[str, str]:
    """`settings` as VOLTA_* variables, so a child process reads the same settings."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is not None:
            env[f"VOLTA_{name.upper()}"] = str(value)
    return env


def scale_out_supervisor(workers: int, settings: Settings) -> Supervisor:
    """`volta serve --workers N`'s children: N gateway workers and one processors process."""
    return Supervisor(
        workers + 1,
        settings,
        command=lambda i: worker_command(i, workers) if i < workers else processors_command(),
        label=lambda i: f"worker {i}" if i < workers else "processors",
    )


# A worker that ran this long before it died starts again without delay: it was not crashing
# in a loop.
_STABLE_S = 30.0


class Supervisor:
    """Runs `count` worker processes and restarts one that dies, with the same index (so its
    persistent MQTT session, with what it had not acknowledged, is resumed), after a jittered
    back-off when it keeps dying. `stop()` asks each to finish (SIGTERM) and waits."""

    def __init__(
        self,
        count: int,
        settings: Settings,
        *,
        command: Callable[[int], list[str]] | None = None,
        label: Callable[[int], str] = "worker {}".format,
        stop_timeout_s: float = 30.0,
    ) -> None:
        self.count = count
        # By default: `count` gateway workers, sharing the telemetry shards between them.
        self._command = command or (lambda i: worker_command(i, count))
        self._label = label
        self._env = {**os.environ, **settings_env(settings)}
        self._stop_timeout_s = stop_timeout_s
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * count
        self.restarts = [0] * count
        self._started_at = [0.0] * count
        self._due = [0.0] * count  # when a dead worker may start again
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        for i in range(self.count):
            self._spawn(i)
        self._thread = threading.Thread(target=self._watch, name="volta-supervisor", daemon=True)
        self._thread.start()

    def pids(self) -> list[int]:
        with self._lock:
            return [p.pid for p in self.procs if p is not None]

    def _spawn(self, index: int) -> None:
        proc = subprocess.Popen(self._command(index), env=self._env)
        with self._lock:
            self.procs[index] = proc
            self._started_at[index] = time.monotonic()
        log.info("supervisor: %s started, pid %d", self._label(index), proc.pid)

    def _watch(self) -> None:
        while not self._stopping.wait(0.2):
            for i in range(self.count):
                with self._lock:
                    proc = self.procs[i]
                if proc is None or proc.poll() is None:
                    continue
                now = time.monotonic()
                if not self._due[i]:
                    ran = now - self._started_at[i]
                    failures = 0 if ran > _STABLE_S else self.restarts[i]
                    self._due[i] = now + (backoff_delay(failures, cap_s=30.0) if failures else 0)
                    log.warning(
                        "supervisor: %s (pid %d) exited with %s after %.1f s; restarting",
                        self._label(i),
                        proc.pid,
                        proc.returncode,
                        ran,
                    )
                if now >= self._due[i] and not self._stopping.is_set():
                    self._due[i] = 0.0
                    self.restarts[i] += 1
                    self._spawn(i)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            procs = [p for p in self.procs if p is not None]
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self._stop_timeout_s
        for p in procs:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("supervisor: pid %d did not stop in time; killing it", p.pid)
                p.kill()
                p.wait()


def background_process(settings: Settings) -> threading.Event:
    """Make this process a background one (`settings.background_nice`; before any thread
    starts, as threads inherit it) and return an event that SIGTERM or SIGINT sets."""
    if settings.background_nice:
        os.nice(settings.background_nice)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop
