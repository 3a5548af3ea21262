"""OTA campaigns over the API: an operator creates (or is refused with the reason), starts and
pauses a campaign; the director targets are signed in the served folder with the online keys;
the car checks in through the API with its token and reports its steps (only for itself); a
driver accepts a soft update for their own car only; a car is told over MQTT that an update
waits."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import bearer
from tests.servicekit.notify import car_listening
from volta.api import create_app
from volta.config import Settings
from volta.ota.director import Director
from volta.ota.ecu import Ecu
from volta.ota.fetcher import HttpFetcher
from volta.ota.image_repo import ImageRepository
from volta.ota.keyring import create_keys
from volta.ota.keys import KeyStore
from volta.ota.primary import Primary
from volta.ota.storage import save_director, save_image_repository
from volta.platform import Platform
from volta.registry import Role
from volta.store.base import LatestValue

from .otakit import ManualClock

CAR, OTHER = "JHMZZ1A1XRV000001", "JHMZZ1A1XRV000002"
SOFT, PUSHED = "JHMZZ1A1XRV000003", "JHMZZ1A1XRV000004"
NMC, LFP = "bms-nmc-96s", "bms-lfp-108s"
BASE = "http://testserver/v1/ota"


@dataclass
class Api:
    client: TestClient
    platform: Platform
    tokens: dict[str, str]
    image_root: bytes
    director_root: bytes

    def call(self, who: str, method: str, path: str, body: object = None) -> tuple[int, dict]:  # type: ignore[type-arg]
        r = self.client.request(method, path, json=body, headers=bearer(self.tokens[who]))
        return r.status_code, r.json()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One server for the module (a platform and two argon2 sign-ins take seconds here); each
    test uses cars of its own."""
    tmp_path = tmp_path_factory.mktemp("campaign-api")
    keys, folder = tmp_path / "keys", tmp_path / "ota"
    clock = ManualClock()
    image_keys = create_keys(KeyStore(keys), "image")
    director_keys = create_keys(KeyStore(keys), "director")
    image = ImageRepository.create(image_keys, clock)
    from volta.ota.keys import generate
    from volta.ota.roles import RoleKeys

    supplier = generate()
    image.add_supplier("acme", ["bms"], RoleKeys((supplier.public_key,)), [supplier])
    image.add_image("acme", "bms", NMC, "1.1.0", b"bms nmc 1.1.0" * 100)
    director = Director.create(director_keys, clock)
    save_image_repository(image, folder)
    save_director(director, folder)
    settings = Settings(data_dir=tmp_path / "data", mqtt=None, ota_dir=folder, ota_keys=keys)
    platform = Platform(settings)
    platform.start()
    reg = platform.registry
    tokens = {
        "car": reg.add_vehicle(CAR, "Model V").token.token,
        "other": reg.add_vehicle(OTHER, "Model V").token.token,
        "operator": reg.issue_token(Role.OPERATOR).token,
    }
    reg.add_user("dana", Role.DRIVER, "correct horse battery staple")
    reg.add_user("erik", Role.DRIVER, "correct horse battery staple")
    for vin in (SOFT, PUSHED):
        reg.add_vehicle(vin, "Model V")
    reg.assign("dana", SOFT)
    reg.assign("erik", OTHER)
    version, variant = (
        platform.catalog.get(f"Vehicle.OTA.BMS.{n}") for n in ("SoftwareVersion", "HardwareVariant")
    )
    now = clock()
    # in the twin's stored form, as ingest writes it (a string as JSON text)
    platform.twin.load_values(
        [
            value
            for vin in (CAR, OTHER, SOFT, PUSHED)
            for value in (
                LatestValue(vin, version.id, now, *version.to_stored("1.0.0")),
                LatestValue(vin, variant.id, now, *variant.to_stored(NMC)),
            )
        ]
    )
    try:
        with TestClient(create_app(platform)) as client:
            for name in ("dana", "erik"):
                r = client.post(
                    "/v1/auth/token",
                    json={"username": name, "password": "correct horse battery staple"},
                )
                tokens[name] = r.json()["access_token"]
            yield Api(client, platform, tokens, image.root.files[1], director.root.files[1])
    finally:
        platform.stop()


