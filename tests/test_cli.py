"""The `volta` command line as a user meets it when something is wrong."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from volta.cli import _register_all, app


def test_a_configuration_error_is_one_line_naming_the_command_and_exits_2(tmp_path: Path) -> None:
    _register_all()
    result = CliRunner().invoke(
        app, ["serve", "--data-dir", str(tmp_path)], env={"VOLTA_BUS": "kafka://k:9092"}
    )
    assert result.exit_code == 2
    assert result.stderr == (
        "volta serve: unsupported bus engine 'kafka': supported engines are 'memory', 'nats' "
        "(nats://host:4222)\n"
    )


def test_a_server_that_is_down_is_one_line_and_exits_1(tmp_path: Path) -> None:
    _register_all()
    result = CliRunner().invoke(
        app, ["serve", "--data-dir", str(tmp_path)], env={"VOLTA_BUS": "nats://127.0.0.1:1"}
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("volta serve: NATS at 127.0.0.1:1 is unavailable: ")
    assert result.stderr.count("\n") == 1
