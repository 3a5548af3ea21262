"""End to end: the platform sends a command, a simulated car applies and acknowledges it, and
its next telemetry shows the change; over the real Mosquitto, and over HTTP pull alone."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from volta.api import create_app
from volta.commands.model import LOCKS
from volta.commands.wire import CommandMessage
from volta.config import Settings
from volta.platform import Platform
from volta.registry import Role
from volta.sim.fleet import roster
from volta.sim.senders import HttpSender, MqttSender
from volta.wire import Batch

from .conftest import bearer
from .simkit import SimCar, fleet_config, wait_for

HOST, PORT = "127.0.0.1", 1883
LOCK = LOCKS[0]
HAZARD = "Vehicle.Body.Lights.Hazard.IsSignaling"  # Vehicle.Cabin.Door.Row1.DriverSide.IsLocked


def broker_listening() -> bool:
    try:
        with socket.create_connection((HOST, PORT), timeout=1.0):
            return True
    except OSError:
        return False


def locked_in_twin(platform: Platform, vin: str) -> bool | None:
    value = platform.twin.get(vin).get(platform.catalog.get(LOCK).id)
    return None if value is None else value.num == 1.0


def locked_in_store(platform: Platform, vin: str) -> bool | None:
    sid = platform.catalog.get(LOCK).id
    for lv in platform.store.latest(vin):
        if lv.signal_id == sid:
            return lv.num == 1.0
    return None


@pytest.mark.services
def test_lock_over_mqtt_reaches_the_car_and_shows_in_its_telemetry(tmp_path: Path) -> None:
    if not broker_listening():
        pytest.skip(f"no MQTT broker listens on {HOST}:{PORT} (make services starts one)")
    run = uuid.uuid4().hex[:12]
    prefix = f"volta-test-{run}/v1"
    settings = Settings(
        data_dir=tmp_path,
        mqtt=f"mqtt://{HOST}:{PORT}",
        mqtt_topic_prefix=prefix,
        mqtt_client_id=f"volta-test-gw-{run}",
    )
    config = fleet_config()
    platform = Platform(settings)
    for vin, model in roster(config):
        platform.registry.add_vehicle(vin, model)
    operator = platform.registry.issue_token(Role.OPERATOR).token
    platform.start()
    link = platform.commands.link
    assert link is not None and wait_for(lambda: link.connected)
    sender = MqttSender(f"mqtt://{HOST}:{PORT}", fmt="json", topic_prefix=prefix, commands=True)
    try:
        car = SimCar.start(config, sender)
        vin = car.fleet.vins[0]
        sender.listen(car.fleet.vins)
        car.run(600)  # asleep or not, the car is listening

        with TestClient(create_app(platform)) as client:

            def command(kind: str, want: bool) -> str:
                r = client.post(
                    f"/v1/vehicles/{vin}/commands", json={"type": kind}, headers=bearer(operator)
                )
                assert r.status_code == 202, r.text
                cid = str(r.json()["id"])
                got: list[CommandMessage] = []

                def received() -> bool:
                    got.extend(sender.take_commands())
                    return bool(got)

                def state() -> str:
                    url = f"/v1/vehicles/{vin}/commands/{cid}"
                    return str(client.get(url, headers=bearer(operator)).json()["state"])

                assert wait_for(received)
                assert [m.id for m in got] == [cid] and got[0].targets[LOCK] is want
                assert wait_for(lambda: state() == "delivered")  # the car's receipt
                acks = car.serve(got, sender.ack)
                assert [a.status for a in acks] == ["succeeded"]
                assert wait_for(lambda: state() == "succeeded")
                car.run(60)  # the next window's telemetry
                assert wait_for(lambda: locked_in_twin(platform, vin) is want), kind
                assert wait_for(lambda: locked_in_store(platform, vin) is want), kind
                return cid

            command("unlock", False)
            cid = command("lock", True)
            history = client.get(
                f"/v1/vehicles/{vin}/commands/{cid}", headers=bearer(operator)
            ).json()["history"]
            assert [h["state"] for h in history] == ["queued", "delivered", "succeeded"]
        assert platform.commands.acks_refused == 0
    finally:
        sender.close()
        platform.stop()


def test_commands_over_http_pull_without_a_broker(tmp_path: Path) -> None:
    """The embedded default: no broker, the car pulls its commands and acks over HTTP."""
    config = fleet_config(seed=11)
    platform = Platform(Settings(data_dir=tmp_path, mqtt=None))
    tokens = {vin: platform.registry.add_vehicle(vin, m).token.token for vin, m in roster(config)}
    operator = bearer(platform.registry.issue_token(Role.OPERATOR).token)
    platform.start()
    try:
        with TestClient(create_app(platform)) as client:
            sender = HttpSender("http://testserver", tokens, fmt="json", client=client)
            car = SimCar.start(config, sender)
            s = car.fleet.state
            vin = car.fleet.vins[1]
            if s.charging[1]:  # plugged in at home at the start: charge_stop must find it idle
                car.fleet.end_charge(1, 0)
            s.awake_until[1] = 10**9  # keep it online: a sleeping car does not poll
            car.run(120)
            assert not s.charging[1]
            base = f"/v1/vehicles/{vin}/commands"
            limit = client.post(
                base, json={"type": "set_charge_limit", "value": 55}, headers=operator
            )
            bad_start = client.post(base, json={"type": "charge_stop"}, headers=operator)
            assert limit.status_code == bad_start.status_code == 202
            acks = car.serve(sender.take_commands(), sender.ack)
            assert {a.id: a.status for a in acks} == {
                limit.json()["id"]: "succeeded",
                bad_start.json()["id"]: "failed",
            }
            done = client.get(f"{base}/{bad_start.json()['id']}", headers=operator).json()
            assert done["state"] == "failed" and done["reason"] == "not charging"
            car.run(60)
            sid = platform.catalog.get("Vehicle.Powertrain.TractionBattery.Charging.ChargeLimit").id
            assert wait_for(
                lambda: (v := platform.twin.get(vin).get(sid)) is not None and v.num == 55
            )
            assert sender.rejected == []
    finally:
        platform.stop()


def test_run_serves_commands_in_process_as_the_demo_does(tmp_path: Path) -> None:
    from volta.ingest.inproc import InProcessTransport
    from volta.sim.commands import InprocCommandLink
    from volta.sim.run import run
    from volta.sim.senders import CallableSender

    config = fleet_config(vehicles=3, seed=13)
    platform = Platform(Settings(data_dir=tmp_path, mqtt=None))
    vins = [vin for vin, model in roster(config)]
    for vin, model in roster(config):
        platform.registry.add_vehicle(vin, model)
    platform.start()
    try:
        service = platform.commands
        flash = service.issue(vins[2], "flash_lights")
        expired = service.issue(vins[1], "unlock", ttl_s=5)
        service.clock = lambda: flash.created_ms + 6_000  # the unlock is overdue
        link = InprocCommandLink(service, vins)
        sender = CallableSender(deliver_many=InProcessTransport(platform.gateway).publish_many)
        sent: list[Batch] = []
        run(config, 600, sender, commands=link, first_seq=config.start_ms, on_batches=sent.extend)
        assert service.get(vins[2], flash.id).state == "succeeded"
        assert service.get(vins[1], expired.id).state == "expired"  # never handed out
        first = next(b for b in sent if b.vin == vins[2])  # the command woke it
        assert (0, HAZARD, True) in first.samples
        sid = platform.catalog.get(HAZARD).id

        def stored() -> list[float | None]:
            series = platform.store.history(vins[2], [sid], first.ts, first.ts + 1000, 10)
            return series[0].num if series else []

        assert wait_for(lambda: stored() == [1.0]), "the flash reached the store"
        assert link.refused == 0
    finally:
        platform.stop()
