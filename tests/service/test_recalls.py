"""Recalls on both registry engines: the filter's criteria (model, build date, VIN range,
software version and hardware variant per ECU from the twin, attributes), the affected list
fixed at creation, completion by a case resolved with the campaign's remedy, progress per
day, and reminders to the drivers."""

from __future__ import annotations

import pytest

from tests.service.conftest import NOW, VIN, VIN2, VIN3, Engine
from volta.catalog import default_catalog
from volta.errors import BadRequest
from volta.registry import Role
from volta.service import CaseState, ServiceDesk
from volta.service.model import Actor, Preferences, RecallFilter, SoftwareFix
from volta.service.recalls import VehicleFacts, check_filter, matches, progress
from volta.store.base import LatestValue
from volta.twin.state import Twin

OPERATOR = Actor("olga", "operator")
TECH = Actor("tove", "technician")
DAY = 86_400_000
BMS = "Vehicle.OTA.BMS.SoftwareVersion"
BMS_HW = "Vehicle.OTA.BMS.HardwareVariant"


def test_each_criterion_narrows_the_match() -> None:
    car = VehicleFacts(
        VIN,
        "Model V",
        {"build_date": "2025-03-10", "market": "EU"},
        {"BMS": "2.1.0", "Telematics": "5.0.0"},
        {"BMS": "bms-b"},
    )
    assert matches(RecallFilter(models=("Model V",)), car)
    assert not matches(RecallFilter(models=("Model S",)), car)
    assert matches(RecallFilter(build_from="2025-03-01", build_to="2025-03-31"), car)
    assert not matches(RecallFilter(build_from="2025-03-11"), car)
    assert matches(RecallFilter(vin_from=VIN, vin_to=VIN2), car)
    assert not matches(RecallFilter(vin_from=VIN2), car)
    assert matches(RecallFilter(ecu="BMS", software_versions=("2.1.0",)), car)
    assert not matches(RecallFilter(ecu="Telematics", software_versions=("2.1.0",)), car)
    assert matches(RecallFilter(software_versions=("5.0.0",)), car)  # any ECU
    assert matches(RecallFilter(ecu="BMS", hardware_variants=("bms-b",)), car)
    assert not matches(RecallFilter(hardware_variants=("bms-a",)), car)
    assert matches(RecallFilter(attributes={"market": "EU"}), car)
    assert not matches(RecallFilter(attributes={"market": "US"}), car)
    assert not matches(RecallFilter(models=("Model V",), attributes={"market": "US"}), car)
    undated = VehicleFacts(VIN2, "Model V")
    assert not matches(RecallFilter(build_from="2025-01-01"), undated)
    for bad, why in (
        (RecallFilter(), "at least one criterion"),
        (RecallFilter(build_from="2025-13-01"), "ISO date"),
        (RecallFilter(build_from="2025-05-01", build_to="2025-04-01"), "after"),
        (RecallFilter(vin_from=VIN2, vin_to=VIN), "after"),
        (RecallFilter(ecu="B M S", software_versions=("1",)), "ECU"),
    ):
        with pytest.raises(BadRequest, match=why):
            check_filter(bad)


