"""HTTP ingest end to end, read back through state, history, export, quarantine and health."""

from __future__ import annotations

import io
import time

import pyarrow.parquet as pq
import pytest
from starlette.testclient import WebSocketDenialResponse

from volta.clock import wall_ms

from .conftest import SOC, SPEED, VIN, VIN2, Api, batch, bearer


def test_batch_is_stored_and_read_back_through_state_and_history(api: Api) -> None:
    t0 = wall_ms() - 10_000
    r = api.post_batch(batch([[0, SPEED, 42.5], [0, SOC, 80.1], [1000, SPEED, 43.0]], seq=1, ts=t0))
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 3, "rejected": [], "duplicate": False, "seq": 1}

    state = api.client.get(f"/v1/vehicles/{VIN}/state", headers=bearer(api.vehicle)).json()
    assert state["vin"] == VIN
    assert state["signals"][SPEED]["value"] == 43.0
    assert state["signals"][SPEED]["unit"] == "km/h"
    assert state["signals"][SPEED]["ts"] == t0 + 1000
    assert state["signals"][SOC]["value"] == pytest.approx(80.1)

    h = bearer(api.operator)
    url = f"/v1/vehicles/{VIN}/history?signals={SPEED},{SOC}&start={t0}&end={t0 + 2000}"
    history = api.client.get(url, headers=h).json()
    by_path = {s["signal"]: s for s in history["series"]}
    assert by_path[SPEED]["ts"] == [t0, t0 + 1000]
    assert by_path[SPEED]["value"] == [42.5, 43.0]
    assert by_path[SPEED]["downsampled"] is False
    assert by_path[SOC]["value"] == [pytest.approx(80.1)]


def test_history_accepts_iso_times_ids_and_downsamples(api: Api) -> None:
    t0 = (wall_ms() // 1000 - 600) * 1000
    samples = [[i * 1000, SPEED, float(i)] for i in range(100)]
    assert api.post_batch(batch(samples, ts=t0)).status_code == 200
    speed_id = api.client.get(f"/v1/catalog/{SPEED}", headers=bearer(api.operator)).json()["id"]
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 / 1000))
    url = (
        f"/v1/vehicles/{VIN}/history?signals={speed_id}&start={start}"
        f"&end={t0 + 100_000}&max_points=10"
    )
    series = api.client.get(url, headers=bearer(api.vehicle)).json()["series"]
    assert len(series) == 1 and series[0]["signal"] == SPEED
    assert series[0]["downsampled"] is True
    assert len(series[0]["ts"]) <= 10
    assert sum(series[0]["count"]) == 100
    assert min(series[0]["min"]) == 0.0 and max(series[0]["max"]) == 99.0


def test_resent_batch_is_answered_as_duplicate_and_stored_once(api: Api) -> None:
    body = batch([[0, SPEED, 10.0]], seq=7)
    assert api.post_batch(body).json()["duplicate"] is False
    again = api.post_batch(body)
    assert again.status_code == 200
    assert again.json() == {"accepted": 0, "rejected": [], "duplicate": True, "seq": 7}
    assert api.platform.store.stats().samples == 1


def test_mixed_batch_keeps_good_samples_and_quarantines_bad_ones(api: Api) -> None:
    r = api.post_batch(batch([[0, SPEED, 50.0], [0, SPEED, "fast"], [0, "Vehicle.Nope", 1]]))
    answer = r.json()
    assert r.status_code == 200
    assert answer["accepted"] == 1
    assert [(x["index"], x["code"]) for x in answer["rejected"]] == [
        (1, "wrong_type"),
        (2, "unknown_signal"),
    ]
    assert all(x["reason"] for x in answer["rejected"])

    own = api.client.get("/v1/quarantine", headers=bearer(api.vehicle)).json()["records"]
    assert sorted(q["sample_index"] for q in own) == [1, 2]
    assert {q["vin"] for q in own} == {VIN}
    other = api.client.get("/v1/quarantine", headers=bearer(api.other_vehicle)).json()["records"]
    assert other == []
    everyone = api.client.get(
        f"/v1/quarantine?vin={VIN}&limit=1", headers=bearer(api.operator)
    ).json()
    assert len(everyone["records"]) == 1 and everyone["next_before"] is not None


def test_msgpack_batch_is_accepted(api: Api) -> None:
    body = batch([[0, SPEED, 12.0]], fmt="msgpack")
    r = api.post_batch(body, **{"Content-Type": "application/msgpack"})
    assert r.status_code == 200 and r.json()["accepted"] == 1


