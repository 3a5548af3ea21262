"""Telemetry: VSS paths and types, rates, batch shape, VINs, connectivity gaps."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from volta.sim.signals import DTC_COUNT, DTC_LIST, HEALTH_SIGNALS, SIGNALS, Telemetry
from volta.sim.vin import make_vin
from volta.wire import is_valid_vin

from .simrun import fleet_day, simulate

VSS = Path(str(files("volta").joinpath("data", "vss", "vss_release_6.0.json")))
# Volta's own signals in VSS form (the OTA software versions and hardware variants)
VOLTA_VSS = Path(str(files("volta").joinpath("data", "vss", "volta_signals.json")))
_INT_RANGE = {
    "uint8": (0, 255),
    "uint16": (0, 65535),
    "uint32": (0, 2**32 - 1),
    "int8": (-128, 127),
}


@cache
def vss_leaves() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}

    def walk(node: dict[str, Any], prefix: str) -> None:
        for name, child in node.items():
            path = f"{prefix}.{name}" if prefix else name
            if "children" in child:
                walk(child["children"], path)
            else:
                out[path] = child

    walk(json.loads(VSS.read_text()), "")
    walk(json.loads(VOLTA_VSS.read_text()), "")
    return out


@pytest.mark.parametrize("spec", SIGNALS, ids=lambda s: s.path)
def test_every_signal_exists_in_vss_6_with_its_datatype_and_unit(spec: Any) -> None:
    leaf = vss_leaves()[spec.path]
    assert leaf["datatype"] == spec.datatype
    assert leaf.get("unit") == spec.unit


def test_dtc_signals_exist_in_vss() -> None:
    assert vss_leaves()[DTC_COUNT]["datatype"] == "uint8"
    assert vss_leaves()[DTC_LIST]["datatype"] == "string[]"


def _check_type(datatype: str, value: Any, leaf: dict[str, Any]) -> None:
    if datatype in ("float", "double"):
        assert type(value) is float
    elif datatype == "boolean":
        assert type(value) is bool
    elif datatype == "string[]":
        assert type(value) is list and all(type(c) is str for c in value)
    elif datatype == "string":
        assert type(value) is str and re.fullmatch(leaf.get("pattern", ".*"), value)
    else:
        lo, hi = _INT_RANGE[datatype]
        assert type(value) is int and lo <= value <= hi
    if "min" in leaf:
        assert value >= leaf["min"]
    if "max" in leaf:
        assert value <= leaf["max"]


def test_every_emitted_value_has_the_exact_vss_type_and_range() -> None:
    leaves = vss_leaves()
    seen: set[str] = set()
    for b in fleet_day().batches[::7]:
        for _, signal, value in b.samples:
            path = str(signal)
            _check_type(leaves[path]["datatype"], value, leaves[path])
            seen.add(path)
    assert seen >= {s.path for s in (*SIGNALS, *HEALTH_SIGNALS)} | {DTC_COUNT, DTC_LIST}


def test_batches_have_wire_v1_shape_and_increasing_seq_per_vehicle() -> None:
    day = fleet_day()
    seqs: dict[str, list[int]] = defaultdict(list)
    for b in day.batches:
        assert b.v == 1 and is_valid_vin(b.vin)
        assert b.ts % 10_000 == 0
        assert b.samples and all(0 <= off < 10_000 for off, _, _ in b.samples)
        seqs[b.vin].append(b.seq)
    for s in seqs.values():
        assert sorted(s) == list(range(1, len(s) + 1))  # none lost, none twice


def test_connectivity_gaps_deliver_batches_late_with_original_timestamps() -> None:
    day = simulate(6, 6 * 3600, seed=4, gaps=30.0)
    window_ms = day.fleet.window_s * 1000
    delay = [sent - b.ts for b, sent in zip(day.batches, day.sent_ms, strict=True)]
    assert all(d > 0 for d in delay)
    assert sum(d > 2 * window_ms for d in delay) > 0  # held back by an outage, sent later
    by_vin: dict[str, list[int]] = defaultdict(list)
    for b in day.batches:
        by_vin[b.vin].append(b.seq)
    for s in by_vin.values():
        assert sorted(s) == list(range(1, len(s) + 1))
    # sequence numbers follow time, even for batches sent late
    for vin in by_vin:
        mine = sorted((b.seq, b.ts) for b in day.batches if b.vin == vin)
        assert [ts for _, ts in mine] == sorted(ts for _, ts in mine)


def test_signal_rates_are_configurable() -> None:
    day = fleet_day()
    fast = Telemetry(day.fleet.vins, 1, rates={"Vehicle.Exterior.AirTemperature": (1, 1)})
    assert (
        fast.specs[
            [s.path for s in SIGNALS].index("Vehicle.Exterior.AirTemperature")
        ].drive_period_s
        == 1
    )
    with pytest.raises(ValueError, match="unknown signal"):
        Telemetry(day.fleet.vins, 1, rates={"Vehicle.Nope": (1, 1)})


def test_driving_signals_arrive_at_1_hz() -> None:
    day = fleet_day()
    d = day.truth.drives[0]
    stamps = sorted(
        b.ts + off
        for b in day.batches
        if b.vin == d.vin
        for off, p, _ in b.samples
        if p == "Vehicle.Speed" and d.start_ms <= b.ts + off < d.end_ms
    )
    assert stamps == list(range(d.start_ms, d.end_ms, 1000))


def test_vins_are_valid_unique_and_deterministic() -> None:
    vins = [make_vin(7, i) for i in range(1000)]
    assert len(set(vins)) == 1000
    assert all(is_valid_vin(v) and not set(v) & set("IOQ") for v in vins)
    assert make_vin(7, 3) == make_vin(7, 3) != make_vin(8, 3)