def test_an_operator_runs_a_campaign_and_the_car_installs_it_through_the_api(
    api: Api, state: Callable[[str], Path]
) -> None:
    body = {
        "id": "bms-110",
        "version": "1.1.0",
        "filter": {"ecu_type": "bms", "vins": [CAR, OTHER]},
        "policy": {"waves": [0.5, 1.0], "success_threshold": 0.5},
    }
    status, out = api.call("operator", "POST", "/v1/campaigns", body)
    assert status == 201, out
    assert (
        out["phase"] == "paused"
        and out["vehicles"] == 2
        and out["images"] == {NMC: "bms/bms-nmc-96s/bms-1.1.0.img"}
    )
    assert api.call("operator", "POST", "/v1/campaigns", body)[0] == 409
    status, out = api.call("operator", "POST", "/v1/campaigns/bms-110/start")
    assert status == 200 and out["phase"] == "running" and out["listed"] == 1
    [first] = [v for v in (CAR, OTHER) if api.platform.campaigns.live["bms-110"].slots[v].listed]  # type: ignore[union-attr]
    who = "car" if first == CAR else "other"
    status, mine = api.call(who, "GET", f"/v1/vehicles/{first}/ota")
    assert status == 200 and mine["updates"][0]["listed"] is True
    # the car checks in through the API: the director targets were signed in the folder
    client = TestClient(api.client.app, headers=bearer(api.tokens[who]))
    steps: list[str] = []

    def report(step: object) -> None:
        s = step.state.value  # type: ignore[attr-defined]
        status, out = api.call(
            who, "POST", f"/v1/vehicles/{first}/ota/reports", {"campaign_id": "bms-110", "state": s}
        )
        assert status == 200 and out == {"accepted": True, "reason": ""}, out
        steps.append(s)

    primary = Primary(
        first,
        [Ecu.built("BMS", "BMS", "bms", NMC, "1.0.0")],
        state("car"),
        api.image_root,
        api.director_root,
        BASE,
        HttpFetcher(client),
        report=report,
    )
    primary.check_in()
    assert steps == ["downloading", "installing", "succeeded"]
    assert primary.ecus["BMS"].running.version == "1.1.0"
    status, out = api.call("operator", "GET", "/v1/campaigns/bms-110")
    assert out["released_waves"] == 2 and out["waves"][0]["states"] == {"succeeded": 1}
    # pause and resume, out of turn a 409 with the reason
    assert api.call("operator", "POST", "/v1/campaigns/bms-110/pause")[1]["phase"] == "paused"
    status, out = api.call("operator", "POST", "/v1/campaigns/bms-110/pause")
    assert status == 409 and "cannot pause" in out["message"]
    assert api.call("operator", "POST", "/v1/campaigns/bms-110/resume")[1]["phase"] == "running"
    listed = api.call("operator", "GET", "/v1/campaigns")[1]["campaigns"]
    assert "bms-110" in [c["id"] for c in listed]


def test_refusals_and_reports_that_are_ignored(api: Api) -> None:
    status, out = api.call(
        "operator",
        "POST",
        "/v1/campaigns",
        {"id": "x", "version": "1.1.0", "filter": {"ecu_type": "bms", "models": ["Model Z"]}},
    )
    assert status == 400 and out["message"] == "campaign x: its filter matches no vehicle"
    status, out = api.call(
        "operator",
        "POST",
        "/v1/campaigns",
        {"id": "y", "version": "2.0.0", "filter": {"ecu_type": "bms"}},
    )
    assert status == 400 and "has no bms image of version 2.0.0" in out["message"]
    status, out = api.call(
        "operator",
        "POST",
        "/v1/campaigns",
        {"id": "z", "version": "1.1.0", "filter": {"ecu_type": "bms"}, "policy": {"waves": [0.5]}},
    )
    assert status == 400 and "last wave must be 1.0" in out["message"]
    status, out = api.call(
        "operator",
        "POST",
        "/v1/campaigns",
        {"id": "r", "version": "1.1.0", "filter": {"ecu_type": "bms", "recall_id": "no-such"}},
    )
    assert status == 404 and "no-such" in out["message"]
    # a car's reports: an unknown campaign is recorded and ignored, another car's VIN is 403
    status, out = api.call(
        "car",
        "POST",
        f"/v1/vehicles/{CAR}/ota/reports",
        {"campaign_id": "nope", "state": "downloading"},
    )
    assert status == 200 and out == {"accepted": False, "reason": "unknown campaign"}
    status, _ = api.call(
        "car",
        "POST",
        f"/v1/vehicles/{OTHER}/ota/reports",
        {"campaign_id": "nope", "state": "downloading"},
    )
    assert status == 403
    status, _ = api.call(
        "car",
        "POST",
        f"/v1/vehicles/{CAR}/ota/reports",
        {"campaign_id": "nope", "state": "exploded"},
    )
    assert status == 422


def test_a_driver_accepts_a_soft_update_for_their_own_car_only(api: Api) -> None:
    body = {
        "id": "soft",
        "version": "1.1.0",
        "mode": "soft",
        "filter": {"ecu_type": "bms", "vins": [SOFT]},
        "policy": {"waves": [1.0]},
    }
    assert api.call("operator", "POST", "/v1/campaigns", body)[0] == 201
    api.call("operator", "POST", "/v1/campaigns/soft/start")
    status, out = api.call("dana", "GET", f"/v1/vehicles/{SOFT}/ota")
    assert status == 200 and out["updates"][0]["consent_needed"] is True
    assert out["updates"][0]["waiting_for"] == "waiting for the driver's consent"
    assert (
        api.call("erik", "POST", f"/v1/vehicles/{SOFT}/ota/consent", {"campaign_id": "soft"})[0]
        == 403
    )
    assert (
        api.call("operator", "POST", f"/v1/vehicles/{SOFT}/ota/consent", {"campaign_id": "soft"})[0]
        == 403
    )
    status, out = api.call(
        "dana", "POST", f"/v1/vehicles/{SOFT}/ota/consent", {"campaign_id": "soft"}
    )
    assert status == 200 and out["updates"][0]["listed"] is True
    status, out = api.call("operator", "GET", "/v1/campaigns/soft")
    assert out["listed"] == 1


@pytest.mark.services
def test_the_car_is_told_on_its_own_notify_topic_that_an_update_waits(api: Api) -> None:
    with car_listening(PUSHED) as car:
        got, arrived = car.got, car.arrived
        runner = api.platform.campaigns
        assert runner is not None
        runner.push = car.notifier.send
        body = {
            "id": "push",
            "version": "1.1.0",
            "filter": {"ecu_type": "bms", "vins": [PUSHED]},
            "policy": {"waves": [1.0]},
        }
        assert api.call("operator", "POST", "/v1/campaigns", body)[0] == 201
        assert api.call("operator", "POST", "/v1/campaigns/push/start")[0] == 200
        assert arrived.wait(10), "no notice arrived"
        assert b'"kind": "ota_update"' in got[0] and b'"campaign_id": "push"' in got[0]
        assert runner.pushed >= 1
