"""The state timeline of a vehicle first heard from recently: no data before, not sleep."""

from __future__ import annotations

from volta.clock import wall_ms

from .conftest import SOC, SPEED, VIN, Api, batch, bearer

HOUR = 3600_000


def _send_every_minute(api: Api, start_ms: int, end_ms: int) -> None:
    for i, ts in enumerate(range(start_ms, end_ms, 60_000)):
        body = batch([[0, SPEED, 0.0], [0, SOC, 80.0]], seq=i + 1, ts=ts)
        assert api.post_batch(body).status_code == 200


def test_before_the_first_sample_the_timeline_says_no_data(api: Api) -> None:
    now = wall_ms()
    first = now - HOUR
    _send_every_minute(api, first, now - 60_000)
    body = api.client.get(f"/v1/vehicles/{VIN}/timeline", headers=bearer(api.operator)).json()
    ivs = body["intervals"]
    assert ivs[0] == {"start_ms": body["start"], "end_ms": first, "state": "no data"}
    assert "asleep" not in [iv["state"] for iv in ivs]
    assert ivs[1]["state"] == "parked" and ivs[1]["start_ms"] == first


def test_a_vehicle_never_heard_from_has_no_data_all_day(api: Api) -> None:
    body = api.client.get(f"/v1/vehicles/{VIN}/timeline", headers=bearer(api.operator)).json()
    assert body["intervals"] == [
        {"start_ms": body["start"], "end_ms": body["end"], "state": "no data"}
    ]


def test_a_car_heard_from_days_ago_slept_through_the_silence(api: Api) -> None:
    now = wall_ms()
    _send_every_minute(api, now - 72 * HOUR, now - 71 * HOUR)
    _send_every_minute(api, now - HOUR, now - HOUR + 10 * 60_000)
    body = api.client.get(f"/v1/vehicles/{VIN}/timeline", headers=bearer(api.operator)).json()
    assert body["intervals"][0]["state"] == "asleep"
    assert "no data" not in [iv["state"] for iv in body["intervals"]]
