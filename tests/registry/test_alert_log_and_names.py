"""On both engines: vehicles carry a name, plate and group that operators set; the alert log
keeps one open alert per (vin, kind, key), closes it, records one acknowledgement, and
answers filtered, paged queries. An older SQLite registry gains both on open."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from volta.cli import _register_all, app
from volta.errors import BadRequest, Conflict, NotFound
from volta.registry import (
    AlertChanges,
    AlertFacts,
    AlertQuery,
    AuditQuery,
    Registry,
    SQLiteRegistry,
)
from volta.registry.sqlite import DB_FILE, SCHEMA_VERSION

from .conftest import NOW

VIN = "JHMZZ1A1XRV000001"
VIN2 = "JHMZZ1A1XRV000002"


def _facts(vin: str = VIN, key: str = "C1A02", raised_ms: int = NOW - 1000) -> AlertFacts:
    return AlertFacts(
        vin, "dtc", key, "critical", "Vehicle.Diagnostics.DTCList", key, "m", raised_ms
    )


def test_vehicle_names_plates_and_groups_are_set_kept_and_cleared(registry: Registry) -> None:
    added = registry.add_vehicle(
        VIN, "ev-compact-58", name="Van 12", plate="abc-123", group="Depot North"
    )
    assert (added.vehicle.name, added.vehicle.plate, added.vehicle.group) == (
        "Van 12",
        "ABC-123",
        "Depot North",
    )
    registry.add_vehicle(VIN2)
    v = registry.update_vehicle(VIN2, {"name": "  Taxi   7 ", "group": "Airport"})
    assert (v.name, v.plate, v.group, v.model) == ("Taxi 7", None, "Airport", None)
    # Left out: kept; None or empty: cleared.
    v = registry.update_vehicle(VIN2, {"plate": "XYZ 9", "name": ""})
    assert (v.name, v.plate, v.group) == (None, "XYZ 9", "Airport")
    assert [x.group for x in registry.list_vehicles()] == ["Depot North", "Airport"]
    with pytest.raises(BadRequest, match="invalid plate"):
        registry.update_vehicle(VIN2, {"plate": "no/slashes"})
    with pytest.raises(BadRequest, match="unknown vehicle field 'colour'"):
        registry.update_vehicle(VIN2, {"colour": "red"})
    with pytest.raises(BadRequest, match="invalid name"):
        registry.update_vehicle(VIN2, {"name": "x" * 65})
    with pytest.raises(NotFound):
        registry.update_vehicle("JHMZZ1A1XRV000099", {"name": "ghost"})
    assert registry.get_vehicle(VIN2).plate == "XYZ 9"


def test_one_open_alert_per_vehicle_kind_and_key(registry: Registry) -> None:
    registry.apply_alerts(AlertChanges(raised=[_facts(), _facts(key="C1A03"), _facts(VIN2)]))
    # Raised again while open (another process, a retry): still one.
    registry.apply_alerts(AlertChanges(raised=[_facts(raised_ms=NOW)]))
    open_ = registry.open_alerts()
    assert sorted((a.facts.vin, a.facts.key) for a in open_) == [
        (VIN, "C1A02"),
        (VIN, "C1A03"),
        (VIN2, "C1A02"),
    ]
    first = next(a for a in open_ if (a.facts.vin, a.facts.key) == (VIN, "C1A02"))
    assert first.facts.raised_ms == NOW - 1000 and first.state == "active"
    registry.apply_alerts(AlertChanges(cleared=[(first.id, NOW)]))
    assert registry.get_alert(first.id).cleared_ms == NOW
    # Once cleared, the same code may open a new alert.
    registry.apply_alerts(AlertChanges(raised=[_facts(raised_ms=NOW + 5)]))
    assert len(registry.open_alerts()) == 3


def test_an_acknowledgement_is_recorded_once(registry: Registry) -> None:
    registry.apply_alerts(AlertChanges(raised=[_facts()]))
    [alert] = registry.open_alerts()
    acked = registry.acknowledge_alert(alert.id, "olga", "  called the driver ")
    assert (acked.ack_ms, acked.ack_by, acked.ack_note, acked.state) == (
        NOW,
        "olga",
        "called the driver",
        "acknowledged",
    )
    with pytest.raises(Conflict, match="acknowledged by olga"):
        registry.acknowledge_alert(alert.id, "tove")
    with pytest.raises(NotFound):
        registry.acknowledge_alert(alert.id + 100, "olga")
    # A rise in severity withdraws it.
    worse = AlertFacts(VIN, "dtc", "C1A02", "critical", "s", "C1A02", "worse", NOW - 1000)
    registry.apply_alerts(AlertChanges(updated=[(alert.id, worse, True)]))
    again = registry.get_alert(alert.id)
    assert again.state == "active" and again.ack_by is None and again.facts.message == "worse"


def test_queries_filter_count_and_page(registry: Registry) -> None:
    registry.apply_alerts(
        AlertChanges(raised=[_facts(key=f"C1A0{i}", raised_ms=NOW + i * 1000) for i in range(4)])
    )
    by_key = {a.facts.key: a.id for a in registry.open_alerts()}
    registry.apply_alerts(AlertChanges(cleared=[(by_key["C1A00"], NOW + 500)]))
    registry.acknowledge_alert(by_key["C1A01"], "olga")
    every = registry.query_alerts(AlertQuery())
    assert [a.facts.key for a in every.alerts] == ["C1A03", "C1A02", "C1A01", "C1A00"]
    assert every.counts == {"critical": 4} and every.total == 4
    states = {
        s: [a.facts.key for a in registry.query_alerts(AlertQuery(states=frozenset({s}))).alerts]
        for s in ("active", "acknowledged", "cleared")
    }
    assert states == {"active": ["C1A03", "C1A02"], "acknowledged": ["C1A01"], "cleared": ["C1A00"]}
    # Open at some time in [NOW + 600, NOW + 2000): C1A01 (raised NOW + 1000), not C1A00.
    window = registry.query_alerts(AlertQuery(from_ms=NOW + 600, to_ms=NOW + 2000))
    assert [a.facts.key for a in window.alerts] == ["C1A01"]
    first = registry.query_alerts(AlertQuery(limit=3))
    last = first.alerts[-1]
    rest = registry.query_alerts(AlertQuery(limit=3, before=(last.facts.raised_ms, last.id)))
    assert [a.facts.key for a in rest.alerts] == ["C1A00"] and rest.total == 4
    assert registry.query_alerts(AlertQuery(vin=VIN2)).alerts == []


def test_an_older_sqlite_registry_gains_names_and_the_alert_log(tmp_path: Path) -> None:
    first = SQLiteRegistry.open(tmp_path, lambda: NOW)
    first.add_vehicle(VIN, "Model V")
    first.close()
    with sqlite3.connect(tmp_path / DB_FILE) as db:  # as version 2 left it
        later = "SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, 4) IN"
        for (table,) in db.execute(later + " ('svc_', 'ota_')").fetchall():  # versions 4 and 5
            db.execute(f"DROP TABLE {table}")
        db.executescript(
            "DROP TABLE alerts; ALTER TABLE vehicles DROP COLUMN name;"
            " ALTER TABLE vehicles DROP COLUMN plate; ALTER TABLE vehicles DROP COLUMN group_name;"
            " PRAGMA user_version = 2;"
        )
    again = SQLiteRegistry.open(tmp_path, lambda: NOW)
    try:
        assert again.schema_version == SCHEMA_VERSION == 6
        assert again.update_vehicle(VIN, {"name": "Van 1"}).model == "Model V"
        again.apply_alerts(AlertChanges(raised=[_facts()]))
        assert len(again.open_alerts()) == 1
    finally:
        again.close()


def test_the_cli_names_vehicles_and_lists_the_names(tmp_path: Path) -> None:
    _register_all()
    runner = CliRunner()
    d = ["--data-dir", str(tmp_path)]
    added = runner.invoke(
        app,
        ["vehicles", "add", VIN, "--name", "Van 12", "--plate", "abc-123", "--group", "North", *d],
    )
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["plate"] == "ABC-123"
    changed = runner.invoke(app, ["vehicles", "set", VIN, "--group", "South", "--name", "", *d])
    assert changed.exit_code == 0, changed.output
    [listed] = runner.invoke(app, ["vehicles", "list", *d]).stdout.splitlines()
    assert {k: json.loads(listed)[k] for k in ("name", "plate", "group")} == {
        "name": None,
        "plate": "ABC-123",
        "group": "South",
    }
    bad = runner.invoke(app, ["vehicles", "set", VIN, "--plate", "a/b", *d])
    assert bad.exit_code == 1 and "invalid plate" in bad.stderr
    nothing = runner.invoke(app, ["vehicles", "set", VIN, *d])
    assert nothing.exit_code == 1 and "nothing to set" in nothing.stderr
    registry = SQLiteRegistry.open(tmp_path)
    try:
        actions = [e.action for e in registry.audit(AuditQuery(target=VIN))]
        assert actions == ["vehicles set", "vehicles add"]
    finally:
        registry.close()
