"""The fleet report (`/v1/stats/vehicles`): per vehicle and month, against the simulated day's
truth, and as a CSV file people open (readable name, ISO dates, units in the columns)."""

from __future__ import annotations

import csv
import io
from collections import Counter

from fastapi.testclient import TestClient

from tests.servicekit.http import bearer
from tests.servicekit.pipeline import Fed
from tests.sim.simrun import START_MS
from volta.charging.core import Charge
from volta.registry import Role
from volta.stats.report import iso_date

DAY_MS = 86_400_000
RANGE = {"start": START_MS - DAY_MS, "end": START_MS + 3 * DAY_MS}


def test_report_rows_add_up_per_vehicle_to_the_truth(fed: Fed, fed_client: TestClient) -> None:
    op = bearer(fed.platform.registry.issue_token(Role.OPERATOR).token)
    r = fed_client.get("/v1/stats/vehicles", headers=op, params={**RANGE, "period": "day"})
    assert r.status_code == 200, r.text
    body = r.json()
    rows = body["rows"]
    drives: Counter[str] = Counter()
    for row in rows:
        drives[row["vin"]] += row["stats"]["drives"]
        assert row["period_start"] == iso_date(row["stats"]["start_ms"])
    truth = Counter(t.vin for t in fed.day.truth.drives)
    assert drives == truth
    # Distance per vehicle within 3 % of the distance the simulated cars drove.
    for vin in truth:
        got = sum(r["stats"]["distance_m"] for r in rows if r["vin"] == vin)
        want = sum(t.distance_m for t in fed.day.truth.drives if t.vin == vin)
        assert abs(got / want - 1) < 0.03, (vin, got, want)
    # The cost of charging, as the charges were priced by the places' tariffs.
    charges = fed.platform.derived.list("charge", Charge, limit=100_000)
    cost = sum(r["stats"]["charge_cost"].get("EUR", 0.0) for r in rows)
    assert abs(cost - sum(c.cost or 0.0 for c in charges)) < 1e-2
    assert body["currencies"] == ["EUR"]
    # The fleet's totals are the same drives.
    assert sum(t["drives"] for t in body["totals"]) == len(fed.day.truth.drives)


def test_the_csv_has_a_readable_name_iso_dates_and_units(fed: Fed, fed_client: TestClient) -> None:
    op = bearer(fed.platform.registry.issue_token(Role.OPERATOR).token)
    vin = fed.day.truth.vehicles[0].vin
    fed.platform.registry.update_vehicle(vin, {"name": "Van 1", "group": "Report group"})
    params = {**RANGE, "format": "csv", "group": "Report group"}
    r = fed_client.get("/v1/stats/vehicles", headers=op, params=params)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    first, last = iso_date(RANGE["start"]), iso_date(RANGE["end"] - 1)
    want = f'attachment; filename="volta-group-report-group-report-by-month-{first}-to-{last}.csv"'
    assert r.headers["content-disposition"] == want
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert table and {row["vin"] for row in table} == {vin}
    header = r.text.splitlines()[0].split(",")
    for column in ("period_start", "distance_km", "drive_energy_kwh", "charge_energy_kwh"):
        assert column in header
    assert "charge_cost_EUR" in header
    json_rows = fed_client.get(
        "/v1/stats/vehicles", headers=op, params={**RANGE, "group": "Report group"}
    ).json()["rows"]
    for row, j in zip(table, json_rows, strict=True):
        assert row["period_start"] == "2026-01-01"  # the month of the simulated day
        assert row["name"] == "Van 1"
        assert float(row["distance_km"]) == round(j["stats"]["distance_m"] / 1000, 3)


def test_the_report_refuses_bad_ranges_and_non_operators(fed: Fed, fed_client: TestClient) -> None:
    op = bearer(fed.platform.registry.issue_token(Role.OPERATOR).token)
    bad = fed_client.get("/v1/stats/vehicles", headers=op, params={"start": "last week"})
    assert bad.status_code == 400 and "start" in bad.json()["message"]
    backwards = {"start": RANGE["end"], "end": RANGE["start"]}
    assert fed_client.get("/v1/stats/vehicles", headers=op, params=backwards).status_code == 400
    vin = fed.day.truth.vehicles[0].vin
    car = bearer(fed.platform.registry.issue_token(Role.VEHICLE, vin).token)
    assert fed_client.get("/v1/stats/vehicles", headers=car).status_code == 403
