"""Every bad request gets a JSON error `{"error", "message"}` with its exact status."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from volta.api.errors import install
from volta.errors import ConfigError

from .conftest import SPEED, UNREGISTERED, VIN, VIN2, Api, batch, bearer

PROTECTED_GETS = [
    "/v1/vehicles",
    f"/v1/vehicles/{VIN}",
    f"/v1/vehicles/{VIN}/state",
    f"/v1/vehicles/{VIN}/history?signals={SPEED}",
    f"/v1/vehicles/{VIN}/export",
    "/v1/catalog?q=speed",
    f"/v1/catalog/{SPEED}",
    "/v1/quarantine",
    "/v1/ingest/health",
    "/metrics",
]


def assert_error(r: httpx.Response, status: int, code: str, contains: str = "") -> dict[str, str]:
    assert r.status_code == status, r.text
    body: dict[str, str] = r.json()
    assert set(body) == {"error", "message"}
    assert body["error"] == code
    assert contains in body["message"]
    return body


@pytest.mark.parametrize("path", PROTECTED_GETS)
def test_every_route_needs_a_token(api: Api, path: str) -> None:
    r = api.client.get(path)
    assert_error(r, 401, "unauthorized", "Bearer")
    assert r.headers["www-authenticate"] == "Bearer"
    assert_error(api.client.get(path, headers=bearer("ot_not-a-token")), 401, "unauthorized")
    assert_error(api.client.get(path, headers={"Authorization": "Basic abc"}), 401, "unauthorized")


@pytest.mark.parametrize("path", ["/healthz", "/docs", "/openapi.json"])
def test_docs_and_liveness_need_no_token(api: Api, path: str) -> None:
    assert api.client.get(path).status_code == 200


def test_ingest_without_or_with_a_bad_token_is_401(api: Api) -> None:
    r = api.client.post(f"/v1/vehicles/{VIN}/telemetry", content=batch([[0, SPEED, 1.0]]))
    assert_error(r, 401, "unauthorized")
    assert_error(api.post_batch(batch([[0, SPEED, 1.0]]), token="vt_forged"), 401, "unauthorized")


def test_another_vehicles_token_is_403(api: Api) -> None:
    r = api.post_batch(batch([[0, SPEED, 1.0]], vin=VIN2), vin=VIN2)
    assert_error(r, 403, "forbidden", "another vehicle")
    for path in (
        f"/v1/vehicles/{VIN2}",
        f"/v1/vehicles/{VIN2}/state",
        f"/v1/vehicles/{VIN2}/history",
    ):
        assert_error(api.client.get(path, headers=bearer(api.vehicle)), 403, "forbidden")
    # A vehicle token is refused for another VIN before the API says whether it exists.
    assert_error(
        api.client.get(f"/v1/vehicles/{UNREGISTERED}/state", headers=bearer(api.vehicle)),
        403,
        "forbidden",
    )
    r = api.client.get(f"/v1/quarantine?vin={VIN2}", headers=bearer(api.vehicle))
    assert_error(r, 403, "forbidden")


def test_operator_only_routes_refuse_vehicle_tokens(api: Api) -> None:
    h = bearer(api.vehicle)
    assert_error(api.client.get("/v1/ingest/health", headers=h), 403, "forbidden", "operator")
    assert_error(api.client.get("/metrics", headers=h), 403, "forbidden")
    r = api.client.post("/v1/vehicles", json={"vin": UNREGISTERED}, headers=h)
    assert_error(r, 403, "forbidden")


def test_telemetry_must_come_with_the_vehicles_own_token(api: Api) -> None:
    r = api.post_batch(batch([[0, SPEED, 1.0]]), token=api.operator)
    assert_error(r, 403, "forbidden", "vehicle's own token")


def test_payload_vin_other_than_the_url_is_403(api: Api) -> None:
    r = api.post_batch(batch([[0, SPEED, 1.0]], vin=VIN2))
    assert_error(r, 403, "vin_mismatch")


def test_unregistered_vehicle_is_404_for_operators(api: Api) -> None:
    h = bearer(api.operator)
    for path in (f"/v1/vehicles/{UNREGISTERED}", f"/v1/vehicles/{UNREGISTERED}/state"):
        assert_error(api.client.get(path, headers=h), 404, "not_found", UNREGISTERED)


def test_registering_vehicles_checks_vin_and_duplicates(api: Api) -> None:
    h = bearer(api.operator)
    assert_error(
        api.client.post("/v1/vehicles", json={"vin": "JHMZZ1A1XRV00000O"}, headers=h),
        400,
        "bad_request",
        "invalid VIN",
    )
    assert_error(api.client.post("/v1/vehicles", json={"vin": VIN}, headers=h), 409, "conflict")
    assert_error(
        api.client.post("/v1/vehicles", json={"model": "x"}, headers=h),
        422,
        "invalid_request",
        "vin",
    )
    assert_error(
        api.client.post(
            "/v1/vehicles", content=b"{", headers={**h, "Content-Type": "application/json"}
        ),
        422,
        "invalid_request",
    )


def test_oversized_batch_is_413_by_content_length_and_by_stream(api: Api) -> None:
    big = batch([[i, SPEED, 1.0] for i in range(400)])
    assert len(big) > api.platform.settings.max_batch_bytes
    assert_error(api.post_batch(big), 413, "payload_too_large", "4096")

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer
        for i in range(0, len(big), 1000):
            yield big[i : i + 1000]

    assert_error(api.post_batch(chunks()), 413, "payload_too_large")


@pytest.mark.parametrize(
    "body",
    [b"", b"not json at all", b'{"v": 1, "vin": "JHMZZ1A1XRV000001", "seq": 1', b"\xc1\xc1\xc1"],
    ids=["empty", "garbage", "truncated", "bad-msgpack"],
)
def test_undecodable_body_is_400_with_its_reason(api: Api, body: bytes) -> None:
    r = api.post_batch(body)
    answer = assert_error(r, 400, "undecodable")
    assert answer["message"]


def test_unsupported_content_type_is_400(api: Api) -> None:
    r = api.post_batch(batch([[0, SPEED, 1.0]]), **{"Content-Type": "text/plain"})
    assert_error(r, 400, "bad_request", "application/msgpack")


def test_history_parameters_are_checked(api: Api) -> None:
    h = bearer(api.operator)
    url = f"/v1/vehicles/{VIN}/history"
    assert_error(
        api.client.get(f"{url}?signals={SPEED}&start=yesterday", headers=h),
        400,
        "bad_request",
        "start",
    )
    assert_error(
        api.client.get(f"{url}?signals={SPEED}&end=2026-13-01", headers=h),
        400,
        "bad_request",
        "end",
    )
    assert_error(
        api.client.get(f"{url}?signals=Vehicle.Sped", headers=h),
        400,
        "unknown_signal",
        "Vehicle.Speed",
    )
    assert_error(
        api.client.get(f"{url}?signals=Vehicle", headers=h), 400, "unknown_signal", "branch"
    )
    assert_error(api.client.get(f"{url}?signals=,", headers=h), 400, "bad_request", "signals")
    assert_error(
        api.client.get(f"{url}?signals={SPEED}&start=2000&end=1000", headers=h),
        400,
        "bad_request",
        "before end",
    )
    assert_error(
        api.client.get(f"{url}?signals={SPEED}&max_points=0", headers=h),
        422,
        "invalid_request",
        "max_points",
    )
    assert_error(
        api.client.get(f"/v1/vehicles/{VIN}/export?format=xlsx", headers=h),
        422,
        "invalid_request",
        "format",
    )


def test_unknown_signal_and_route_are_404(api: Api) -> None:
    h = bearer(api.operator)
    assert_error(
        api.client.get("/v1/catalog/Vehicle.Nope", headers=h), 404, "not_found", "Vehicle.Nope"
    )
    assert_error(api.client.get("/v1/nothing-here", headers=h), 404, "not_found")
    assert_error(api.client.delete("/v1/vehicles", headers=h), 405, "method_not_allowed")


def test_tokens_never_reach_logs_or_error_messages(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = api.vehicle
    responses = [
        api.post_batch(batch([[0, SPEED, 1.0]])),
        api.post_batch(batch([[0, SPEED, 1.0]], vin=VIN2), vin=VIN2),
        api.post_batch(b"garbage"),
        api.client.get(f"/v1/vehicles/{VIN2}/state", headers=bearer(secret)),
        api.client.get("/v1/ingest/health", headers=bearer(secret)),
        api.client.get("/v1/vehicles", headers=bearer(secret + "tampered")),
        api.client.get(f"/v1/vehicles/{VIN}/state?token={secret}x"),
    ]
    for r in responses:
        assert secret not in r.text
    assert responses[-1].status_code == 401  # plain HTTP never takes a token from the URL
    for record in caplog.records:
        if record.name.startswith("httpx"):  # the test's own client logs the URLs it calls
            continue
        assert secret not in record.getMessage()
        assert api.operator not in record.getMessage()


def test_a_configuration_error_met_while_answering_is_500_misconfigured_with_its_reason() -> None:
    app = FastAPI()
    install(app)

    @app.get("/roads")
    def roads() -> None:
        raise ConfigError("OSM file /maps/helsinki.osm.pbf not found")

    with TestClient(app) as client:
        assert_error(client.get("/roads"), 500, "misconfigured", "helsinki.osm.pbf not found")