def test_software_versions_come_from_the_twin(engine: Engine) -> None:
    registry = engine.open_registry()
    engine.opened.append(registry)
    catalog = default_catalog()
    twin = Twin()

    def report(vin: str, path: str, text: str, ts: int = NOW) -> None:
        # as ingest keeps it: a string signal's value as JSON text
        twin.load_values(
            [LatestValue(vin, catalog.get(path).id, ts, *catalog.get(path).to_stored(text))]
        )

    report(VIN, BMS, "2.1.0")
    report(VIN, BMS_HW, "bms-b")
    report(VIN2, BMS, "2.2.0")
    report(VIN3, BMS, "2.1.0")
    desk = ServiceDesk(registry.database, registry, engine.clock, twin=twin, catalog=catalog)
    vins, warnings = desk.preview_recall(RecallFilter(ecu="BMS", software_versions=("2.1.0",)))
    assert vins == [VIN, VIN3] and warnings == []
    vins, _ = desk.preview_recall(
        RecallFilter(ecu="BMS", software_versions=("2.1.0",), hardware_variants=("bms-b",))
    )
    assert vins == [VIN]
    # A recall fixed by BMS 2.2.0: VIN2 already has it, VIN3 installs it later, VIN does not.
    recall, vins, _ = desk.create_recall(
        "BMS cell balancing", "", "bms-flash", RecallFilter(ecu="BMS", software_versions=(
            "2.1.0", "2.2.0")), OPERATOR, fix=SoftwareFix("BMS", "2.2.0"))  # fmt: skip
    assert vins == [VIN, VIN2, VIN3] and desk.recalls.get(recall.id).fix == recall.fix
    assert desk.recalls.counts(recall.id) == (3, 1)
    report(VIN3, BMS, "2.10.0", NOW + DAY)  # newer by version order, not by text
    engine.clock.now = NOW + 2 * DAY
    desk.sync_recall(recall)
    done = {v.vin: (v.completed_via, v.completed_ms) for v in desk.recalls.vehicles(recall.id)}
    assert done == {VIN: (None, None), VIN2: ("software", NOW), VIN3: ("software", NOW + DAY)}
    with pytest.raises(BadRequest, match="version"):
        desk.create_recall("x", "", "y", RecallFilter(models=("Model V",)), OPERATOR,
                           fix=SoftwareFix("BMS", "2.2"))  # fmt: skip


def test_completion_progress_and_reminders(desk: ServiceDesk, engine: Engine) -> None:
    registry = engine.opened[0]
    registry.add_user("dana", Role.DRIVER, "correct horse battery")
    registry.assign("dana", VIN2)
    desk.outbox.set_preferences(Preferences("dana", "dana@example.org", True, ("recall.*",), NOW))
    recall, vins, warnings = desk.create_recall(
        "Brake hose chafing",
        "",
        "replace-hose-v2",
        RecallFilter(models=("Model V",), build_from="2025-01-01", build_to="2025-12-31"),
        OPERATOR,
    )
    assert vins == [VIN, VIN2] and warnings == []
    # Registered later and matching: not in the campaign (its scope is fixed at creation).
    registry.add_vehicle(
        "JHMZZ1A1XRV000004", "Model V", {"build_date": "2025-07-01"}, organisation="north"
    )
    assert [v.vin for v in desk.recalls.vehicles(recall.id)] == [VIN, VIN2]
    assert desk.open_recall_cases(recall.id, OPERATOR) == 2
    assert desk.open_recall_cases(recall.id, OPERATOR) == 0  # once per vehicle
    engine.clock.now = NOW + DAY + 3_600_000
    case = next(
        c
        for c in [desk.cases.get(v.case_id) for v in desk.recalls.vehicles(recall.id) if v.case_id]
        if c.vin == VIN
    )
    desk.transition(case.id, CaseState.TRIAGED, TECH)
    desk.transition(case.id, CaseState.IN_SERVICE, TECH)
    desk.transition(case.id, CaseState.RESOLVED, TECH, remedy="replace-hose-v2")
    # Resolved with another remedy: not a completion.
    other = next(v.case_id for v in desk.recalls.vehicles(recall.id) if v.vin == VIN2)
    assert other is not None
    desk.transition(other, CaseState.TRIAGED, TECH)
    desk.transition(other, CaseState.RESOLVED, TECH, remedy="inspected-only")
    assert desk.recalls.counts(recall.id) == (2, 1)
    assert [v.completed_via for v in desk.recalls.vehicles(recall.id)] == ["case", None]
    engine.clock.now = NOW + 2 * DAY + 3_600_000
    points = progress(desk.recalls.vehicles(recall.id), recall.created_ms, engine.clock.now)
    assert [(p.total, p.completed) for p in points] == [(2, 0), (2, 1), (2, 1)]
    assert points[1].percent == 50.0
    # Reminders go to the vehicles not done (VIN2), by e-mail to its driver who asked.
    assert desk.remind(recall.id) == 1
    assert [v.reminders for v in desk.recalls.vehicles(recall.id)] == [0, 1]
    mail = [d for d in desk.outbox.find("pending") if d.event == "recall.reminder"]
    assert [(d.channel, d.target) for d in mail] == [("email", "dana@example.org")]
    assert VIN2 in mail[0].body and "Brake hose chafing" in mail[0].body
