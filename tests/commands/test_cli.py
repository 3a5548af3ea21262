"""`volta simulate --commands`: the simulated cars take the commands waiting for them."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from volta.config import Settings
from volta.platform import Platform
from volta.sim.fleet import FleetConfig, roster
from volta.sim.fleet_cli import simulate


def test_simulate_inproc_serves_the_commands_waiting_in_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOLTA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VOLTA_MQTT", "")
    settings = Settings(data_dir=tmp_path, mqtt=None)
    vin = roster(FleetConfig(vehicles=2, seed=4))[1][0]
    before = Platform(settings)
    for v, model in roster(FleetConfig(vehicles=2, seed=4)):
        before.registry.add_vehicle(v, model)
    cmd = before.commands.issue(vin, "set_charge_limit", 70, ttl_s=600)
    before.stop()

    app = typer.Typer()
    app.command()(simulate)
    args = ["--vehicles", "2", "--seed", "4", "--days", "0.0125", "--to", "inproc", "--commands"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output

    after = Platform(settings)
    try:
        done = after.commands.get(vin, cmd.id)
        assert done.state == "succeeded", done
        sid = after.catalog.get("Vehicle.Powertrain.TractionBattery.Charging.ChargeLimit").id
        assert any(lv.signal_id == sid and lv.num == 70 for lv in after.store.latest(vin))
    finally:
        after.stop()


def test_commands_need_a_destination_that_can_carry_them(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command()(simulate)
    args = ["--vehicles", "1", "--days", "0.01", "--to", f"file:{tmp_path}", "--commands"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code != 0 and "--commands needs" in r.output
