"""The command routes: who may command, validation answers, the vehicle's pull-and-ack cycle."""

from __future__ import annotations

import uuid

from volta.commands.model import CHARGE_LIMIT
from volta.registry import Role

from .conftest import VIN, VIN2, Api, bearer


def test_operator_commands_and_follows_a_command(api: Api) -> None:
    r = api.command({"type": "set_charge_limit", "value": 85, "ttl_s": 120})
    assert r.status_code == 202, r.text
    cmd = r.json()
    assert uuid.UUID(cmd["id"]) and cmd["state"] == "queued" and cmd["vin"] == VIN
    assert cmd["targets"] == {CHARGE_LIMIT: 85}
    assert cmd["expires_ms"] - cmd["created_ms"] == 120_000
    assert cmd["issued_by"] and not cmd["issued_by"].startswith("ot_")  # never the token
    got = api.client.get(f"/v1/vehicles/{VIN}/commands/{cmd['id']}", headers=bearer(api.operator))
    assert got.status_code == 200 and got.json()["state"] == "queued"


def test_invalid_values_answer_with_the_vss_path(api: Api) -> None:
    r = api.command({"type": "set_charge_limit", "value": 150})
    assert r.status_code == 422
    assert CHARGE_LIMIT in r.json()["message"]
    r = api.command({"type": "climate_on", "value": 45})
    assert r.status_code == 422
    assert "Vehicle.Cabin.HVAC.Station.Row1.Driver.Temperature" in r.json()["message"]
    r = api.command({"type": "self_destruct"})
    assert r.status_code == 422 and "type" in r.json()["message"]
    r = api.command({"type": "lock", "ttl_s": 0})
    assert r.status_code == 422 and "ttl_s" in r.json()["message"]
    listed = api.client.get(f"/v1/vehicles/{VIN}/commands", headers=bearer(api.operator))
    assert listed.json()["commands"] == []  # nothing invalid was stored


def test_no_vehicle_token_may_issue_a_command(api: Api) -> None:
    own = api.command({"type": "unlock"}, token=api.vehicle)
    assert own.status_code == 403
    foreign = api.command({"type": "unlock"}, token=api.other_vehicle)
    assert foreign.status_code == 403
    assert api.command({"type": "unlock"}, token="vt_nonsense").status_code == 401


def test_a_driver_commands_only_their_own_vehicle(api: Api) -> None:
    reg = api.platform.registry
    reg.add_user("dana", Role.DRIVER, "correct horse battery")
    reg.assign("dana", VIN)
    token = reg.sign_in("dana", "correct horse battery").token
    assert api.command({"type": "lock"}, token=token).status_code == 202
    assert api.command({"type": "lock"}, vin=VIN2, token=token).status_code == 403


def test_a_foreign_vehicle_cannot_see_pull_or_ack_anothers_commands(api: Api) -> None:
    cmd = api.command({"type": "lock"}).json()
    other = bearer(api.other_vehicle)
    base = f"/v1/vehicles/{VIN}/commands"
    assert api.client.get(base, headers=other).status_code == 403
    assert api.client.get(f"{base}/{cmd['id']}", headers=other).status_code == 403
    assert api.client.get(f"{base}/pending", headers=other).status_code == 403
    ack = {"status": "succeeded"}
    assert api.client.post(f"{base}/{cmd['id']}/ack", json=ack, headers=other).status_code == 403
    # under its own VIN, the other car does not find the command at all
    r = api.client.post(f"/v1/vehicles/{VIN2}/commands/{cmd['id']}/ack", json=ack, headers=other)
    assert r.status_code == 404 and cmd["id"] in r.json()["message"]
    # an operator does not acknowledge on a car's behalf
    r = api.client.post(f"{base}/{cmd['id']}/ack", json=ack, headers=bearer(api.operator))
    assert r.status_code == 403
    assert api.client.get(f"{base}/{cmd['id']}", headers=bearer(api.operator)).json()["state"] == (
        "queued"
    )


def test_the_vehicle_pulls_and_acknowledges(api: Api) -> None:
    lock = api.command({"type": "lock"}).json()
    flash = api.command({"type": "flash_lights"}).json()
    car = bearer(api.vehicle)
    base = f"/v1/vehicles/{VIN}/commands"
    pending = api.client.get(f"{base}/pending", headers=car).json()["commands"]
    assert [p["id"] for p in pending] == [lock["id"], flash["id"]]
    assert pending[0]["targets"] and pending[0]["expires_ms"] == lock["expires_ms"]
    assert api.client.get(f"{base}/{lock['id']}", headers=car).json()["state"] == "delivered"

    ok = api.client.post(f"{base}/{lock['id']}/ack", json={"status": "succeeded"}, headers=car)
    assert ok.status_code == 200 and ok.json()["state"] == "succeeded"
    again = api.client.post(f"{base}/{lock['id']}/ack", json={"status": "succeeded"}, headers=car)
    assert again.status_code == 200 and again.json()["state"] == "succeeded"  # idempotent
    clash = api.client.post(
        f"{base}/{lock['id']}/ack", json={"status": "failed", "reason": "x"}, headers=car
    )
    assert clash.status_code == 409 and "already succeeded" in clash.json()["message"]
    failed = api.client.post(
        f"{base}/{flash['id']}/ack", json={"status": "failed", "reason": "bulb out"}, headers=car
    ).json()
    assert failed["state"] == "failed" and failed["reason"] == "bulb out"
    assert [h["state"] for h in failed["history"]] == ["queued", "delivered", "failed"]
    assert api.client.get(f"{base}/pending", headers=car).json()["commands"] == []
    unknown = api.client.post(
        f"{base}/{uuid.uuid4()}/ack", json={"status": "succeeded"}, headers=car
    )
    assert unknown.status_code == 404


def test_commands_expire_by_the_platform_clock(api: Api) -> None:
    cmd = api.command({"type": "wake", "ttl_s": 30}).json()
    api.clock.shift_ms += 31_000
    base = f"/v1/vehicles/{VIN}/commands"
    got = api.client.get(f"{base}/{cmd['id']}", headers=bearer(api.operator)).json()
    assert got["state"] == "expired" and got["reason"]
    car = bearer(api.vehicle)
    assert api.client.get(f"{base}/pending", headers=car).json()["commands"] == []
    late = api.client.post(f"{base}/{cmd['id']}/ack", json={"status": "succeeded"}, headers=car)
    assert late.status_code == 409 and "expired" in late.json()["message"]


def test_listing_pages_newest_first(api: Api) -> None:
    ids = [api.command({"type": "wake"}).json()["id"] for _ in range(5)]
    seen: list[str] = []
    before = None
    while True:
        params = {"limit": 2, **({"before": before} if before else {})}
        page = api.client.get(
            f"/v1/vehicles/{VIN}/commands", params=params, headers=bearer(api.operator)
        ).json()
        seen += [c["id"] for c in page["commands"]]
        before = page["next_before"]
        if before is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 5
    created = [
        api.client.get(f"/v1/vehicles/{VIN}/commands/{i}", headers=bearer(api.operator)).json()[
            "created_ms"
        ]
        for i in seen
    ]
    assert created == sorted(created, reverse=True)
