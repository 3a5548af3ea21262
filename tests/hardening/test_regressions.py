"""What the fuzzers and schemathesis found, pinned: each was a crash (HTTP 500) or an
unbounded reason before its fix."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from fastapi.testclient import TestClient

from volta.api import create_app
from volta.api.params import parse_signals, parse_time, signal_key
from volta.catalog import default_catalog
from volta.config import Settings
from volta.errors import BadRequest, DecodeError, UnknownSignal
from volta.platform import Platform
from volta.registry import Role
from volta.wire import decode_batch

VIN = "JHMZZ1A1XRV000001"
HEADER = {"v": 1, "vin": VIN, "seq": 1, "ts": 1_764_201_600_000, "samples": []}


@pytest.mark.parametrize("fmt", [msgspec.json, msgspec.msgpack])
def test_an_unknown_field_named_by_a_huge_key_gives_a_short_reason(fmt: object) -> None:
    body = fmt.encode({**HEADER, "k" * 5000: 1})  # type: ignore[attr-defined]
    with pytest.raises(DecodeError) as err:
        decode_batch(body)
    assert str(err.value).startswith("unknown field 'kkk")
    assert len(str(err.value)) < 200


def test_huge_integers_are_not_echoed_in_reasons() -> None:
    big = 10**1000
    with pytest.raises(DecodeError) as err:
        decode_batch(msgspec.json.encode({**HEADER, "seq": big}))
    assert len(str(err.value)) < 200
    with pytest.raises(DecodeError) as err:
        decode_batch(msgspec.json.encode({**HEADER, "v": big}))
    assert len(str(err.value)) < 200
    decoded = decode_batch(msgspec.json.encode({**HEADER, "samples": [[0, big, 1.0]]}))
    [(index, reason, _)] = decoded.malformed
    assert index == 0 and reason.startswith("sample 0: signal id must be")
    assert len(reason) < 200


@pytest.mark.parametrize("text", ["²", "-³", "٣" * 30, "9" * 5000, "tomorrow"])
def test_parse_time_refuses_what_is_not_a_time(text: str) -> None:
    with pytest.raises(BadRequest) as err:
        parse_time("start", text)
    assert "start" in str(err.value) and len(str(err.value)) < 200


@pytest.mark.parametrize("text", [str(2**63), str(-(2**63)), "253402387200000"])
def test_parse_time_refuses_times_past_year_9999(text: str) -> None:
    with pytest.raises(BadRequest, match="outside the years 0001 to 9999"):
        parse_time("end", text)


def test_parse_time_still_takes_ms_and_iso() -> None:
    assert parse_time("t", " 1764201600000 ") == 1_764_201_600_000
    assert parse_time("t", "-5") == -5
    assert parse_time("t", "2025-11-27T00:00:00Z") == 1_764_201_600_000
    assert parse_time("t", "2025-11-27") == 1_764_201_600_000


def test_signal_keys_are_ids_only_when_ascii_digits() -> None:
    speed = default_catalog().get("Vehicle.Speed")
    assert signal_key(str(speed.id)) == speed.id
    assert signal_key("²") == "²"
    assert signal_key("9" * 30) == "9" * 30
    with pytest.raises(UnknownSignal):
        parse_signals(default_catalog(), "²")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    platform = Platform(Settings(data_dir=tmp_path, mqtt=None))
    platform.start()
    platform.registry.add_vehicle(VIN, "Model V")
    token = platform.registry.issue_token(Role.OPERATOR).token
    with TestClient(create_app(platform)) as c:
        yield c, {"Authorization": f"Bearer {token}"}
    platform.stop()


@pytest.mark.parametrize(
    ("url", "status"),
    [
        (f"/v1/vehicles/{VIN}/export?start=²", 400),
        (f"/v1/vehicles/{VIN}/history?end=" + "9" * 5000, 400),
        (f"/v1/vehicles/{VIN}/history?end=-9223372036854775808", 400),
        (f"/v1/vehicles/{VIN}/history?signals=²", 400),
        (f"/v1/vehicles/{VIN}/drives?before={2**70}", 422),
        (f"/v1/vehicles/{VIN}/charges?before=-{2**70}", 422),
        (f"/v1/vehicles/{VIN}/drives?start=²", 400),
        (f"/v1/quarantine?before={2**63}", 422),
        (f"/v1/audit?before={2**63}", 422),
        ("/v1/catalog/²", 404),
        ("/v1/catalog?q=²", 200),
    ],
)
def test_odd_parameters_get_a_client_error_not_a_500(
    client: tuple[TestClient, dict[str, str]], url: str, status: int
) -> None:
    c, auth = client
    response = c.get(url, headers=auth)
    assert response.status_code == status, response.text
    if status >= 400:
        assert response.json()["message"]
