"""OTA campaigns kept in the registry's database, on both engines: a campaign written with its
cars, changed, and read back as it was (the registry migration creates the tables)."""

from __future__ import annotations

from tuf.api.metadata import TargetFile

from volta.ota.campaign import Campaign
from volta.ota.campaign_store import CampaignDef, CampaignStore, CarSlot, Stored
from volta.ota.rollout import Ignored, Phase, Policy, Progress
from volta.ota.targeting import TargetFilter
from volta.ota.windows import MaintenanceWindow
from volta.registry.sql import SqlRegistry

from .conftest import NOW, Opener


def test_a_campaign_is_read_back_as_it_was_left(opener: Opener) -> None:
    registry = opener(lambda: NOW)
    assert isinstance(registry, SqlRegistry)
    store = CampaignStore(registry.database)
    image = TargetFile.from_data("bms/bms-nmc-96s/bms-1.1.0.img", b"image", ["sha256"])
    image.unrecognized_fields["custom"] = {
        "ecu_type": "bms",
        "version": "1.1.0",
        "hardware_variant": "bms-nmc-96s",
    }
    vins = [f"WVOLTA{i:011d}" for i in range(4)]
    policy = Policy(waves=(0.5, 1.0), failure_threshold=0.6, install_timeout_ms=60_000)
    definition = CampaignDef(
        "bms-110",
        "bms",
        "1.1.0",
        "soft",
        TargetFilter("bms", models=frozenset({"volta-one"})),
        policy,
        {"bms-nmc-96s": image},
        NOW,
        "olga",
        MaintenanceWindow(min_soc_pct=30),
    )
    campaign = Campaign("bms-110", vins, policy)
    slots = {v: CarSlot("BMS", "bms-nmc-96s") for v in vins}
    stored = Stored(definition, campaign, slots)
    store.insert(stored, NOW)
    campaign.start(NOW)
    campaign.report(vins[0], "downloading", NOW + 1)
    campaign.report(vins[1], "downloading", NOW + 1)
    campaign.report(vins[1], "failed", NOW + 2, "health check: cell balancing fault")
    slots[vins[0]].listed, slots[vins[2]].consent_ms = True, NOW + 3
    store.save(stored, NOW + 3, {vins[0], vins[2]})
    store.record_ignored(Ignored(NOW + 4, "bms-110", vins[3], "succeeded", "not in wave"))

    again = opener(lambda: NOW)
    assert isinstance(again, SqlRegistry)
    [back] = CampaignStore(again.database).load()
    assert back.definition == definition
    assert back.campaign.cars == campaign.cars and back.campaign.phase is Phase.RUNNING
    assert back.campaign.counts() == campaign.counts()
    assert back.slots == slots
    assert back.campaign.cars[vins[1]].state is Progress.RETRY_WAIT
    # it goes on from there: the retry comes due and is assigned again
    effects = back.campaign.tick(NOW + 3_600_000)
    assert vins[1] in effects.assign
    [ignored] = CampaignStore(again.database).ignored("bms-110")
    assert ignored.reason == "not in wave"
