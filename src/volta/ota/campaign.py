"""`Campaign`: the state machine of one rollout, in waves that advance or halt on their own.

It reads no clock, does no I/O and never raises on what a car reports: every input carries its
time (`now_ms`), a report from a car that is not in the campaign, or that does not follow from
the car's state, is recorded in `ignored` with the reason and changes nothing. Each transition
returns `Effects`: which cars the director must now list the image for, and which it must stop
listing it for. Storing campaigns, the API and the director calls are the caller's.

A car's path: waiting → assigned → downloading → installing → succeeded; a failed attempt (the
car says `failed`, or reports nothing for the install timeout) goes to retry_wait and back to
assigned after a back-off, until `max_attempts` have failed (failed). `rolled_back`, which the
car sends after `failed`, changes nothing.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from volta.backoff import backoff_delay
from volta.errors import BadRequest, Conflict
from volta.ota.rollout import (
    FINAL,
    STARTED,
    CarProgress,
    Effects,
    Ignored,
    IgnoredLog,
    Phase,
    Policy,
    Progress,
)

NOTHING = Effects()
# What a car may report in each of its states, and the state it leads to (None: a failure).
_NEXT: dict[Progress, dict[str, Progress | None]] = {
    Progress.ASSIGNED: {"downloading": Progress.DOWNLOADING, "failed": None},
    # `downloaded` ends a download-only campaign's car (the runner accepts it there only)
    Progress.DOWNLOADING: {
        "installing": Progress.INSTALLING,
        "downloaded": Progress.SUCCEEDED,
        "failed": None,
    },
    Progress.INSTALLING: {"succeeded": Progress.SUCCEEDED, "failed": None},
}


class Campaign:
    """One image (or set of images) rolled out to a list of cars in waves."""

    def __init__(
        self,
        campaign_id: str,
        vins: Sequence[str],
        policy: Policy,
        rand: Callable[[], float] = random.random,
    ) -> None:
        """`vins` in rollout order (the caller shuffles or sorts them); `rand` jitters retries."""
        if not vins:
            raise BadRequest(f"campaign {campaign_id}: its filter matches no vehicle")
        if len(set(vins)) != len(vins):
            raise BadRequest(f"campaign {campaign_id}: a vehicle is listed twice")
        self.id = campaign_id
        self.policy = policy
        self.phase = Phase.PAUSED  # until `start`
        self.halt_reason = ""
        self.wave = -1  # the last wave released
        self.ignored = IgnoredLog()
        self._rand = rand
        self._ends = sorted(set(policy.wave_ends(len(vins))))  # waves that add no car: none
        self.cars: dict[str, CarProgress] = {}
        # Cars whose progress changed since the store last took them (`take_changed`).
        self._changed: set[str] = set()
        # States of the released cars, kept as they change: a report costs O(1), not O(cars).
        self._count: Counter[Progress] = Counter()
        self._released = 0
        start = 0
        for wave, end in enumerate(self._ends):
            for vin in vins[start:end]:
                self.cars[vin] = CarProgress(vin, wave)
            start = max(start, end)

    # -- operator actions ------------------------------------------------------------------

    def start(self, now_ms: int) -> Effects:
        """Release the first wave."""
        if self.wave >= 0:
            raise Conflict(f"campaign {self.id} has started already")
        self.phase = Phase.RUNNING
        return self._release_next(now_ms) + self._evaluate(now_ms)

    def pause(self, now_ms: int) -> Effects:
        """Release no more cars (cars already installing finish and report)."""
        self._require(Phase.RUNNING, "pause")
        self.phase = Phase.PAUSED
        return NOTHING

    def resume(self, now_ms: int) -> Effects:
        """Go on after a pause: release the next wave if the last one has met its threshold."""
        if self.phase is not Phase.PAUSED or self.wave < 0:
            raise Conflict(f"campaign {self.id} is {self.phase.value}; only a paused one resumes")
        self.phase = Phase.RUNNING
        return self._evaluate(now_ms, resumed=True)

    def cancel(self, now_ms: int) -> Effects:
        """Stop for good: every car that has not started is withdrawn."""
        if self.phase in (Phase.CANCELLED, Phase.COMPLETED):
            raise Conflict(f"campaign {self.id} is {self.phase.value} already")
        self.phase = Phase.CANCELLED
        return self._withdraw_unstarted(now_ms)

    def halt(self, reason: str, now_ms: int) -> Effects:
        """Halt for a reason found outside the campaign (the fleet's trouble-code rate on the new
        version): as the failure threshold does, every car that has not started is withdrawn."""
        if self.phase not in (Phase.RUNNING, Phase.PAUSED) or self.wave < 0:
            raise Conflict(f"campaign {self.id} is {self.phase.value}; cannot halt")
        self.phase = Phase.HALTED
        self.halt_reason = reason
        return self._withdraw_unstarted(now_ms)

    def _require(self, phase: Phase, action: str) -> None:
        if self.phase is not phase:
            raise Conflict(f"campaign {self.id} is {self.phase.value}; cannot {action}")

    # -- what cars say, and time passing ---------------------------------------------------

    def report(self, vin: str, state: str, now_ms: int, reason: str = "") -> Effects:
        """A car's report of a step (`downloading`, `installing`, `succeeded`, `failed`,
        `rolled_back`); anything that does not follow is recorded in `ignored`."""
        car = self.cars.get(vin)
        if car is None:
            return self._ignore(now_ms, vin, state, "the vehicle is not in this campaign")
        if state == "rolled_back" and car.state in (Progress.RETRY_WAIT, Progress.FAILED):
            return NOTHING  # the car's own recovery after a failure it reported
        following = _NEXT.get(car.state, {})
        if state not in following:
            why = f"{state!r} does not follow {car.state.value!r}"
            return self._ignore(now_ms, vin, state, why)
        nxt = following[state]
        if nxt is None:
            return self._failed(car, reason or "the vehicle reported a failure", now_ms)
        self._set(car, state=nxt, since_ms=now_ms)
        return self._evaluate(now_ms)

    def tick(self, now_ms: int) -> Effects:
        """Time passing: installs that never report time out, retries come due."""
        effects = NOTHING
        timeout = self.policy.install_timeout_ms
        for car in list(self.cars.values()):
            if car.state in STARTED and now_ms - car.since_ms >= timeout:
                why = f"no report for {timeout // 1000} s (install timeout)"
                effects += self._failed(car, why, now_ms, evaluate=False)
        if self.phase is Phase.RUNNING:
            for car in list(self.cars.values()):
                due = car.retry_at_ms
                if car.state is Progress.RETRY_WAIT and due is not None and now_ms >= due:
                    effects += self._assign(car, now_ms)
        return effects + self._evaluate(now_ms)

    def _ignore(self, now_ms: int, vin: str, state: str, why: str) -> Effects:
        self.ignored.record(Ignored(now_ms, self.id, vin, state, why))
        return NOTHING

    def _failed(self, car: CarProgress, why: str, now_ms: int, *, evaluate: bool = True) -> Effects:
        stopped = self.phase not in (Phase.RUNNING, Phase.PAUSED)  # no retry after a halt
        if stopped or car.attempts >= self.policy.max_attempts:
            self._set(car, state=Progress.FAILED, since_ms=now_ms, reason=why)
        else:
            delay_s = backoff_delay(
                car.attempts - 1,
                base_s=self.policy.retry_base_ms / 1000,
                cap_s=self.policy.retry_cap_ms / 1000,
                rand=self._rand,
            )
            self._set(
                car,
                state=Progress.RETRY_WAIT,
                since_ms=now_ms,
                retry_at_ms=now_ms + round(delay_s * 1000),
                reason=why,
            )
        withdrawn = Effects(withdraw=(car.vin,))
        return withdrawn + self._evaluate(now_ms) if evaluate else withdrawn

    def _assign(self, car: CarProgress, now_ms: int) -> Effects:
        self._set(
            car,
            state=Progress.ASSIGNED,
            attempts=car.attempts + 1,
            since_ms=now_ms,
            retry_at_ms=None,
        )
        return Effects(assign=(car.vin,))

    # -- waves -----------------------------------------------------------------------------

    def counts(self) -> dict[Progress, int]:
        """How many released cars are in each state (kept as reports come, not recounted)."""
        return {state: n for state, n in self._count.items() if n}

    def released(self) -> list[CarProgress]:
        """The cars of every wave released so far."""
        return [c for c in self.cars.values() if c.wave <= self.wave]

    def take_changed(self) -> list[CarProgress]:
        """The cars whose progress changed since the last call (what a store must write)."""
        changed = [self.cars[vin] for vin in self._changed]
        self._changed.clear()
        return changed

    @classmethod
    def restore(
        cls,
        campaign_id: str,
        policy: Policy,
        cars: Sequence[CarProgress],
        phase: Phase,
        wave: int,
        halt_reason: str = "",
        rand: Callable[[], float] = random.random,
    ) -> Campaign:
        """A campaign as a store saved it: `cars` in rollout order, each with its wave."""
        campaign = cls(campaign_id, [c.vin for c in cars], policy, rand)
        campaign.cars = {c.vin: c for c in cars}
        campaign.phase, campaign.wave, campaign.halt_reason = phase, wave, halt_reason
        released = [c for c in cars if c.wave <= wave]
        campaign._released = len(released)
        campaign._count = Counter(c.state for c in released)
        return campaign

    def _set(self, car: CarProgress, **changes: Any) -> None:
        new = replace(car, **changes)
        self._changed.add(car.vin)
        if car.wave <= self.wave:
            self._count[car.state] -= 1
            self._count[new.state] += 1
        self.cars[car.vin] = new

    def _release_next(self, now_ms: int) -> Effects:
        self.wave += 1
        joining = [car for car in self.cars.values() if car.wave == self.wave]
        self._released += len(joining)
        self._count[Progress.WAITING] += len(joining)
        for car in joining:
            self._assign(car, now_ms)
        return Effects(assign=tuple(car.vin for car in joining))

    def _withdraw_unstarted(self, now_ms: int) -> Effects:
        """Stop every car that is not installing; one waiting for a retry has failed (and keeps
        its reason, which is what the operator looks at after a halt)."""
        vins = []
        for car in list(self.cars.values()):
            if car.state in (Progress.WAITING, Progress.ASSIGNED):
                self._set(car, state=Progress.WITHDRAWN, since_ms=now_ms)
            elif car.state is Progress.RETRY_WAIT:
                self._set(car, state=Progress.FAILED, since_ms=now_ms, retry_at_ms=None)
            else:
                continue
            if car.state is not Progress.WAITING:
                vins.append(car.vin)
        return Effects(withdraw=tuple(vins))

    def _evaluate(self, now_ms: int, resumed: bool = False) -> Effects:
        """Halt, advance or complete, as the thresholds say."""
        if self.phase not in (Phase.RUNNING, Phase.PAUSED):
            return NOTHING
        count, released = self._count, self._released
        failing = count[Progress.RETRY_WAIT] + count[Progress.FAILED]
        if failing > self.policy.failure_threshold * released:
            self.phase = Phase.HALTED
            self.halt_reason = (
                f"wave {self.wave + 1}: {failing} of {released} vehicles failing, above "
                f"the failure threshold of {self.policy.failure_threshold:.0%}"
            )
            return self._withdraw_unstarted(now_ms)
        if self.phase is not Phase.RUNNING:
            return NOTHING
        last = self.wave == len(self._ends) - 1
        if last:
            if sum(count[state] for state in FINAL) == released:
                self.phase = Phase.COMPLETED
            return NOTHING
        if count[Progress.SUCCEEDED] < self.policy.success_threshold * released:
            return NOTHING
        if self.policy.pause_after_each_wave and not resumed:
            self.phase = Phase.PAUSED
            return NOTHING
        return self._release_next(now_ms) + self._evaluate(now_ms)


class Campaigns:
    """Every campaign by id, and the reports that named none of them."""

    def __init__(self) -> None:
        self.by_id: dict[str, Campaign] = {}
        self.ignored = IgnoredLog()

    def add(self, campaign: Campaign) -> None:
        if campaign.id in self.by_id:
            raise Conflict(f"campaign {campaign.id} exists already")
        self.by_id[campaign.id] = campaign

    def report(
        self, campaign_id: str, vin: str, state: str, now_ms: int, reason: str = ""
    ) -> Effects:
        """Route a car's report to its campaign; an unknown campaign is recorded and ignored."""
        campaign = self.by_id.get(campaign_id)
        if campaign is None:
            self.ignored.record(Ignored(now_ms, campaign_id, vin, state, "unknown campaign"))
            return NOTHING
        return campaign.report(vin, state, now_ms, reason)
