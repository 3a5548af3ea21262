"""The car side of over-the-air updates in the simulator, with the failures real fleets meet.

A `SimCar` is one car's `volta.ota.primary.Primary` over the car's ECUs (`volta.sim.ecus`):
every check-in verifies both repositories with python-tuf's real client, checks that they agree,
downloads, installs into the inactive slot, runs the health check and rolls back, as a real car
would. What the simulator adds is time and trouble (`UpdateFaults`):

- an image that fails its health check on one hardware variant (the ECU rolls back);
- a car that loses power while it writes an image: the half-written slot is never booted, the
  ECU keeps running its old slot, and at the next boot the car reports the failed attempt
  (the campaign retries it later);
- a car that loses power after the switch, before the health check confirmed the new software:
  at the next boot the bootloader falls back to the confirmed slot (a rollback) and the car
  reports it;
- slow links: each step is reported when the link has brought what the car fetched so far
  (`CountingFetcher` counts the bytes), so a slow car reports later, as it would.

Each step carries the simulated time it happened at (`TimedStep`); the caller hands the steps
to a campaign and its effects to the director. `serve_updates` runs the check-ins that fall
due between two windows of a `Fleet` and makes what changed show in the car's telemetry.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tuf.api.metadata import TargetFile
from tuf.ngclient import FetcherInterface

from volta.ota.ecu import Ecu, Slot
from volta.ota.primary import Consent, Primary, State, Step, listed_is_consent
from volta.sim.ecus import FleetEcus

if TYPE_CHECKING:
    from volta.sim.fleet import Fleet
    from volta.sim.signals import Telemetry

__all__ = ["CountingFetcher", "PowerLoss", "SimCar", "TimedStep", "UpdateFaults", "serve_updates"]


class PowerLoss(Exception):
    """The car's power failed (injected): the check-in stops where it was."""


@dataclass(frozen=True)
class UpdateFaults:
    """The trouble a fleet's updates meet (none by default)."""

    # (ECU type, hardware variant, version): that image fails its health check on that variant
    failing: frozenset[tuple[str, str, str]] = frozenset()
    power_loss: frozenset[str] = frozenset()  # VINs whose power fails writing their next image
    # VINs whose power fails after their next switch, before the new software is confirmed
    power_loss_unconfirmed: frozenset[str] = frozenset()
    slow: frozenset[str] = frozenset()  # VINs on a slow link
    link_kbps: float = 20_000.0
    slow_kbps: float = 64.0
    install_s: int = 90  # writing an image into a slot and booting it


@dataclass(frozen=True)
class TimedStep:
    """A step a car reported, at the simulated time it happened."""

    at_ms: int
    step: Step


class CountingFetcher(FetcherInterface):
    """`inner`, counting the bytes it delivers: metadata and images apart."""

    def __init__(self, inner: FetcherInterface) -> None:
        self.inner = inner
        self.metadata_bytes = 0
        self.image_bytes = 0

    @property
    def total(self) -> int:
        return self.metadata_bytes + self.image_bytes

    def _fetch(self, url: str) -> Iterator[bytes]:
        image = "/image/targets/" in url
        for chunk in self.inner._fetch(url):
            if image:
                self.image_bytes += len(chunk)
            else:
                self.metadata_bytes += len(chunk)
            yield chunk


@dataclass
class _Interrupted:
    ecu: Ecu
    version: str
    switched: bool  # it was booting the new slot, unconfirmed
    campaign_id: str = ""


