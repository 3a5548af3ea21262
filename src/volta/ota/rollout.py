"""The rules of a rollout: its waves, thresholds, timeout and retries, and each car's progress.

Plain typed values shared by the campaign state machine (`campaign.py`) and, later, its store and
API. Nothing here reads a clock: every time is a parameter in ms since the Unix epoch.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum

from volta.errors import BadRequest


class Phase(StrEnum):
    """Where a campaign is."""

    RUNNING = "running"
    PAUSED = "paused"  # by an operator, or after a wave when the policy asks for it
    HALTED = "halted"  # by its failure threshold: only cancelling is left
    CANCELLED = "cancelled"
    COMPLETED = "completed"


class Progress(StrEnum):
    """Where one car of a campaign is."""

    WAITING = "waiting"  # its wave is not released yet
    ASSIGNED = "assigned"  # the director lists the image for it; the car has not started
    DOWNLOADING = "downloading"
    INSTALLING = "installing"
    RETRY_WAIT = "retry_wait"  # its last attempt failed; assigned again at `retry_at_ms`
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # every attempt failed
    WITHDRAWN = "withdrawn"  # the campaign stopped before the car started


FINAL = frozenset({Progress.SUCCEEDED, Progress.FAILED, Progress.WITHDRAWN})
STARTED = frozenset({Progress.DOWNLOADING, Progress.INSTALLING})


@dataclass(frozen=True)
class Policy:
    """How a campaign rolls out.

    `waves` are cumulative shares of the cars (the default releases 1 %, then up to 10 %, 50 %
    and all). The next wave is released when `success_threshold` of the cars released so far
    have succeeded; the campaign halts when more than `failure_threshold` of them are failing
    (their latest attempt failed, retrying or not), so a bad image halts it after one attempt
    per car, not after every retry. An install that reports nothing for `install_timeout_ms`
    counts as a failed attempt; a car gets `max_attempts` attempts, the next one after a jittered
    exponential back-off from `retry_base_ms` up to `retry_cap_ms`.
    """

    waves: tuple[float, ...] = (0.01, 0.10, 0.50, 1.0)
    success_threshold: float = 0.95
    failure_threshold: float = 0.05
    install_timeout_ms: int = 2 * 3_600_000
    max_attempts: int = 3
    retry_base_ms: int = 60_000
    retry_cap_ms: int = 3_600_000
    pause_after_each_wave: bool = False

    def __post_init__(self) -> None:
        if not self.waves or self.waves[-1] != 1.0:
            raise BadRequest(f"waves {list(self.waves)}: the last wave must be 1.0 (every car)")
        if any(not 0 < a < b for a, b in zip(self.waves, self.waves[1:], strict=False)):
            raise BadRequest(f"waves {list(self.waves)}: shares must grow, each above 0")
        for name in ("success_threshold", "failure_threshold"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise BadRequest(f"{name} {getattr(self, name)} is not between 0 and 1")
        if self.max_attempts < 1 or self.install_timeout_ms <= 0 or self.retry_base_ms <= 0:
            raise BadRequest("max_attempts, install_timeout_ms and retry_base_ms must be > 0")

    def wave_ends(self, cars: int) -> list[int]:
        """How many cars are released once each wave is: never fewer than one more per wave
        (while cars remain), so 1 % of 50 cars is one car, not none."""
        ends: list[int] = []
        for share in self.waves:
            end = max(math.ceil(share * cars), (ends[-1] + 1) if ends else 1)
            ends.append(min(end, cars))
        return ends


@dataclass(frozen=True)
class CarProgress:
    """One car's place in a campaign."""

    vin: str
    wave: int
    state: Progress = Progress.WAITING
    attempts: int = 0  # attempts started (assignments made)
    since_ms: int = 0  # when `state` was entered
    retry_at_ms: int | None = None
    reason: str = ""  # why the last attempt failed


@dataclass(frozen=True)
class Ignored:
    """A report that was recorded and changed nothing, with why."""

    at_ms: int
    campaign_id: str
    vin: str
    state: str
    reason: str


@dataclass
class IgnoredLog:
    """Reports that changed nothing: all counted, the latest `keep` kept with their reasons, so
    a car that floods bad reports cannot grow the service's memory."""

    keep: int = 10_000
    total: int = 0
    entries: deque[Ignored] = field(default_factory=deque)

    def record(self, entry: Ignored) -> None:
        self.total += 1
        self.entries.append(entry)
        if len(self.entries) > self.keep:
            self.entries.popleft()


@dataclass(frozen=True)
class Effects:
    """What the caller must do after a transition: list the image for these cars at the
    director (`assign`), or take it away (`withdraw`)."""

    assign: tuple[str, ...] = ()
    withdraw: tuple[str, ...] = ()

    def __add__(self, other: Effects) -> Effects:
        """Both, each car once (in first-seen order)."""
        return Effects(
            tuple(dict.fromkeys(self.assign + other.assign)),
            tuple(dict.fromkeys(self.withdraw + other.withdraw)),
        )
