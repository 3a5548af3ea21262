"""Campaigns kept in the registry's database (SQLite embedded, PostgreSQL scaled out).

Why the registry's database and not a store of its own: campaigns are operator data of the same
kind as the service desk's recalls (a campaign may target a recall's vehicles), they need the
same two engines and transactions, and the registry's migrations already run on open. The
tables (`ota_campaigns`, `ota_campaign_cars`, `ota_campaign_ignored`) are written through:
the runner keeps the live `Campaign` in memory and, after each transition, writes the cars it
changed (`Campaign.take_changed`) and the campaign's phase, in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from tuf.api.metadata import TargetFile

from volta.ota.campaign import Campaign
from volta.ota.rollout import CarProgress, Ignored, Phase, Policy, Progress
from volta.ota.targeting import TargetFilter
from volta.ota.windows import MaintenanceWindow
from volta.registry.database import Database, Row, Statements

__all__ = ["CampaignDef", "CampaignStore", "CarSlot", "Stored"]


@dataclass(frozen=True)
class CampaignDef:
    """What an operator asked for: which ECU type to bring to which version, on which cars,
    how (`mode`: forced, soft, download-only), when (`window`), in which waves (`policy`)."""

    id: str
    ecu_type: str
    version: str
    mode: str
    target: TargetFilter
    policy: Policy
    images: Mapping[str, TargetFile]  # the image repository's target per hardware variant
    created_ms: int
    created_by: str
    window: MaintenanceWindow | None = None
    rollback_of: str | None = None


@dataclass
class CarSlot:
    """What the runner keeps of a car beside its progress: the ECU the image is for, its
    hardware variant, whether the director lists the image for it now, and the driver's
    consent (soft updates)."""

    ecu_serial: str
    variant: str
    listed: bool = False
    consent_ms: int | None = None


@dataclass
class Stored:
    """A campaign as loaded: its definition, state machine and cars."""

    definition: CampaignDef
    campaign: Campaign
    slots: dict[str, CarSlot] = field(default_factory=dict)


def _filter_json(t: TargetFilter) -> dict[str, Any]:
    return {k: (sorted(v) if isinstance(v, frozenset) else v) for k, v in asdict(t).items()}


def _spec(d: CampaignDef) -> str:
    return json.dumps(
        {
            "filter": _filter_json(d.target),
            "policy": asdict(d.policy),
            "window": asdict(d.window) if d.window else None,
        }
    )


def _definition(row: Row) -> CampaignDef:
    cid, ecu_type, version, mode, spec, images, created_ms, created_by, rollback_of = row
    s = json.loads(spec)
    f = s["filter"]
    target = TargetFilter(
        f["ecu_type"], *(frozenset(f[k]) for k in
                         ("models", "regions", "vins", "hardware_variants", "versions"))
    )  # fmt: skip
    p = s["policy"]
    policy = Policy(**{**p, "waves": tuple(p["waves"])})
    window = MaintenanceWindow(**s["window"]) if s.get("window") else None
    targets = {}
    for variant, t in json.loads(images).items():
        path = t.pop("path")
        targets[variant] = TargetFile.from_dict(t, path)
    return CampaignDef(cid, ecu_type, version, mode, target, policy, targets,
                       int(created_ms), created_by, window, rollback_of)  # fmt: skip


def _images_json(images: Mapping[str, TargetFile]) -> str:
    return json.dumps({v: {**t.to_dict(), "path": t.path} for v, t in images.items()})


_CAR_COLUMNS = (
    "state, attempts, since_ms, retry_at_ms, reason, listed, consent_ms, campaign_id, vin"
)
_DEF_COLUMNS = "id, ecu_type, version, mode, spec, images, created_ms, created_by, rollback_of"


class CampaignStore:
    """The campaign tables on the registry's `Database`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def insert(self, stored: Stored, now_ms: int) -> None:
        """A new campaign with all its cars, in one transaction."""
        d, c = stored.definition, stored.campaign
        with self._db.transaction() as tx:
            tx.execute(
                f"INSERT INTO ota_campaigns ({_DEF_COLUMNS}, phase, wave, halt_reason, "
                "updated_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (d.id, d.ecu_type, d.version, d.mode, _spec(d), _images_json(d.images),
                 d.created_ms, d.created_by, d.rollback_of, c.phase.value, c.wave,
                 c.halt_reason, now_ms),
            )  # fmt: skip
            for position, car in enumerate(c.cars.values()):
                slot = stored.slots[car.vin]
                tx.execute(
                    "INSERT INTO ota_campaign_cars (campaign_id, vin, position, wave, state, "
                    "attempts, since_ms, retry_at_ms, reason, ecu_serial, variant, listed, "
                    "consent_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (d.id, car.vin, position, car.wave, car.state.value, car.attempts,
                     car.since_ms, car.retry_at_ms, car.reason, slot.ecu_serial, slot.variant,
                     int(slot.listed), slot.consent_ms),
                )  # fmt: skip
            c.take_changed()

    def save(self, stored: Stored, now_ms: int, slots: Iterable[str] = ()) -> None:
        """The campaign's phase, the cars it changed and the cars whose slot changed."""
        c = stored.campaign
        vins = {car.vin for car in c.take_changed()} | set(slots)
        with self._db.transaction() as tx:
            tx.execute(
                "UPDATE ota_campaigns SET phase = ?, wave = ?, halt_reason = ?, updated_ms = ?"
                " WHERE id = ?",
                (c.phase.value, c.wave, c.halt_reason, now_ms, c.id),
            )
            for vin in sorted(vins):
                self._write_car(tx, c.id, c.cars[vin], stored.slots[vin])

    @staticmethod
    def _write_car(tx: Statements, cid: str, car: CarProgress, slot: CarSlot) -> None:
        tx.execute(
            "UPDATE ota_campaign_cars SET state = ?, attempts = ?, since_ms = ?, retry_at_ms = ?,"
            " reason = ?, listed = ?, consent_ms = ? WHERE campaign_id = ? AND vin = ?",
            (car.state.value, car.attempts, car.since_ms, car.retry_at_ms, car.reason,
             int(slot.listed), slot.consent_ms, cid, car.vin),
        )  # fmt: skip

    def load(self) -> list[Stored]:
        """Every campaign, oldest first."""
        with self._db.connection() as c:
            rows = c.rows(
                f"SELECT {_DEF_COLUMNS}, phase, wave, halt_reason FROM ota_campaigns "
                "ORDER BY created_ms, id"
            )
            cars = c.rows(
                "SELECT campaign_id, vin, wave, state, attempts, since_ms, retry_at_ms, reason,"
                " ecu_serial, variant, listed, consent_ms FROM ota_campaign_cars"
                " ORDER BY campaign_id, position"
            )
        by_campaign: dict[str, list[Row]] = {}
        for car in cars:
            by_campaign.setdefault(car[0], []).append(car)
        out = []
        for row in rows:
            d = _definition(row[:9])
            phase, wave, halt_reason = Phase(row[9]), int(row[10]), row[11]
            progress, slots = [], {}
            for (
                _,
                vin,
                w,
                state,
                att,
                since,
                retry,
                reason,
                serial,
                variant,
                listed,
                consent,
            ) in by_campaign.get(d.id, []):
                progress.append(
                    CarProgress(vin, int(w), Progress(state), int(att), int(since),
                                None if retry is None else int(retry), reason)
                )  # fmt: skip
                slots[vin] = CarSlot(serial, variant, bool(listed),
                                     None if consent is None else int(consent))  # fmt: skip
            campaign = Campaign.restore(d.id, d.policy, progress, phase, wave, halt_reason)
            out.append(Stored(d, campaign, slots))
        return out

    def record_ignored(self, entry: Ignored) -> None:
        with self._db.connection() as c:
            c.execute(
                "INSERT INTO ota_campaign_ignored (at_ms, campaign_id, vin, state, reason)"
                " VALUES (?,?,?,?,?)",
                (entry.at_ms, entry.campaign_id, entry.vin, entry.state, entry.reason),
            )

    def ignored(self, campaign_id: str, limit: int = 100) -> list[Ignored]:
        """The latest reports recorded and ignored for `campaign_id`, newest first."""
        with self._db.connection() as c:
            rows = c.rows(
                "SELECT at_ms, campaign_id, vin, state, reason FROM ota_campaign_ignored"
                " WHERE campaign_id = ? ORDER BY id DESC LIMIT ?",
                (campaign_id, limit),
            )
        return [Ignored(int(r[0]), r[1], r[2], r[3], r[4]) for r in rows]
