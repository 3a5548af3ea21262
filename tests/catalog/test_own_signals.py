"""Volta's own signals: a VSS overlay that adds leaves on top of the core tree, checked like it."""

from __future__ import annotations

from typing import Any

import pytest

from volta.catalog import default_catalog, load_catalog, signal_id
from volta.errors import CatalogError

ECUS = ("Telematics", "BMS", "Infotainment", "ADAS")


def overlay(children: dict[str, Any]) -> dict[str, Any]:
    """An overlay adding `children` under a new branch Vehicle.Test."""
    return {
        "Vehicle": {
            "type": "branch",
            "children": {"Test": {"type": "branch", "description": "t", "children": children}},
        }
    }


def leaf(**fields: Any) -> dict[str, Any]:
    return {"type": "sensor", "datatype": "float", "description": "d", **fields}


def test_packaged_overlay_adds_version_variant_and_slot_per_ecu() -> None:
    cat = default_catalog()
    own = sorted(sig.path for sig in cat if sig.path.startswith("Vehicle.OTA."))
    assert own == sorted(
        f"Vehicle.OTA.{ecu}.{leaf}"
        for ecu in ECUS
        for leaf in ("SoftwareVersion", "HardwareVariant", "ActiveSlot")
    )
    assert cat.get("Vehicle.OTA.BMS.HardwareVariant").kind == "attribute"
    assert cat.get("Vehicle.OTA.BMS.SoftwareVersion").kind == "sensor"
    assert "Vehicle.OTA.BMS" in cat.branches


def test_own_signals_validate_samples_like_core_signals() -> None:
    cat = default_catalog()
    version = cat.get("Vehicle.OTA.Telematics.SoftwareVersion")
    assert version.check("2.14.1") is None
    assert version.check("2.14.1-rc.1") is None
    assert version.check("latest") == (
        f"Vehicle.OTA.Telematics.SoftwareVersion: 'latest' does not match the pattern "
        f"{version.pattern}"
    )
    assert version.check(2) is not None
    slot = cat.get("Vehicle.OTA.ADAS.ActiveSlot")
    assert slot.check("B") is None
    assert "not one of" in (slot.check("C") or "")
    variant = cat.get("Vehicle.OTA.BMS.HardwareVariant")
    assert variant.check("bms-nmc-96s") is None
    assert variant.check("BMS NMC") is not None


def test_own_signals_have_stable_ids_on_the_wire() -> None:
    cat = default_catalog()
    path = "Vehicle.OTA.Infotainment.SoftwareVersion"
    assert cat.get(signal_id(path)).path == path


def test_ranges_overlay_can_narrow_an_own_signal() -> None:
    added = overlay({"Level": leaf(min=0, max=100)})
    cat = load_catalog(own_signals=added, overlay={"ranges": {"Vehicle.Test.Level": {"max": 10}}})
    assert cat.get("Vehicle.Test.Level").max == 10


def test_bare_spec_has_no_own_signals() -> None:
    assert "Vehicle.OTA.BMS.SoftwareVersion" not in load_catalog(own_signals={})


@pytest.mark.parametrize(
    ("added", "reason"),
    [
        (
            {"Vehicle": {"type": "branch", "children": {"Speed": leaf()}}},
            "signal overlay Vehicle.Speed: the core VSS tree already defines this sensor; "
            "an overlay may add signals, never redefine one",
        ),
        (
            {"Vehicle": {"type": "branch", "children": {"Cabin": leaf()}}},
            "signal overlay Vehicle.Cabin: a branch of the core VSS tree cannot become a 'sensor'",
        ),
        (
            {"Vehicle": {"type": "branch", "children": {"Cabin": {"type": "branch", "min": 1}}}},
            r"signal overlay Vehicle.Cabin: cannot change the core branch's \['min'\]",
        ),
        (overlay({"Level": leaf(datatype="float64")}), "unsupported datatype 'float64'"),
        (
            overlay({"Level": leaf(unit="kmh")}),
            "signal overlay Vehicle.Test.Level: unit 'kmh' is not a unit of the VSS tree",
        ),
        (overlay({"Level": leaf(units="km")}), r"unknown keys \['units'\]"),
        (overlay({"Level": leaf(description="")}), "every VSS node needs a description"),
        (overlay({"Level": leaf(type="struct")}), "type 'struct' is not one of"),
        (overlay({"Level": leaf(min=5, max=1)}), "min 5 is above max 1"),
        (overlay({"Level": leaf(children={})}), "a sensor cannot have children"),
        (overlay({"Empty": {"type": "branch", "description": "e"}}), "needs children"),
        (overlay({"Level": [1]}), "Vehicle.Test.Level: a VSS node must be an object"),
        (b"[1]", "the signal overlay must be a JSON object"),
        (b"{", "the signal overlay is not valid JSON"),
    ],
)
def test_bad_signal_overlay_refuses_to_load(added: Any, reason: str) -> None:
    with pytest.raises(CatalogError, match=reason):
        load_catalog(own_signals=added)


def test_overlay_signal_whose_id_collides_with_a_core_signal_refuses_to_load() -> None:
    # Found by counting up Vehicle.OTA.X<i> until the 31-bit id hit a core signal's.
    path, core = "Vehicle.OTA.X29778", "Vehicle.ADAS.ObstacleDetection.Rear.Center.Distance"
    assert signal_id(path) == signal_id(core)
    added = {
        "Vehicle": {
            "type": "branch",
            "children": {
                "OTA": {"type": "branch", "description": "o", "children": {"X29778": leaf()}}
            },
        }
    }
    with pytest.raises(CatalogError, match=f"{core!r} and {path!r} have the same id"):
        load_catalog(own_signals=added)