@dataclass
class SimCar:
    """One simulated car's primary, with its share of `UpdateFaults`."""

    vin: str
    ecus: Sequence[Ecu]
    state_dir: Path
    image_root: bytes
    director_root: bytes
    base_url: str
    fetcher: FetcherInterface
    faults: UpdateFaults = field(default_factory=UpdateFaults)
    # the driver's answer to a soft update (by default the campaign service's listing, given
    # once the driver accepted it in the app)
    consent: Consent = listed_is_consent
    interrupted: _Interrupted | None = field(default=None, init=False)  # an install cut short
    check_ins: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.counter = CountingFetcher(self.fetcher)
        self._power_fails = self.vin in self.faults.power_loss
        self._power_fails_unconfirmed = self.vin in self.faults.power_loss_unconfirmed
        self._now_ms = 0
        self._steps: list[TimedStep] = []
        self._installing = ""  # the campaign of the install under way
        self.primary = Primary(
            self.vin,
            list(self.ecus),
            self.state_dir,
            self.image_root,
            self.director_root,
            self.base_url,
            self.counter,
            self._health,
            self._report,
            self.consent,
        )

    @property
    def kbps(self) -> float:
        return self.faults.slow_kbps if self.vin in self.faults.slow else self.faults.link_kbps

    def _health(self, ecu: Ecu, target: TargetFile) -> str | None:
        version = ecu.running.version or ""
        if self._power_fails_unconfirmed:
            self._power_fails_unconfirmed = False
            campaign = self._installing  # `target` is the image repository's: no campaign
            self.interrupted = _Interrupted(ecu, version, switched=True, campaign_id=campaign)
            raise PowerLoss(f"{self.vin} lost power booting {version}, unconfirmed")
        if (ecu.ecu_type, ecu.hardware_variant, version) in self.faults.failing:
            return f"{ecu.name} {version} resets in a loop on {ecu.hardware_variant}"
        return None

    def _report(self, step: Step) -> None:
        # The link has brought what was fetched so far; an install takes its time.
        at = self._now_ms + round(self.counter.total * 8 / self.kbps)
        if step.state in (State.SUCCEEDED, State.FAILED, State.ROLLED_BACK) and step.ecu_serial:
            at += self.faults.install_s * 1000
        self._steps.append(TimedStep(at, step))
        if step.state is State.INSTALLING:
            self._installing = step.campaign_id
        if step.state is State.INSTALLING and self._power_fails:
            self._power_fails = False
            ecu = next(e for e in self.ecus if e.serial == step.ecu_serial)
            ecu.write_inactive(Slot())  # half-written: nothing the ECU would boot
            self.interrupted = _Interrupted(ecu, step.version, False, step.campaign_id)
            raise PowerLoss(f"{self.vin} lost power installing {step.version}")

    def check_in(self, now_ms: int) -> list[TimedStep]:
        """One check-in at `now_ms` (or, after a power loss, the boot that reports it)."""
        self.check_ins += 1
        self._now_ms, self._steps = now_ms, []
        self.counter.metadata_bytes = self.counter.image_bytes = 0
        if self.interrupted is not None:
            return self._boot(now_ms, self.interrupted)
        with suppress(PowerLoss):  # the car is off; it reports at its next boot
            self.primary.check_in()
        return self._steps

    def _boot(self, now_ms: int, cut: _Interrupted) -> list[TimedStep]:
        """The boot after a power cut: what the ECU runs is safe, and the car says so."""
        self.interrupted = None
        ecu, version, campaign = cut.ecu, cut.version, cut.campaign_id
        if not cut.switched:
            why = (
                f"power lost while installing {version}: the slot was not completed, "
                f"{ecu.name} still runs {ecu.running.version} from slot {ecu.active}"
            )
            failed = Step(self.vin, ecu.serial, State.FAILED, version, why, campaign)
            return [TimedStep(now_ms, failed)]
        ecu.switch()  # the bootloader goes back to the last confirmed slot
        why = (
            f"power lost before {version} was confirmed: {ecu.name} booted "
            f"{ecu.running.version} from slot {ecu.active} again"
        )
        back = ecu.running.version or ""
        return [
            TimedStep(now_ms, Step(self.vin, ecu.serial, State.FAILED, version, why, campaign)),
            TimedStep(
                now_ms, Step(self.vin, ecu.serial, State.ROLLED_BACK, back, campaign_id=campaign)
            ),
        ]


def check_in_phase(vin: str, period_s: int) -> int:
    """The second within each period at which a car checks in: spread over the period (a
    fleet never polls all at once), fixed per car."""
    return zlib.crc32(vin.encode()) % period_s


def serve_updates(
    fleet: Fleet,
    tel: Telemetry,
    ecus: FleetEcus,
    cars: Sequence[SimCar],
    since_s: int,
    report: Callable[[str, TimedStep], None],
    period_s: int = 600,
) -> None:
    """Between two windows: every car whose check-in second fell in (since_s, fleet.t] checks
    in (its telematics unit wakes for it, parked or not), and `report` gets its steps. A car
    checking in for the first time, or whose ECUs changed, stays awake and reports its full
    state (with its ECUs' signals) in its next batch. Each car
    checks in at most once per call: step the fleet by at most `period_s` between calls."""
    if fleet.t - since_s > period_s:
        raise ValueError(f"{fleet.t - since_s} s since the last check-ins: at most {period_s} s")
    for v, car in enumerate(cars):
        phase = check_in_phase(car.vin, period_s)
        last = fleet.t - (fleet.t - phase) % period_s  # the car's latest check-in second
        if not since_s < last <= fleet.t:
            continue
        before = [(e.active, e.running) for e in car.ecus]
        for step in car.check_in(fleet.start_ms + last * 1000):
            report(car.vin, step)
        # a car tells what its ECUs run at its first check-in (Uptane's vehicle manifest; the
        # campaign service plans over it) and whenever that changed
        if car.check_ins == 1 or before != [(e.active, e.running) for e in car.ecus]:
            ecus.settled(v)
            s = fleet.state
            s.awake_until[v] = max(int(s.awake_until[v]), fleet.t + fleet.config.awake_s)
            tel.was_online[v] = False
