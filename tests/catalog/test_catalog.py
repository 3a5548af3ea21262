"""Catalog: the packaged VSS 6.0 tree, look-up by path and id, search, overlay, stable ids."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from volta.catalog import Catalog, Signal, default_catalog, load_catalog, signal_id
from volta.errors import CatalogError, UnknownSignal, ValidationError

DATA = files("volta").joinpath("data", "vss")
# SHA-256 of COVESA's vss_release_6.0.json (the file in the project's shared data).
UPSTREAM_VSS_SHA256 = "de12e86c96585124140adde847951d0006295a944d6e5fbc338fe0c1babd90d4"


def spec_tree() -> dict[str, Any]:
    tree: dict[str, Any] = json.loads(DATA.joinpath("vss_release_6.0.json").read_text())
    return tree


def spec_leaves() -> dict[str, dict[str, Any]]:
    leaves: dict[str, dict[str, Any]] = {}

    def walk(node: dict[str, Any], path: str) -> None:
        if node["type"] != "branch":
            leaves[path] = node
        for name, child in node.get("children", {}).items():
            walk(child, f"{path}.{name}")

    walk(spec_tree()["Vehicle"], "Vehicle")
    return leaves


# -- the packaged data -------------------------------------------------------------------------


def test_default_catalog_holds_every_vss_6_leaf() -> None:
    cat = default_catalog()
    spec = [sig for sig in cat if not sig.path.startswith("Vehicle.OTA.")]
    assert len(spec) == 1263
    assert Counter(sig.kind for sig in spec) == {"sensor": 490, "actuator": 643, "attribute": 130}
    assert cat.vss_version == "6.0"
    assert len([b for b in cat.branches if not b.startswith("Vehicle.OTA")]) == 340


def test_default_catalog_is_loaded_once() -> None:
    assert default_catalog() is default_catalog()


def test_packaged_vss_file_ships_with_its_licence() -> None:
    notice = DATA.joinpath("NOTICE.md").read_text()
    assert "Mozilla Public License" in notice
    assert "COVESA" in notice
    assert "mozilla.org/MPL/2.0" in DATA.joinpath("LICENSE").read_text()


def test_packaged_vss_file_is_the_upstream_release_byte_for_byte() -> None:
    shipped = DATA.joinpath("vss_release_6.0.json").read_bytes()
    assert hashlib.sha256(shipped).hexdigest() == UPSTREAM_VSS_SHA256


def test_iteration_is_in_path_order() -> None:
    paths = [sig.path for sig in default_catalog()]
    assert paths == sorted(paths)


def test_metadata_comes_from_the_spec() -> None:
    cat = default_catalog()
    lat = cat.get("Vehicle.CurrentLocation.Latitude")
    assert (lat.kind, lat.datatype, lat.unit, lat.min, lat.max) == (
        "sensor",
        "double",
        "degrees",
        -90,
        90,
    )
    assert lat.description.startswith("Current latitude of vehicle in WGS 84 geodetic coordinates")
    limit = cat.get("Vehicle.Powertrain.TractionBattery.Charging.ChargeLimit")
    assert (limit.kind, limit.datatype, limit.unit) == ("actuator", "uint8", "percent")
    assert cat.get("Vehicle.VehicleIdentification.VIN").kind == "attribute"


# -- look-up -----------------------------------------------------------------------------------


def test_get_finds_by_path_and_by_id() -> None:
    cat = default_catalog()
    speed = cat.get("Vehicle.Speed")
    assert speed.path == "Vehicle.Speed"
    assert cat.get(speed.id) is speed


def test_resolve_is_a_plain_dict_lookup_returning_none_for_unknown() -> None:
    cat = default_catalog()
    speed = cat.get("Vehicle.Speed")
    assert cat.resolve("Vehicle.Speed") is speed
    assert cat.resolve(speed.id) is speed
    assert cat.resolve("Vehicle.Sped") is None
    assert cat.resolve("Vehicle.Cabin") is None
    assert cat.resolve(12) is None
    assert type(cat.resolve).__name__ == "builtin_function_or_method"  # dict.get, no frame


def test_unknown_path_is_reported_with_a_close_match() -> None:
    with pytest.raises(UnknownSignal) as err:
        default_catalog().get("Vehicle.Sped")
    assert str(err.value) == "unknown signal 'Vehicle.Sped'; did you mean 'Vehicle.Speed'?"
    assert isinstance(err.value, ValidationError)


def test_unknown_path_suggestion_fixes_a_typo_deep_in_the_tree() -> None:
    with pytest.raises(UnknownSignal) as err:
        default_catalog().get("Vehicle.Powertrain.TractionBatery.StateOfCharg.Current")
    assert str(err.value).endswith(
        "did you mean 'Vehicle.Powertrain.TractionBattery.StateOfCharge.Current'?"
    )


def test_wrong_case_path_is_reported_with_the_right_case() -> None:
    with pytest.raises(UnknownSignal, match=re.escape("did you mean 'Vehicle.Speed'")):
        default_catalog().get("vehicle.speed")


def test_nonsense_path_is_reported_without_suggestion() -> None:
    with pytest.raises(UnknownSignal) as err:
        default_catalog().get("Bicycle.Bell")
    assert str(err.value) == "unknown signal 'Bicycle.Bell'"


def test_huge_unknown_path_is_shortened_in_the_reason() -> None:
    with pytest.raises(UnknownSignal) as err:
        default_catalog().get("Vehicle." + "x" * 10_000)
    assert len(str(err.value)) < 250


def test_branch_is_not_a_signal() -> None:
    with pytest.raises(UnknownSignal) as err:
        default_catalog().get("Vehicle.Cabin")
    assert str(err.value) == (
        "'Vehicle.Cabin' is a branch of the VSS tree, not a signal "
        "(its signals are Vehicle.Cabin.*)"
    )


def test_unknown_id_is_reported() -> None:
    with pytest.raises(UnknownSignal) as err:
        default_catalog().get(12)
    assert str(err.value) == "unknown signal id 12"


def test_huge_unknown_id_is_described_not_printed() -> None:
    with pytest.raises(UnknownSignal) as err:
        default_catalog().get(10**5000)
    assert str(err.value) == "unknown signal id an integer of 16610 bits"


def test_repeated_unknown_path_gets_the_same_reason() -> None:
    cat = default_catalog()
    reasons = set()
    for _ in range(3):
        with pytest.raises(UnknownSignal) as err:
            cat.get("Vehicle.Powertrain.TractionBattery.StateOfCharg.Current")
        reasons.add(str(err.value))
    assert len(reasons) == 1


def test_key_of_other_type_is_reported() -> None:
    with pytest.raises(UnknownSignal, match="a signal is a VSS path or a numeric id, not list"):
        default_catalog().get([1])  # type: ignore[arg-type]


def test_contains_answers_for_paths_and_ids() -> None:
    cat = default_catalog()
    speed = cat.get("Vehicle.Speed")
    assert "Vehicle.Speed" in cat
    assert speed.id in cat
    assert "Vehicle.Cabin" not in cat


# -- ids ---------------------------------------------------------------------------------------

GOLDEN_IDS = {
    # Pinned: if one of these changes, every stored sample and every vehicle sending ids breaks.
    "Vehicle.Speed": 1361046597,
    "Vehicle.TraveledDistance": 1984006628,
    "Vehicle.CurrentLocation.Latitude": 1986914921,
    "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current": 751390004,
    "Vehicle.Chassis.Axle.Row1.Wheel.Left.Tire.Pressure": 811358920,
    "Vehicle.VehicleIdentification.VIN": 129712264,
    "Vehicle.ADAS.ABS.IsEnabled": 107067721,
}


@pytest.mark.parametrize(("path", "golden"), sorted(GOLDEN_IDS.items()))
def test_signal_ids_are_stable(path: str, golden: int) -> None:
    assert signal_id(path) == golden
    assert default_catalog().get(path).id == golden


def test_ids_are_unique_and_fit_a_signed_int32_column() -> None:
    ids = [sig.id for sig in default_catalog()]
    assert len(set(ids)) == len(ids)
    assert all(2 <= i < 2**31 for i in ids)  # 0/1 excluded too: True/False would hash alike


def test_ids_do_not_depend_on_file_order() -> None:
    tree = spec_tree()
    children = tree["Vehicle"]["children"]
    tree["Vehicle"]["children"] = dict(reversed(list(children.items())))
    reordered = load_catalog(tree)
    assert {s.path: s.id for s in reordered} == {s.path: s.id for s in default_catalog()}


def test_id_collision_refuses_to_load() -> None:
    a = Signal(path="A.X", id=7, kind="sensor", datatype="float")
    b = Signal(path="A.Y", id=7, kind="sensor", datatype="float")
    with pytest.raises(CatalogError, match=re.escape("'A.X' and 'A.Y' have the same id 7")):
        Catalog([a, b])


def test_duplicate_path_refuses_to_load() -> None:
    a = Signal(path="A.X", id=7, kind="sensor", datatype="float")
    b = Signal(path="A.X", id=8, kind="sensor", datatype="float")
    with pytest.raises(CatalogError, match=re.escape("'A.X' is defined twice")):
        Catalog([a, b])


# -- search ------------------------------------------------------------------------------------


def test_search_ranks_exact_then_prefix_then_segment_then_substring() -> None:
    found = [sig.path for sig in default_catalog().search("speed", limit=4)]
    assert found[0] == "Vehicle.Speed"
    assert all(".speed" in p.lower() or p.lower().split(".")[-1].startswith("speed") for p in found)
    assert [s.path for s in default_catalog().search("vehicle.speed", limit=1)] == ["Vehicle.Speed"]


def test_search_by_prefix_lists_the_subtree() -> None:
    found = default_catalog().search("Vehicle.Powertrain.TractionBattery.StateOfCharge.", 10)
    assert [s.path.rsplit(".", 1)[1] for s in found] == ["Current", "Displayed", "CurrentEnergy"]


def test_search_finds_substrings_case_insensitively() -> None:
    found = {s.path for s in default_catalog().search("tire.pressure", 50)}
    assert found == {
        f"Vehicle.Chassis.Axle.Row{r}.Wheel.{side}.Tire.Pressure"
        for r in (1, 2)
        for side in ("Left", "Right")
    }


def test_search_by_numeric_id() -> None:
    speed = default_catalog().get("Vehicle.Speed")
    assert default_catalog().search(str(speed.id), 1) == [speed]


def test_search_respects_limit_and_empty_query() -> None:
    cat = default_catalog()
    assert len(cat.search("", 5)) == 5
    assert len(cat.search("a", 3)) == 3
    assert cat.search("speed", 0) == []
    assert cat.search("no such thing") == []


# -- overlay -----------------------------------------------------------------------------------


def overlay_ranges() -> dict[str, dict[str, Any]]:
    ranges: dict[str, dict[str, Any]] = json.loads(DATA.joinpath("volta_overlay.json").read_text())[
        "ranges"
    ]
    return ranges


def test_overlay_narrows_streamed_signals() -> None:
    cat = default_catalog()
    speed = cat.get("Vehicle.Speed")
    assert (speed.min, speed.max) == (-50, 400)
    assert speed.check(900.0) == "Vehicle.Speed: 900.0 is above max 400"
    tyre = cat.get("Vehicle.Chassis.Axle.Row2.Wheel.Right.Tire.Pressure")
    assert tyre.check(1001) == f"{tyre.path}: 1001 is above max 1000"


def test_overlay_names_only_existing_numeric_signals() -> None:
    leaves = spec_leaves()
    for path in overlay_ranges():
        assert path in leaves, path
        assert leaves[path]["datatype"] in {"float", "double", "uint8", "uint16", "uint32"}, path


def test_overlay_never_widens_a_spec_range() -> None:
    leaves = spec_leaves()
    bare = load_catalog(overlay={})
    cat = default_catalog()
    for path in overlay_ranges():
        spec = leaves[path]
        sig = cat.get(path)
        assert sig.min is not None and sig.max is not None
        if "min" in spec:
            assert sig.min >= spec["min"], path
        if "max" in spec:
            assert sig.max <= spec["max"], path
        assert bare.get(path).min == spec.get("min")
        assert bare.get(path).max == spec.get("max")


def test_signals_outside_the_overlay_keep_the_spec_range() -> None:
    leaves = spec_leaves()
    overlaid = set(overlay_ranges())
    for sig in default_catalog():
        if sig.path not in overlaid and sig.path in leaves:  # not one of Volta's own signals
            assert (sig.min, sig.max) == (leaves[sig.path].get("min"), leaves[sig.path].get("max"))


def test_overlay_that_widens_the_spec_refuses_to_load() -> None:
    wider = {"ranges": {"Vehicle.CurrentLocation.Latitude": {"min": -100}}}
    with pytest.raises(CatalogError, match="min -100 would widen the spec's min -90"):
        load_catalog(overlay=wider)


def test_overlay_beyond_the_datatype_refuses_to_load() -> None:
    wider = {"ranges": {"Vehicle.Chassis.Axle.Row1.Wheel.Left.Tire.Pressure": {"max": 70000}}}
    with pytest.raises(CatalogError, match="max 70000 is not a uint16"):
        load_catalog(overlay=wider)


@pytest.mark.parametrize(
    ("ranges", "reason"),
    [
        ({"Vehicle.Sped": {"max": 1}}, "overlay names 'Vehicle.Sped', which is not a signal"),
        ({"Vehicle.Cabin": {"max": 1}}, "overlay names 'Vehicle.Cabin', which is not a signal"),
        ({"Vehicle.VehicleIdentification.VIN": {"max": 1}}, "a string signal cannot take a range"),
        ({"Vehicle.Speed": {"maximum": 1}}, r"unknown keys \['maximum'\]"),
        ({"Vehicle.Speed": {"min": 10, "max": 1}}, "min 10 is above max 1"),
        ({"Vehicle.Speed": {"max": "400"}}, "max '400' is not a float"),
    ],
)
def test_bad_overlay_refuses_to_load(ranges: dict[str, Any], reason: str) -> None:
    with pytest.raises(CatalogError, match=reason):
        load_catalog(overlay={"ranges": ranges})


# -- loading options ---------------------------------------------------------------------------


def test_string_and_array_limits_are_configurable_at_load() -> None:
    cat = load_catalog(max_string_length=4, max_array_length=2)
    vin = cat.get("Vehicle.VehicleIdentification.VIN")
    assert vin.check("12345") == f"{vin.path}: a string of 5 characters is over the limit of 4"
    cells = cat.get("Vehicle.Powertrain.TractionBattery.CellVoltage.CellVoltages")
    assert cells.check([3.7, 3.7, 3.7]) == f"{cells.path}: 3 items are over the limit of 2"


def test_load_accepts_a_file_path_and_bytes(tmp_path: Path) -> None:
    path = tmp_path / "vss.json"
    path.write_bytes(DATA.joinpath("vss_release_6.0.json").read_bytes())
    assert len(load_catalog(path, overlay={}, own_signals={})) == 1263
    assert len(load_catalog(path.read_bytes(), overlay=b"{}", own_signals=b"{}")) == 1263


def test_load_rejects_non_json() -> None:
    with pytest.raises(CatalogError, match="the VSS file is not valid JSON"):
        load_catalog(b"not json")


def test_unsupported_node_type_refuses_to_load() -> None:
    tree = {"Vehicle": {"type": "branch", "children": {"X": {"type": "struct", "datatype": "A"}}}}
    with pytest.raises(CatalogError, match=re.escape("Vehicle.X: kind 'struct'")):
        load_catalog(tree, overlay={})


def test_malformed_tree_refuses_to_load() -> None:
    with pytest.raises(CatalogError, match="Vehicle: children must be an object"):
        load_catalog({"Vehicle": {"type": "branch", "children": [1]}}, overlay={})
    with pytest.raises(CatalogError, match="a VSS node must be an object, got int"):
        load_catalog({"Vehicle": 1}, overlay={})
    with pytest.raises(CatalogError, match="needs a datatype"):
        load_catalog({"Vehicle": {"type": "sensor"}}, overlay={})
