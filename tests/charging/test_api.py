"""The charge routes: list, detail, CSV export."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from tests.servicekit.http import bearer
from tests.servicekit.pipeline import Fed
from volta.registry import Role


def test_charges_list_detail_and_csv(fed: Fed, fed_client: TestClient) -> None:
    charge = next(c for c in fed.day.truth.charges if c.dc)
    op = bearer(fed.platform.registry.issue_token(Role.OPERATOR).token)
    rows = fed_client.get(f"/v1/vehicles/{charge.vin}/charges", headers=op).json()["charges"]
    assert rows and "curve" not in rows[0]
    detail = fed_client.get(f"/v1/vehicles/{charge.vin}/charges/{rows[0]['id']}", headers=op).json()
    assert detail["curve"] and detail["dc"] == charge.dc
    got = fed_client.get(f"/v1/vehicles/{charge.vin}/charges", headers=op, params={"format": "csv"})
    assert got.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(got.text)))
    assert [r["id"] for r in table] == [r["id"] for r in rows]
    drives = fed_client.get(
        f"/v1/vehicles/{charge.vin}/drives", headers=op, params={"format": "csv"}
    )
    assert drives.text.splitlines()[0].startswith("id,vin,start,start_ms,end,end_ms")
