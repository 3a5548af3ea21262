"""`volta vehicles provision` on disk: files, modes, repeatability, secrets shown once only."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from volta.broker.passwords import verify_password
from volta.cli import _register_all, app
from volta.registry import SQLiteRegistry

from .conftest import GW, A, B, run_provision


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    registry = SQLiteRegistry.open(path)
    for vin in (A, B):
        registry.add_vehicle(vin)
    registry.close()
    return path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def every_file(*dirs: Path) -> list[Path]:
    return [p for d in dirs for p in d.rglob("*") if p.is_file()]


def test_provision_writes_broker_files_and_prints_each_secret_once(
    data_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "broker"
    answer = run_provision(data_dir, out, "--vin", A)
    secrets = {i["username"]: i["password"] for i in answer["issued"]}
    assert set(secrets) == {A, GW}  # B was not asked for

    passwd = Path(answer["files"]["passwd"])
    lines = dict(line.split(":", 1) for line in passwd.read_text().splitlines())
    assert set(lines) == {A, GW}
    assert all(verify_password(secrets[user], lines[user]) for user in lines)
    assert mode(passwd) == 0o600
    assert mode(Path(answer["state"])) == 0o600
    assert Path(answer["state"]).parent == data_dir
    assert "pattern write volta/v1/%u/telemetry" in Path(answer["files"]["acl"]).read_text()
    conf = Path(answer["files"]["conf"]).read_text()
    assert f"password_file {passwd}" in conf and "allow_anonymous false" in conf

    assert {p.name for p in every_file(out)} == {"passwd", "acl", "mosquitto.conf"}
    # Only hashes are kept, anywhere.
    for path in every_file(data_dir, out):
        content = path.read_bytes()
        assert not any(secret.encode() in content for secret in secrets.values()), path


def test_provisioning_again_changes_nothing_and_shows_no_secret(
    data_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "broker"
    run_provision(data_dir, out, "--all")
    before = {p: p.read_bytes() for p in every_file(out)}
    again = run_provision(data_dir, out, "--all")
    assert again["issued"] == [] and again["kept"] == 3
    assert {p: p.read_bytes() for p in every_file(out)} == before


def test_rotation_and_revocation_rewrite_the_password_file(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "broker"
    first = run_provision(data_dir, out, "--all")
    old = {i["username"]: i["password"] for i in first["issued"]}
    rotated = run_provision(data_dir, out, "--rotate", A, "--revoke", B)
    [new] = rotated["issued"]
    assert rotated["revoked"] == [B]
    lines = dict(line.split(":", 1) for line in (out / "passwd").read_text().splitlines())
    assert set(lines) == {A, GW}
    assert verify_password(new["password"], lines[A])
    assert not verify_password(old[A], lines[A])
    assert verify_password(old[GW], lines[GW])


def invoke(*args: str) -> tuple[int, str, str]:
    _register_all()
    result = CliRunner().invoke(app, ["vehicles", "provision", *args])
    return result.exit_code, result.stdout, result.stderr


def test_errors_are_json_with_a_reason_and_change_nothing(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "broker"
    code, stdout, stderr = invoke(
        "--data-dir", str(data_dir), "--out", str(out), "--vin", "JHMZZ1A1XRV000099"
    )
    assert code == 1 and stdout == ""
    assert json.loads(stderr) == {
        "error": "NotFound",
        "message": "not registered: JHMZZ1A1XRV000099; add them with `volta vehicles add`",
    }
    assert not out.exists() and not (data_dir / "broker-credentials.json").exists()

    code, _, stderr = invoke("--data-dir", str(data_dir), "--out", str(out), "--rotate", A)
    assert code == 1 and "no broker credential" in json.loads(stderr)["message"]


def test_a_failed_reload_still_shows_the_new_secrets(data_dir: Path, tmp_path: Path) -> None:
    pid = os.getpid()
    while True:  # a pid that is not running
        pid += 1000
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        except PermissionError:
            continue
    args = ("--data-dir", str(data_dir), "--out", str(tmp_path / "b"), "--all")
    code, stdout, stderr = invoke(*args, "--reload-pid", str(pid))
    assert code == 1
    answer = json.loads(stdout)
    assert {i["username"] for i in answer["issued"]} == {A, B, GW}
    assert answer["reload"].startswith("not reloaded")
    assert f"no process {pid}" in json.loads(stderr)["message"]


def test_an_unknown_broker_account_is_refused(data_dir: Path, tmp_path: Path) -> None:
    code, _, stderr = invoke(
        "--data-dir", str(data_dir), "--out", str(tmp_path / "b"), "--broker-user", "no-such-x9"
    )
    assert code == 1 and "no account 'no-such-x9'" in json.loads(stderr)["message"]


def test_a_damaged_state_file_is_reported_not_overwritten(data_dir: Path, tmp_path: Path) -> None:
    state = data_dir / "broker-credentials.json"
    state.write_text('{"users": {"JHMZZ1A1XRV000001": 42}}')
    code, stdout, stderr = invoke("--data-dir", str(data_dir), "--out", str(tmp_path / "b"))
    assert code == 1 and stdout == ""
    assert "is damaged" in json.loads(stderr)["message"]
    assert state.read_text() == '{"users": {"JHMZZ1A1XRV000001": 42}}'
