"""The OTA repositories served by Volta's API (`GET /v1/ota/...`) from their folder: a car
updates through it with its own token, an interrupted image download resumes with a range
request, a car reads only its own director metadata, and the server's re-signing job keeps the
short-lived metadata fresh so check-ins go on working after it would have expired."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import bearer
from volta.api import create_app
from volta.config import Settings
from volta.ota.director import Assignment, Director
from volta.ota.fetcher import HttpFetcher
from volta.ota.image_repo import ImageRepository
from volta.ota.keeper import OtaKeeper
from volta.ota.keyring import create_keys
from volta.ota.keys import KeyStore
from volta.ota.primary import Primary, State
from volta.ota.storage import save_director, save_image_repository
from volta.platform import Platform
from volta.registry import Role

from .otakit import ManualClock, Ota, ecus

CAR = "JHMZZ1A1XRV000001"
OTHER = "JHMZZ1A1XRV000002"
BASE = "http://testserver/v1/ota"
IMAGE = os.urandom(300_000)  # several 64 KiB chunks


@dataclass
class Served:
    app: object
    folder: Path
    platform: Platform
    car: str  # tokens
    other: str
    operator: str
    image_path: str

    def client(self, token: str, transport: httpx.BaseTransport | None = None) -> httpx.Client:
        if transport is None:
            return TestClient(self.app, headers=bearer(token))  # type: ignore[arg-type]
        return httpx.Client(transport=transport, headers=bearer(token))


@pytest.fixture
def served(ota: Ota, tmp_path: Path) -> Iterator[Served]:
    folder = tmp_path / "ota"
    target = ota.image.add_image("acme", "bms", "bms-nmc-96s", "1.1.0", IMAGE)
    ota.director.assign(CAR, [Assignment("BMS-0001", target)])
    ota.director.vehicle(OTHER)
    save_image_repository(ota.image, folder)
    save_director(ota.director, folder)
    platform = Platform(Settings(data_dir=tmp_path / "data", mqtt=None, ota_dir=folder))
    platform.start()
    reg = platform.registry
    car, other = reg.add_vehicle(CAR, None).token.token, reg.add_vehicle(OTHER, None).token.token
    operator = reg.issue_token(Role.OPERATOR).token
    [image_file] = ota.image.images
    try:
        app = create_app(platform)
        yield Served(app, folder, platform, car, other, operator, f"image/targets/{image_file}")
    finally:
        platform.stop()


def _primary(ota: Ota, state: Path, client: httpx.Client) -> Primary:
    return Primary(CAR, ecus(), state, ota.image_root(), ota.director_root(), BASE,
                   HttpFetcher(client, pause_s=0.01))  # fmt: skip


def test_a_car_updates_through_the_api_with_its_token(
    ota: Ota, served: Served, state: Callable[[str], Path]
) -> None:
    primary = _primary(ota, state("car"), served.client(served.car))
    steps = primary.check_in()
    assert [s.state for s in steps] == [State.DOWNLOADING, State.INSTALLING, State.SUCCEEDED]
    assert primary.ecus["BMS-0001"].running.version == "1.1.0"


class CutOnce(httpx.BaseTransport):
    """Passes requests to the app, but breaks the first image download after `cut` bytes."""

    def __init__(self, app: object, cut: int) -> None:
        self.inner = TestClient(app)._transport  # type: ignore[arg-type]
        self.cut = cut
        self.ranges: list[str | None] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        r: httpx.Response = self.inner.handle_request(request)
        if "/image/targets/" not in request.url.path:
            return r
        self.ranges.append(request.headers.get("range"))
        if len(self.ranges) > 1:
            return r
        body = r.read()[: self.cut]

        def broken() -> Iterator[bytes]:
            yield body
            raise httpx.ReadError("connection reset by peer")

        return httpx.Response(r.status_code, headers=r.headers, stream=_Stream(broken()))


class _Stream(httpx.SyncByteStream):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks


def test_an_interrupted_image_download_resumes_where_it_broke_off(
    ota: Ota, served: Served, state: Callable[[str], Path]
) -> None:
    transport = CutOnce(served.app, cut=100_000)
    client = httpx.Client(transport=transport, headers=bearer(served.car), base_url="http://t")
    primary = _primary(ota, state("car"), client)
    assert primary.check_in()[-1].state is State.SUCCEEDED
    assert transport.ranges == [None, "bytes=100000-"]  # asked for the rest only
    assert primary.ecus["BMS-0001"].running.version == "1.1.0"


def test_ranges_are_answered_with_206_and_past_the_end_with_416(served: Served) -> None:
    client = served.client(served.car)
    r = client.get(f"/v1/ota/{served.image_path}", headers={"Range": "bytes=1000-1999"})
    assert r.status_code == 206 and r.content == IMAGE[1000:2000]
    assert r.headers["content-range"] == f"bytes 1000-1999/{len(IMAGE)}"
    assert client.get(f"/v1/ota/{served.image_path}").headers["accept-ranges"] == "bytes"
    r = client.get(f"/v1/ota/{served.image_path}", headers={"Range": f"bytes={len(IMAGE)}-"})
    assert r.status_code == 416


def test_a_car_reads_only_its_own_director_metadata(served: Served) -> None:
    own = served.client(served.car).get(f"/v1/ota/director/{CAR}/metadata/timestamp.json")
    assert own.status_code == 200 and own.headers["cache-control"] == "no-store"
    r = served.client(served.other).get(f"/v1/ota/director/{CAR}/metadata/timestamp.json")
    assert r.status_code == 403 and "its own director metadata" in r.json()["message"]
    r = served.client(served.operator).get(f"/v1/ota/director/{CAR}/metadata/timestamp.json")
    assert r.status_code == 200 and r.content == own.content


@pytest.mark.parametrize(
    "path",
    ["image/metadata/../../data/registry.sqlite", "image/metadata/.lock", "image/nope/x",
     f"director/{CAR}/metadata/../../../../data", "image/metadata/99.root.json", "x"],
)  # fmt: skip
def test_nothing_outside_the_repositories_is_served(served: Served, path: str) -> None:
    r = served.client(served.operator).get(f"/v1/ota/{path}")
    assert r.status_code == 404, r.text


def test_a_server_without_repositories_answers_503(tmp_path: Path) -> None:
    platform = Platform(Settings(data_dir=tmp_path, mqtt=None))
    try:
        operator = platform.registry.issue_token(Role.OPERATOR).token
        r = TestClient(create_app(platform)).get(
            "/v1/ota/image/metadata/1.root.json", headers=bearer(operator)
        )
        assert r.status_code == 503 and "VOLTA_OTA_DIR" in r.json()["message"]
    finally:
        platform.stop()


def test_the_keeper_signs_expiring_metadata_anew_so_cars_go_on_checking_in(
    tmp_path: Path, state: Callable[[str], Path]
) -> None:
    """Repositories signed 70 minutes ago: the director's one-hour timestamps have expired,
    and a car's check-in fails; one pass of the keeper (online keys only) and it succeeds."""
    keys, folder = tmp_path / "keys", tmp_path / "ota"
    then = ManualClock()
    then.now_ms -= 70 * 60_000
    image_keys = create_keys(KeyStore(keys), "image")
    director_keys = create_keys(KeyStore(keys), "director")
    image = ImageRepository.create(image_keys, then)
    director = Director.create(director_keys, then)
    director.vehicle(CAR)
    save_image_repository(image, folder)
    save_director(director, folder)
    # the offline keys are not needed: only the online ones are in the folder the server gets
    online = tmp_path / "online"
    online.mkdir(mode=0o700)
    for key in keys.iterdir():
        if "-root-" not in key.name and "image-targets" not in key.name:
            (online / key.name).write_bytes(key.read_bytes())
            (online / key.name).chmod(key.stat().st_mode & 0o777)
    ota_root, dir_root = image.root.files[1], director.root.files[1]

    def check_in() -> list[str]:
        """The reasons of the failed steps of a check-in through the API (none: it worked)."""
        client = TestClient(create_app(platform), headers=bearer(token))
        primary = Primary(CAR, [], state("car"), ota_root, dir_root, BASE, HttpFetcher(client))
        return [s.reason for s in primary.check_in() if s.state is State.FAILED]

    platform = Platform(Settings(data_dir=tmp_path / "data", mqtt=None, ota_dir=folder))
    try:
        token = platform.registry.add_vehicle(CAR, None).token.token
        [why] = check_in()
        assert "expired" in why, why
        done = OtaKeeper(folder, online, ManualClock()).renew_once()
        assert done.vehicles == {CAR: ["timestamp"]} and done.image == []
        assert done.offline_due == []
        assert check_in() == []
        # a second pass right after has nothing to do
        assert OtaKeeper(folder, online, ManualClock()).renew_once().vehicles == {}
        later = ManualClock()
        later.now_ms += 50 * 60_000  # 10 minutes of the new hour left: due again
        assert OtaKeeper(folder, online, later).renew_once().vehicles == {CAR: ["timestamp"]}
    finally:
        platform.stop()