def test_export_csv_and_parquet(api: Api) -> None:
    t0 = wall_ms() - 60_000
    api.post_batch(batch([[i * 1000, SPEED, float(i)] for i in range(5)], ts=t0))
    h = bearer(api.operator)
    csv = api.client.get(f"/v1/vehicles/{VIN}/export?format=csv&start={t0}", headers=h)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert len(csv.text.strip().splitlines()) == 1 + 5
    parquet = api.client.get(
        f"/v1/vehicles/{VIN}/export?format=parquet&signals={SPEED}&start={t0}", headers=h
    )
    assert parquet.status_code == 200
    assert pq.read_table(io.BytesIO(parquet.content)).num_rows == 5


def test_vehicle_listing_per_role_and_registration(api: Api) -> None:
    everyone = api.client.get("/v1/vehicles", headers=bearer(api.operator)).json()["vehicles"]
    assert [v["vin"] for v in everyone] == [VIN, VIN2]
    own = api.client.get("/v1/vehicles", headers=bearer(api.vehicle)).json()["vehicles"]
    assert [v["vin"] for v in own] == [VIN]
    new_vin = "WVWZZZ1KZ6W000123"
    r = api.client.post(
        "/v1/vehicles",
        json={"vin": new_vin, "model": "Model W", "attributes": {"trim": "long range"}},
        headers=bearer(api.operator),
    )
    assert r.status_code == 201
    token = r.json()["token"]
    assert token.startswith("vt_")
    got = api.client.get(f"/v1/vehicles/{new_vin}", headers=bearer(token)).json()
    assert got["model"] == "Model W" and got["attributes"] == {"trim": "long range"}


def test_catalog_search_and_lookup(api: Api) -> None:
    h = bearer(api.vehicle)
    found = api.client.get("/v1/catalog?q=vehicle.speed&limit=5", headers=h).json()["signals"]
    assert found[0]["path"] == SPEED
    speed = api.client.get(f"/v1/catalog/{SPEED}", headers=h).json()
    assert speed["unit"] == "km/h" and speed["datatype"] == "float"
    assert api.client.get(f"/v1/catalog/{speed['id']}", headers=h).json()["path"] == SPEED


def test_ingest_health_and_metrics(api: Api) -> None:
    api.post_batch(batch([[0, SPEED, 1.0], [0, SPEED, "x"]]))
    health = api.client.get("/v1/ingest/health", headers=bearer(api.operator)).json()
    assert health["stored_batches"] == 1 and health["stored_samples"] == 1
    assert health["counters"]["volta_ingest_samples_accepted_total"] == 1
    assert health["counters"]["volta_ingest_samples_rejected_total{reason=wrong_type}"] == 1
    assert VIN in health["last_seen_ms"]
    assert health["mqtt"] is None
    metrics = api.client.get("/metrics", headers=bearer(api.operator))
    assert metrics.status_code == 200
    assert "volta_ingest_samples_accepted_total 1.0" in metrics.text


def test_websocket_sends_state_then_a_change_within_a_second(api: Api) -> None:
    api.post_batch(batch([[0, SOC, 70.0]], seq=1))
    with api.client.websocket_connect(f"/v1/vehicles/{VIN}/live?token={api.vehicle}") as ws:
        snapshot = ws.receive_json()
        assert snapshot["type"] == "snapshot"
        assert snapshot["signals"][SOC]["value"] == 70.0
        sent = time.monotonic()
        api.post_batch(batch([[0, SPEED, 88.0]], seq=2))
        update = ws.receive_json()
        assert time.monotonic() - sent < 1.0
        assert update["type"] == "update"
        assert update["signals"][SPEED]["value"] == 88.0


def test_websocket_with_header_token_and_refusals(api: Api) -> None:
    with api.client.websocket_connect(
        f"/v1/vehicles/{VIN}/live", headers=bearer(api.operator)
    ) as ws:
        assert ws.receive_json() == {"type": "snapshot", "vin": VIN, "signals": {}}
    for url, status in [
        (f"/v1/vehicles/{VIN}/live", 401),
        (f"/v1/vehicles/{VIN}/live?token=vt_forged", 401),
        (f"/v1/vehicles/{VIN2}/live?token={api.vehicle}", 403),
        (f"/v1/vehicles/JHMZZ1A1XRV000099/live?token={api.operator}", 404),
    ]:
        with pytest.raises(WebSocketDenialResponse) as denied, api.client.websocket_connect(url):
            pass
        assert denied.value.status_code == status
        assert set(denied.value.json()) == {"error", "message"}


def test_state_values_keep_their_vss_types(api: Api) -> None:
    moving, pedal = "Vehicle.IsMoving", "Vehicle.Chassis.Accelerator.PedalPosition"
    r = api.post_batch(batch([[0, moving, True], [0, pedal, 42]]))
    assert r.json()["accepted"] == 2
    signals = api.client.get(f"/v1/vehicles/{VIN}/state", headers=bearer(api.vehicle)).json()[
        "signals"
    ]
    assert signals[moving]["value"] is True
    assert signals[pedal]["value"] == 42 and isinstance(signals[pedal]["value"], int)
    assert signals[pedal]["unit"] == "percent"
