"""`volta demo` as a new user meets it: options that work, one clear line when it cannot start."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections import Counter
from itertools import pairwise
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.sim.simrun import helsinki
from volta.api import create_app
from volta.cli import _register_all, app
from volta.config import Settings
from volta.demo import DEMO_ORGANISATION, DEMO_USER, RESEND_S, _last_heard_ms, _register_fleet, feed
from volta.demo_fleet import DemoFleet, open_fleet, plan
from volta.devservices import free_port
from volta.platform import Platform
from volta.registry.model import Role
from volta.sim.fleet import Fleet, local_offset_s
from volta.sim.truth import Truth


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


# 2026-12-02T00:30Z: 02:30 on a Wednesday night in Helsinki, when the real fleet would sleep
NIGHT_MS = 1_796_171_400_000


def test_at_night_the_demo_opens_on_a_fleet_going_about_its_day() -> None:
    graph = helsinki()
    demo_fleet = plan(NIGHT_MS, 50, 0, local_offset_s(graph))
    assert demo_fleet.start_ms + demo_fleet.showcase_s * 1000 == NIGHT_MS  # history ends now
    fleet = Fleet(demo_fleet.config(), graph)
    while fleet.t < demo_fleet.showcase_s:  # the history the demo sends at once
        fleet.step(demo_fleet.showcase_s)
    s = fleet.state
    assert fleet.start_ms + fleet.t * 1000 <= NIGHT_MS  # never a sample from the future
    dc = [s.sessions[v].dc for v in np.nonzero(s.charging)[0].tolist()]
    awake = s.driving | s.charging | (s.parked_since + fleet.config.awake_s > fleet.t)
    assert dc.count(False) >= 1 and dc.count(True) >= 1  # AC at home, DC at a fast charger
    assert int((~awake).sum()) >= 20  # and most of the fleet asleep
    with_codes = {tuple(c) for c in s.faults.dtcs if c}
    assert len(with_codes) >= 2  # a tyre and a 12 V battery trouble code at least
    driving = [int(s.driving.sum())]
    for minute in range(1, 6):  # the first minutes live
        until = demo_fleet.showcase_s + minute * 60
        while fleet.t < until:
            fleet.step(until)
        driving.append(int(s.driving.sum()))
    assert min(driving) >= 3 and max(driving) >= 5, driving
    truth = fleet.finish()
    assert len(truth.drives) >= 50  # the day so far: commutes, errands
    assert {c.dc for c in truth.charges} == {False, True}  # finished AC and DC sessions
    kmh = [d.distance_m / (d.end_ms - d.start_ms) * 3600 for d in truth.drives]
    assert max(d.distance_m for d in truth.drives) < 10_000 and max(kmh) < 50


def _start(
    data_dir: Path, now_ms: int, live_s: int = 0
) -> tuple[Platform, DemoFleet, bool, TestClient]:
    """`volta demo`'s start on `data_dir` at `now_ms`: its fleet's history sent at once, then
    `live_s` seconds in real time on a fake clock (the platform's clock follows it)."""
    graph = helsinki()
    demo_fleet, resumed = open_fleet(data_dir, now_ms, 12, None, local_offset_s(graph))
    waited = [0.0]  # seconds the run has slept since `now_ms`
    platform = Platform(
        Settings(data_dir=data_dir, mqtt=None), clock=lambda: now_ms + round(waited[0] * 1000)
    )
    platform.start()
    _register_fleet(platform, demo_fleet.config())
    send_from_ms = demo_fleet.start_ms
    if resumed:
        send_from_ms = _last_heard_ms(platform, demo_fleet.config()) - RESEND_S * 1000

    def sleep(seconds: float) -> None:
        waited[0] += seconds

    feed(
        platform,
        demo_fleet,
        seconds=(now_ms - demo_fleet.start_ms) // 1000 + live_s,
        now_ms=now_ms,
        send_from_ms=send_from_ms,
        sleep=sleep,
        clock=lambda: waited[0],
        graph=graph,
    )
    assert waited[0] <= live_s + 60  # the history went at once
    return platform, demo_fleet, resumed, TestClient(create_app(platform))


def test_two_starts_on_one_data_dir_give_one_fleet_and_one_history(tmp_path: Path) -> None:
    platform, first, resumed, client = _start(tmp_path, NIGHT_MS, live_s=240)
    assert not resumed
    op = {"Authorization": f"Bearer {platform.registry.issue_token(Role.OPERATOR).token}"}
    fleet_now = client.get("/v1/fleet/positions", headers=op).json()
    states = Counter(fleet_now["states"][k] for k in fleet_now["state"])
    assert states["driving"] >= 1 and states["charging"] >= 2 and states["asleep"] >= 3
    assert client.get("/v1/alerts", headers=op).json()["alerts"]
    assert platform.store.stats().quarantined == 0  # nothing dated in the future
    platform.stop()

    later = NIGHT_MS + 20 * 60_000
    platform, again, resumed, client = _start(tmp_path, later)
    assert resumed and again == first  # the same fleet, continued
    op = {"Authorization": f"Bearer {platform.registry.issue_token(Role.OPERATOR).token}"}
    drives: list[dict[str, Any]] = []
    charges: list[dict[str, Any]] = []
    for vin in sorted(fleet_now["vin"]):
        mine = client.get(f"/v1/vehicles/{vin}/drives", headers=op).json()["drives"]
        spans = sorted((d["start_ms"], d["end_ms"]) for d in mine)
        assert all(a[1] <= b[0] for a, b in pairwise(spans)), f"{vin}: overlapping drives"
        drives += mine
        charges += client.get(f"/v1/vehicles/{vin}/charges", headers=op).json()["charges"]
    # one history: the drives the fleet itself finished by then, each once
    truth = _truth_until(first, later)
    done = [d for d in drives if d["final"]]
    assert len(done) >= len([d for d in truth.drives if d.end_ms < later - 600_000])
    assert len(done) <= len(truth.drives)
    assert {c["dc"] for c in charges if c["final"]} == {False, True}
    assert platform.store.stats().quarantined == 0
    # the fleet's cases have a workshop to go to: one, however often the demo starts
    assert platform.service is not None
    (workshop,) = platform.service.bookings.workshops()
    assert workshop.organisation == DEMO_ORGANISATION
    assert platform.service.bookings.free(workshop, later, 1)
    organisations = {platform.registry.get_vehicle(v).organisation for v in fleet_now["vin"]}
    assert organisations == {DEMO_ORGANISATION}
    platform.stop()


def _truth_until(demo_fleet: DemoFleet, end_ms: int) -> Truth:
    fleet = Fleet(demo_fleet.config(), helsinki())
    until = (end_ms - fleet.start_ms) // 1000
    while fleet.t < until:
        fleet.step(until)
    return fleet.finish()
