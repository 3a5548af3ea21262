"""`volta demo` as a new user meets it: options that work, one clear line when it cannot start."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import duckdb
import typer
from typer.testing import CliRunner

from volta.cli import _register_all, app
from volta.config import Settings
from volta.demo import DEMO_USER
from volta.devservices import free_port


def _demo_options() -> set[str]:
    _register_all()
    group = typer.main.get_command(app)
    demo = group.commands["demo"]  # type: ignore[attr-defined]
    return {opt for p in demo.params for opt in p.opts}


def test_demo_has_no_speedup_that_would_date_samples_in_the_future() -> None:
    # A faster clock sends samples from the future, which the gateway refuses (ts_in_future).
    assert "--speedup" not in _demo_options()
    result = CliRunner().invoke(app, ["demo", "--speedup", "60"])
    assert result.exit_code == 2 and "No such option" in result.output


def _demo(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`volta demo` as a user starts it, in a process of its own (it must exit by itself)."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "volta"), "demo", "--data-dir", str(tmp_path), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        cwd=tmp_path,
    )


def test_a_busy_port_named_by_volta_port_is_one_line_and_no_password(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _demo(tmp_path, VOLTA_PORT=str(port))
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert f"127.0.0.1:{port}" in line and "in use" in line and "VOLTA_PORT" in line
    assert "sign in" not in done.stdout and DEMO_USER not in done.stdout  # no password printed


def test_a_second_demo_on_the_same_data_is_one_line(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    holder = duckdb.connect(str(settings.duckdb_path))  # as a running demo holds it
    try:
        done = _demo(tmp_path, "--port", str(free_port()))
    finally:
        holder.close()
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert f"in use by another process (PID {os.getpid()}" in line
    assert "Traceback" not in done.stderr and "sign in" not in done.stdout
