"""The drive routes: paging, filters, detail, and who may read them."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.servicekit.http import bearer, busiest
from tests.servicekit.pipeline import Fed
from volta.registry import Role


def test_drives_page_newest_first_and_filter_by_time(fed: Fed, fed_client: TestClient) -> None:
    vin = busiest(fed)
    op = bearer(fed.platform.registry.issue_token(Role.OPERATOR).token)
    everything = fed_client.get(f"/v1/vehicles/{vin}/drives", headers=op).json()["drives"]
    assert len(everything) == sum(d.vin == vin for d in fed.day.truth.drives) >= 3
    starts = [d["start_ms"] for d in everything]
    assert starts == sorted(starts, reverse=True)
    pages, before = [], None
    while True:
        params = {"limit": 2, **({"before": before} if before else {})}
        body = fed_client.get(f"/v1/vehicles/{vin}/drives", headers=op, params=params).json()
        pages += body["drives"]
        before = body["next_before"]
        if before is None:
            break
    assert pages == everything
    mid = everything[1]
    one = fed_client.get(
        f"/v1/vehicles/{vin}/drives",
        headers=op,
        params={"start": mid["start_ms"], "end": mid["end_ms"]},
    ).json()["drives"]
    assert [d["id"] for d in one] == [mid["id"]]


def test_drive_detail_has_its_series(fed: Fed, fed_client: TestClient) -> None:
    vin = busiest(fed)
    op = bearer(fed.platform.registry.issue_token(Role.OPERATOR).token)
    first = fed_client.get(f"/v1/vehicles/{vin}/drives", headers=op).json()["drives"][0]
    detail = fed_client.get(f"/v1/vehicles/{vin}/drives/{first['id']}", headers=op).json()
    assert detail["distance_m"] == first["distance_m"]
    assert len(detail["series"]["speed"]["ts"]) > 10 and len(detail["series"]["lat"]["ts"]) > 10
    assert fed_client.get(f"/v1/vehicles/{vin}/drives/nope", headers=op).status_code == 404


def test_a_vehicle_token_sees_only_its_own_vehicle(fed: Fed, fed_client: TestClient) -> None:
    mine, other = fed.day.truth.vehicles[0].vin, fed.day.truth.vehicles[1].vin
    token = bearer(fed.platform.registry.issue_token(Role.VEHICLE, mine).token)
    for route in ("drives", "charges", "battery"):
        assert fed_client.get(f"/v1/vehicles/{mine}/{route}", headers=token).status_code == 200
        assert fed_client.get(f"/v1/vehicles/{other}/{route}", headers=token).status_code == 403
        assert fed_client.get(f"/v1/vehicles/{mine}/{route}").status_code == 401
