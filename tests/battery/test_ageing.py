"""A simulated year of battery ageing (one week a month, see ageing.py): the estimated SoH at
the end against the truth, and the after-sales alert for the pack that ages too fast."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.battery.ageing import FAST, SampledYear, sampled_year
from volta.api import create_app
from volta.battery.core import DAY_MS, health
from volta.battery.watch import nominal_kwh
from volta.config import Settings
from volta.platform import Platform
from volta.processors.analysis import Results, analyse
from volta.registry import Role

SOH_TOLERANCE_PP = 2.0


@pytest.fixture(scope="module")
def year() -> tuple[SampledYear, dict[str, Results]]:
    y = sampled_year()
    return y, {vin: analyse(vin, y.cols[vin], 2**62) for vin in y.vins}


def test_soh_after_a_simulated_year_is_within_two_points_of_the_truth(
    year: tuple[SampledYear, dict[str, Results]],
) -> None:
    y, results = year
    nominal = nominal_kwh(y.model)
    end = max(int(y.cols[v]["speed"][0][-1]) for v in y.vins)
    checked = []
    for vin in y.vins:
        first = y.true_soh_at_start(vin)
        true = y.true_soh_at_end(vin)
        assert first - true > 0.003, (vin, first, true)  # the pack did age over the year
        caps = [c for c in results[vin].capacity if c.end_ms > end - 30 * DAY_MS]
        if not caps:
            continue  # no charge or drive with a 3 % SoC swing in the last month
        h = health(vin, results[vin].capacity, nominal, None)
        assert h.soh_pct is not None
        checked.append((vin, abs(h.soh_pct - true * 100.0)))
    assert len(checked) >= 4, checked
    assert max(e for _, e in checked) <= SOH_TOLERANCE_PP, checked


@pytest.fixture
def platform(tmp_path: Path, year: tuple[SampledYear, dict[str, Results]]) -> Iterator[Platform]:
    y, results = year
    end = max(int(y.cols[v]["speed"][0][-1]) for v in y.vins)
    p = Platform(Settings(data_dir=tmp_path, mqtt=None), clock=lambda: end)
    for vin in y.vins:
        p.registry.add_vehicle(vin, y.model)
        p.derived.upsert("capacity", results[vin].capacity)
    yield p
    p.stop()


def test_a_battery_fading_faster_than_its_fleet_raises_an_after_sales_alert(
    platform: Platform, year: tuple[SampledYear, dict[str, Results]]
) -> None:
    y, _ = year
    fast = y.vins[FAST]
    op = {"Authorization": f"Bearer {platform.registry.issue_token(Role.OPERATOR).token}"}
    client = TestClient(create_app(platform))
    alerts = client.get("/v1/alerts", headers=op).json()["alerts"]
    fade = [a for a in alerts if a["kind"] == "battery_fade"]
    assert [a["vin"] for a in fade] == [fast]
    assert fade[0]["severity"] == "warning"
    assert fade[0]["signal"] == "Vehicle.Powertrain.TractionBattery.StateOfHealth"
    own = client.get(f"/v1/vehicles/{fast}/alerts", headers=op).json()["alerts"]
    assert [a["kind"] for a in own] == ["battery_fade"]

    battery = client.get(f"/v1/vehicles/{fast}/battery", headers=op).json()
    norm = battery["fade"]["norm"]
    assert battery["fade"]["too_fast"] and norm["vehicles"] >= 5
    assert (
        battery["fade"]["pp_per_year"] > norm["threshold_pp_per_year"] > norm["median_pp_per_year"]
    )
    # the truth agrees: the flagged pack lost several times the median pack's capacity
    lost = {v: y.true_soh_at_start(v) - y.true_soh_at_end(v) for v in y.vins}
    others = sorted(lost[v] for v in y.vins if v != fast)
    assert lost[fast] > 2 * others[len(others) // 2]
    for vin in y.vins:
        if vin != fast:
            body = client.get(f"/v1/vehicles/{vin}/battery", headers=op).json()
            assert body["fade"] is None or not body["fade"]["too_fast"], body["fade"]
