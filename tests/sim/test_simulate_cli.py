"""`volta simulate` as a new user runs it: short runs work, refusals are reported and fail."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer
from typer.testing import CliRunner, Result

from volta.clock import wall_ms
from volta.sim.fleet_cli import simulate as simulate_cmd


def _invoke(*args: str) -> Result:
    app = typer.Typer()
    app.command()(simulate_cmd)
    return CliRunner().invoke(app, list(args))


def _an_hour_ago() -> str:
    return datetime.fromtimestamp((wall_ms() - 3600_000) / 1000, UTC).isoformat(timespec="seconds")


def test_a_run_shorter_than_a_window_ends_on_whole_batches(tmp_path: Path) -> None:
    r = _invoke("--vehicles", "3", "--days", "0.01", "--to", f"file:{tmp_path}", "--fmt", "json")
    assert r.exit_code == 0, r.output
    assert "0.01 days" in r.output


def test_a_run_of_no_time_is_a_usage_error(tmp_path: Path) -> None:
    r = _invoke("--days", "0", "--to", f"file:{tmp_path}")
    assert r.exit_code == 2 and "--days must be > 0" in r.output


def test_batches_the_server_refuses_are_reported_and_fail_the_run(tmp_path: Path) -> None:
    from tests.web.server import Server

    server = Server(tmp_path / "data")  # the simulated vehicles are not registered there
    try:
        r = _invoke(
            "--vehicles", "2", "--days", "0.01", "--start", _an_hour_ago(), "--to", server.url
        )
        stored = server.platform.store.stats().batches
    finally:
        server.close()
    assert r.exit_code == 1, r.output
    assert stored == 0
    assert "error: the server refused" in r.output  # stderr and stdout
    assert "--tokens" in r.output
