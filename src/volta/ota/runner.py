"""`CampaignRunner`: campaigns as a service. It creates them (targeting the fleet, refusing
before start what cannot work), keeps them in the `CampaignStore`, takes operators' actions
and cars' reports, ticks them (waves, halts, install timeouts, retries) and applies what they
decide to the director: each car's director targets are re-signed to list exactly the images of
the campaigns it is *listed* for.

A car assigned by its campaign is listed once its gate opens: a soft update waits for the
driver's consent, and a maintenance window (`windows.py`) for the car's latest state to allow
an install; until then it stays `assigned` (an install timeout only runs once a car has
started). Once listed it stays listed until it succeeds, fails or is withdrawn. Newly listed
cars are told over MQTT (`push`) that an update waits; they still pull and verify it, and the
HTTP check-in they do anyway is the fallback.

Everything runs under one lock: reports, actions and the tick are short, and their order is
what the campaign's state machine is about.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from tuf.api.metadata import Metadata, TargetFile, Targets

from volta.clock import Clock
from volta.diagnostics.reliability import Exposure, Occurrence
from volta.errors import BadRequest, Conflict, NotFound
from volta.ota.campaign import Campaign
from volta.ota.campaign_store import CampaignDef, CampaignStore, CarSlot, Stored
from volta.ota.director import Assignment, Director
from volta.ota.dtc import DtcRule, dtc_halt
from volta.ota.keeper import DIRECTOR_ONLINE
from volta.ota.rollout import STARTED, Effects, Ignored, IgnoredLog, Phase, Policy, Progress
from volta.ota.storage import locked, online_keyring, open_director, save_director
from volta.ota.targeting import FleetVehicle, TargetFilter, plan
from volta.ota.targets import custom_of
from volta.ota.version import is_newer
from volta.ota.windows import MaintenanceWindow, Sample, closed_because
from volta.periodic import Periodic

log = logging.getLogger(__name__)

__all__ = [
    "CampaignRunner",
    "CampaignSpec",
    "DirectorSink",
    "FolderDirector",
    "MemoryDirector",
    "UpdateMode",
    "images_in_folder",
    "images_of",
]

ACTIVE = frozenset({Progress.ASSIGNED, Progress.DOWNLOADING, Progress.INSTALLING})
LIVE = frozenset({Phase.RUNNING, Phase.PAUSED})


class UpdateMode(StrEnum):
    """How a car takes the update (the director target's `custom.update_mode` tells the car)."""

    FORCED = "forced"  # installed at the car's next check-in (in the window, if one is set)
    SOFT = "soft"  # listed only once the driver has accepted it in the app
    DOWNLOAD_ONLY = "download-only"  # downloaded and kept; installing is a later campaign's


@dataclass(frozen=True)
class CampaignSpec:
    """An operator's request for a campaign: bring `target.ecu_type` to `version`."""

    id: str
    target: TargetFilter
    version: str
    policy: Policy = field(default_factory=Policy)
    mode: UpdateMode = UpdateMode.FORCED
    window: MaintenanceWindow | None = None


class DirectorSink(Protocol):
    """Where the runner publishes each car's director targets (all of them, replacing)."""

    def publish(self, targets: Mapping[str, Sequence[Assignment]]) -> None: ...


class MemoryDirector:
    """A `Director` in this process (tests, the simulator and the benchmark)."""

    def __init__(self, director: Director) -> None:
        self.director = director

    def publish(self, targets: Mapping[str, Sequence[Assignment]]) -> None:
        for vin, assignments in targets.items():
            self.director.assign(vin, assignments)


class FolderDirector:
    """The director saved in the served folder, signed with the online keys only, under the
    folder's writer lock (the re-signing job and the command line use it too)."""

    def __init__(self, folder: Path, keys: Path, clock: Clock) -> None:
        self.folder, self.keys, self.clock = folder, keys, clock

    def publish(self, targets: Mapping[str, Sequence[Assignment]]) -> None:
        if not targets:
            return
        with locked(self.folder):
            keyring = online_keyring(self.keys, self.folder, "director", DIRECTOR_ONLINE)
            director = open_director(self.folder, keyring, self.clock, vins=list(targets))
            for vin, assignments in targets.items():
                director.assign(vin, assignments)
            save_director(director, self.folder)


# images(ecu_type, version) -> the image repository's target of each hardware variant
ImageSource = Callable[[str, str], dict[str, TargetFile]]
FleetSource = Callable[[], Iterable[FleetVehicle]]
StateSource = Callable[[str], Mapping[str, Sample]]
Push = Callable[[str, bytes], None]
# every trouble-code occurrence and each car's exposure, by the software version of the named
# ECU (`Vehicle.OTA.<ecu>.SoftwareVersion`; volta.diagnostics' `FleetDiagnostics.records_for`)
DtcSource = Callable[[str], tuple[list[Occurrence], list[Exposure]]]


def _matching(targets: Iterable[TargetFile], ecu_type: str, version: str) -> dict[str, TargetFile]:
    out = {}
    for t in targets:
        c = custom_of(t)
        if c.get("ecu_type") == ecu_type and c.get("version") == version:
            out[str(c.get("hardware_variant"))] = t
    return out


def images_of(repo: Any) -> ImageSource:
    """Images of an in-process `ImageRepository`."""

    def images(ecu_type: str, version: str) -> dict[str, TargetFile]:
        every = [t for role in repo.roles.delegated.values() for t in role.signed.targets.values()]
        return _matching(every, ecu_type, version)

    return images


def images_in_folder(folder: Path) -> ImageSource:
    """Images listed by the newest metadata of each supplier in the served folder (read as
    served: the cars verify it; the runner only needs paths, lengths, hashes and `custom`)."""

    def images(ecu_type: str, version: str) -> dict[str, TargetFile]:
        newest: dict[str, tuple[int, Path]] = {}
        for p in (folder / "image" / "metadata").glob("*.supplier-*.json"):
            n, _, role = p.name.partition(".")
            if n.isdigit() and int(n) > newest.get(role, (0, p))[0]:
                newest[role] = (int(n), p)
        every: list[TargetFile] = []
        for _, path in newest.values():
            every += Metadata[Targets].from_bytes(path.read_bytes()).signed.targets.values()
        return _matching(every, ecu_type, version)

    return images


def _wrong_for_mode(mode: str, state: str) -> str | None:
    """Why a step does not belong to a campaign of `mode` (None: it may): a download-only
    campaign's car ends at `downloaded` and never installs; the others end installed."""
    if mode == UpdateMode.DOWNLOAD_ONLY and state in ("installing", "succeeded"):
        return f"{state!r} in a download-only campaign: the car must keep the image, not install"
    if mode != UpdateMode.DOWNLOAD_ONLY and state == "downloaded":
        return f"'downloaded' in a {mode} campaign: the car must install the image"
    return None


def rollout_order(campaign_id: str, vins: Iterable[str]) -> list[str]:
    """A fixed shuffle (by a hash of campaign and VIN): each wave a sample of the whole
    selection, not the lowest VINs (often one plant, one hardware variant)."""
    key = campaign_id.encode()
    return sorted(vins, key=lambda v: hashlib.sha256(key + v.encode()).digest())


class CampaignRunner:
    """Every campaign, live in memory and written through to `store`."""

    def __init__(
        self,
        store: CampaignStore | None,
        director: DirectorSink,
        images: ImageSource,
        fleet: FleetSource,
        clock: Clock,
        *,
        state_of: StateSource | None = None,
        push: Push | None = None,
        dtc: DtcSource | None = None,
        dtc_rule: DtcRule | None = None,
        tick_s: float = 30.0,
    ) -> None:
        self.store, self.director, self.images, self.fleet = store, director, images, fleet
        self.clock, self.state_of, self.push = clock, state_of, push
        self.dtc, self.dtc_rule = dtc, dtc_rule or DtcRule()
        self.tick_s = tick_s
        self.live: dict[str, Stored] = {}
        self.ignored = IgnoredLog()  # reports naming no campaign
        self.pushed = 0
        self._lock = threading.RLock()
        self._targets: dict[tuple[str, str], TargetFile] = {}
        self._unpublished: set[str] = set()  # cars whose director targets failed to sign
        self._job = Periodic(
            "ota-campaigns", lambda: self.tick_s, self.tick, log, "OTA campaign tick failed"
        )
        if store is not None:
            for stored in store.load():
                self.live[stored.definition.id] = stored

    # -- operators -----------------------------------------------------------------------

    def create(self, spec: CampaignSpec, created_by: str, rollback_of: str | None = None) -> Stored:
        """Plan and store a campaign (paused until `start`). `BadRequest` when its filter
        matches no vehicle, the image repository has no image of that ECU type and version,
        or a selected hardware variant has none; `Conflict` for an id in use."""
        ecu_type = spec.target.ecu_type
        with self._lock:
            if spec.id in self.live:
                raise Conflict(f"campaign {spec.id} exists already")
            images = self.images(ecu_type, spec.version)
            if not images:
                raise BadRequest(
                    f"campaign {spec.id}: the image repository has no {ecu_type} image of "
                    f"version {spec.version}"
                )
            assignments = plan(spec.id, self.fleet(), spec.target, images)
            vins = rollout_order(spec.id, assignments)
            campaign = Campaign(spec.id, vins, spec.policy)
            now = self.clock()
            slots = {
                vin: CarSlot(a.ecu_serial, str(custom_of(a.target)["hardware_variant"]))
                for vin, a in assignments.items()
            }
            used = {slot.variant for slot in slots.values()}
            definition = CampaignDef(
                spec.id,
                ecu_type,
                spec.version,
                spec.mode.value,
                spec.target,
                spec.policy,
                {v: t for v, t in images.items() if v in used},
                now,
                created_by,
                spec.window,
                rollback_of,
            )
            stored = Stored(definition, campaign, slots)
            if self.store is not None:
                self.store.insert(stored, now)
            self.live[spec.id] = stored
            return stored

    def get(self, campaign_id: str) -> Stored:
        stored = self.live.get(campaign_id)
        if stored is None:
            raise NotFound(f"no campaign {campaign_id}")
        return stored

    def act(self, campaign_id: str, action: str) -> Stored:
        """`start`, `pause`, `resume` or `cancel` (a `Conflict` out of turn)."""
        if action not in ("start", "pause", "resume", "cancel"):
            raise BadRequest(f"unknown action {action!r}")
        with self._lock:
            stored = self.get(campaign_id)
            now = self.clock()
            effects: Effects = getattr(stored.campaign, action)(now)
            self._apply(stored, effects, now)
            return stored

    def rollback(self, campaign_id: str, version: str, by: str) -> Stored:
        """Cancel the campaign and bring the cars that installed it to `version`, in a new
        campaign (`<id>-rollback`, one wave, started). Uptane's cars refuse an older version
        (the rollback attack), so the old software comes back as a newer version number:
        publish it as `version` first."""
        with self._lock:
            stored = self.get(campaign_id)
            d = stored.definition
            if not is_newer(version, d.version):
                raise BadRequest(
                    f"cars refuse {version}: not newer than {d.version} (a rollback attack to "
                    f"them); publish the old software as a version newer than {d.version}"
                )
            cars = stored.campaign.cars
            done = [v for v, car in cars.items() if car.state is Progress.SUCCEEDED]
            if not done:
                raise BadRequest(
                    f"campaign {campaign_id}: no vehicle installed it, nothing to roll back"
                )
            if stored.campaign.phase in LIVE or stored.campaign.phase is Phase.HALTED:
                now = self.clock()
                self._apply(stored, stored.campaign.cancel(now), now)
            spec = CampaignSpec(
                f"{campaign_id}-rollback",
                TargetFilter(d.ecu_type, vins=frozenset(done)),
                version,
                Policy(waves=(1.0,), failure_threshold=d.policy.failure_threshold),
                UpdateMode.FORCED,
                d.window,
            )
            back = self.create(spec, by, rollback_of=campaign_id)
            return self.act(back.definition.id, "start")

    # -- cars and drivers ----------------------------------------------------------------

    def report(self, campaign_id: str, vin: str, state: str, reason: str = "") -> tuple[bool, str]:
        """A car's step. (False, why) when it was recorded and ignored: an unknown campaign,
        a car outside it, a step that does not follow the car's state."""
        with self._lock:
            now = self.clock()
            stored = self.live.get(campaign_id)
            if stored is None:
                entry = Ignored(now, campaign_id, vin, state, "unknown campaign")
                self.ignored.record(entry)
                if self.store is not None:
                    self.store.record_ignored(entry)
                return False, entry.reason
            log_ = stored.campaign.ignored
            before = log_.total
            wrong = _wrong_for_mode(stored.definition.mode, state)
            if wrong is not None and vin in stored.campaign.cars:
                log_.record(Ignored(now, campaign_id, vin, state, wrong))
                effects = Effects()
            else:
                effects = stored.campaign.report(vin, state, now, reason)
            if log_.total > before:
                entry = log_.entries[-1]
                if self.store is not None:
                    self.store.record_ignored(entry)
                return False, entry.reason
            self._apply(stored, effects + Effects(assign=(vin,)), now)
            return True, ""

    def consent(self, campaign_id: str, vin: str) -> Stored:
        """The driver accepts a soft update for their car."""
        with self._lock:
            stored = self.get(campaign_id)
            slot = stored.slots.get(vin)
            if slot is None:
                raise NotFound(f"vehicle {vin} is not in campaign {campaign_id}")
            if stored.definition.mode != UpdateMode.SOFT:
                mode = stored.definition.mode
                raise Conflict(f"campaign {campaign_id} is {mode}: no consent is asked")
            if slot.consent_ms is None:
                now = self.clock()
                slot.consent_ms = now
                self._apply(stored, Effects(assign=(vin,)), now, slots={vin})
            return stored

    def for_vehicle(self, vin: str) -> list[dict[str, Any]]:
        """The campaigns a car is in and not done with (what the driver's app shows)."""
        out = []
        with self._lock:
            for stored in self.live.values():
                car, slot = stored.campaign.cars.get(vin), stored.slots.get(vin)
                if car is None or slot is None or stored.campaign.phase not in LIVE:
                    continue
                if car.state not in ACTIVE and car.state is not Progress.RETRY_WAIT:
                    continue
                d = stored.definition
                out.append(
                    {
                        "campaign_id": d.id,
                        "ecu_type": d.ecu_type,
                        "version": d.version,
                        "mode": d.mode,
                        "state": car.state.value,
                        "listed": slot.listed,
                        "consent_needed": d.mode == UpdateMode.SOFT and slot.consent_ms is None,
                        "waiting_for": None
                        if slot.listed
                        else self._gate(stored, vin, self.clock()),
                    }
                )
        return out

    # -- time ----------------------------------------------------------------------------

    def tick(self) -> None:
        """Time passing for every live campaign: timeouts, retries, waves, the trouble-code
        halt, and cars whose gate has opened since."""
        with self._lock:
            now = self.clock()
            for stored in list(self.live.values()):
                campaign = stored.campaign
                counts = campaign.counts()
                # a halted or cancelled campaign still times out the installs it had started
                if campaign.phase not in LIVE and not any(counts.get(s) for s in STARTED):
                    continue
                effects = campaign.tick(now)
                if self.dtc is not None and campaign.phase is Phase.RUNNING:
                    why = self._dtc_reason(stored)
                    if why is not None:
                        effects += campaign.halt(why, now)
                waiting = tuple(
                    vin
                    for vin, car in campaign.cars.items()
                    if car.state is Progress.ASSIGNED and not stored.slots[vin].listed
                )
                self._apply(stored, effects + Effects(assign=waiting), now)
            if self._unpublished:
                self._publish(set())

    def _dtc_reason(self, stored: Stored) -> str | None:
        assert self.dtc is not None
        cars = stored.campaign.cars
        # the ECU the campaign updates, by the name its cars report it under (the ECU serial
        # at the director is the VSS branch: volta.ota.inventory)
        names = Counter(slot.ecu_serial for slot in stored.slots.values())
        if not names:
            return None
        occurrences, exposure = self.dtc(names.most_common(1)[0][0])
        new = stored.definition.version
        old = {e.version for e in exposure if e.vin in cars and e.version != new}
        return dtc_halt(occurrences, exposure, set(cars), new, old, self.dtc_rule)

    def start(self) -> None:
        """Tick every `tick_s` in a thread until `stop`."""
        self._job.start()

    def stop(self) -> None:
        self._job.stop()

    # -- applying what campaigns decide ----------------------------------------------------

    def _gate(self, stored: Stored, vin: str, now: int) -> str | None:
        """Why the car is not listed yet (None: it may be)."""
        d, slot = stored.definition, stored.slots[vin]
        if d.mode == UpdateMode.SOFT and slot.consent_ms is None:
            return "waiting for the driver's consent"
        if d.window is not None and d.mode != UpdateMode.DOWNLOAD_ONLY:
            if self.state_of is None:
                return "no vehicle state to check the maintenance window against"
            closed = closed_because(d.window, self.state_of(vin), now)
            if closed is not None:
                return f"maintenance window closed: {closed}"
        return None

    def _apply(self, stored: Stored, effects: Effects, now: int, slots: Iterable[str] = ()) -> None:
        """List or unlist the cars the effects name, as their progress and gate say; publish
        their director targets, tell the newly listed ones, save."""
        changed, listed = set(slots), []
        for vin in dict.fromkeys(effects.assign + effects.withdraw):
            car, slot = stored.campaign.cars.get(vin), stored.slots.get(vin)
            if car is None or slot is None:
                continue
            want = car.state in ACTIVE and (slot.listed or self._gate(stored, vin, now) is None)
            if want != slot.listed:
                slot.listed = want
                changed.add(vin)
                if want:
                    listed.append(vin)
        signed = self._publish(changed) if changed else True
        if self.store is not None:
            self.store.save(stored, now, changed)
        if self.push is not None and signed:
            for vin in listed:
                self._tell(stored, vin)

    def _publish(self, vins: set[str]) -> bool:
        """Sign the director targets of `vins` (and of any car a failed signing left behind)
        as the slots say. The slots are the truth: when signing fails (a key folder gone, a
        full disk) the cars are kept and signed at the next tick, and the action or report
        that changed them still counts."""
        todo = sorted(vins | self._unpublished)
        try:
            self.director.publish({vin: self._desired(vin) for vin in todo})
        except Exception:
            self._unpublished.update(todo)
            log.exception(
                "OTA director targets of %d vehicles not signed; retried at the next tick",
                len(todo),
            )
            return False
        self._unpublished.clear()
        return True

    def _tell(self, stored: Stored, vin: str) -> None:
        d = stored.definition
        payload = json.dumps(
            {
                "kind": "ota_update",
                "campaign_id": d.id,
                "ecu_type": d.ecu_type,
                "version": d.version,
                "mode": d.mode,
            }
        ).encode()
        try:
            assert self.push is not None
            self.push(vin, payload)
            self.pushed += 1
        except Exception:  # the car's next HTTP check-in finds the update anyway
            log.warning("could not tell %s of campaign %s over MQTT", vin, d.id, exc_info=True)

    def _desired(self, vin: str) -> list[Assignment]:
        """Every image the car is listed for, across campaigns."""
        out = []
        for stored in self.live.values():
            slot = stored.slots.get(vin)
            if slot is not None and slot.listed:
                out.append(Assignment(slot.ecu_serial, self._target(stored, slot.variant)))
        return out

    def _target(self, stored: Stored, variant: str) -> TargetFile:
        """The image's target with what the car needs to know of the campaign in `custom`."""
        key = (stored.definition.id, variant)
        target = self._targets.get(key)
        if target is None:
            image = stored.definition.images[variant]
            target = TargetFile(image.length, dict(image.hashes), image.path)
            target.unrecognized_fields["custom"] = {
                **custom_of(image),
                "campaign_id": stored.definition.id,
                "update_mode": stored.definition.mode,
            }
            self._targets[key] = target
        return target

    # -- reading -------------------------------------------------------------------------

    def describe_all(self) -> list[dict[str, Any]]:
        """Every campaign as `progress` gives it, newest first."""
        with self._lock:
            every = [describe(s) for s in self.live.values()]
        return sorted(every, key=lambda d: (-d["created_ms"], d["id"]))

    def progress(self, campaign_id: str) -> dict[str, Any]:
        """The campaign with its progress per wave and failure reasons per hardware variant."""
        with self._lock:
            stored = self.get(campaign_id)
            return describe(stored)


def describe(stored: Stored) -> dict[str, Any]:
    d, c = stored.definition, stored.campaign
    waves: list[Counter[str]] = [Counter() for _ in c.policy.waves]
    failures: dict[str, Counter[str]] = {}
    listed = 0
    for vin, car in c.cars.items():
        waves[car.wave][car.state.value] += 1
        slot = stored.slots[vin]
        listed += slot.listed
        if car.state in (Progress.FAILED, Progress.RETRY_WAIT) and car.reason:
            failures.setdefault(slot.variant, Counter())[car.reason] += 1
    return {
        "id": d.id,
        "ecu_type": d.ecu_type,
        "version": d.version,
        "mode": d.mode,
        "phase": c.phase.value,
        "halt_reason": c.halt_reason,
        "released_waves": c.wave + 1,
        "vehicles": len(c.cars),
        "listed": listed,
        "waves": [
            {"wave": i + 1, "share": share, "vehicles": sum(w.values()), "states": dict(w)}
            for i, (share, w) in enumerate(zip(c.policy.waves, waves, strict=True))
            if sum(w.values())
        ],
        "failures_by_variant": {v: dict(r) for v, r in sorted(failures.items())},
        "ignored_reports": c.ignored.total,
        "created_ms": d.created_ms,
        "created_by": d.created_by,
        "rollback_of": d.rollback_of,
        "images": {v: t.path for v, t in sorted(d.images.items())},
    }
