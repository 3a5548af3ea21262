"""`volta demo`: the embedded platform, its API and a simulated fleet driving in real time."""

from __future__ import annotations

import errno
import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from volta.clock import wall_ms
from volta.geo.osm import default_osm_path

if TYPE_CHECKING:
    from volta.demo_fleet import DemoFleet
    from volta.geo.graph import RoadGraph
    from volta.platform import Platform
    from volta.sim.fleet import FleetConfig
    from volta.sim.run import RunSummary
    from volta.sim.senders import Sender
    from volta.wire import Batch

log = logging.getLogger(__name__)


class _Stopped(Exception):
    """Raised inside the simulator's sleep when the demo shuts down."""


def demo(
    vehicles: Annotated[
        int | None, typer.Option(help="simulated vehicles (a new data dir: 50)")
    ] = None,
    host: Annotated[str | None, typer.Option(help="default: VOLTA_HOST or 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="default: VOLTA_PORT or 8000")] = None,
    data_dir: Annotated[Path, typer.Option(help="where the demo keeps its data")] = Path(
        "volta-data/demo"
    ),
    days: Annotated[float, typer.Option(help="how long the fleet keeps driving")] = 7.0,
    seed: Annotated[
        int | None, typer.Option(help="same seed, same fleet (a new data dir: 0)")
    ] = None,
) -> None:
    """Start Volta with a simulated fleet of EVs on Helsinki's roads; prints the URL to open."""
    import uvicorn

    from volta import logs
    from volta.api import create_app
    from volta.config import Settings
    from volta.demo_fleet import HISTORY_S, open_fleet
    from volta.errors import VoltaError
    from volta.geo.osm import load_roads
    from volta.platform import Platform
    from volta.registry.model import Role
    from volta.sim.fleet import local_offset_s
    from volta.tuning import tune_for_ingest

    logs.configure("warning")
    given: dict[str, Any] = {"host": host, "port": port}
    settings = Settings(data_dir=data_dir, **{k: v for k, v in given.items() if v is not None})
    if settings.roads is None:  # road sensing on the roads the simulated fleet drives
        settings = settings.model_copy(update={"roads": default_osm_path()})
    host, port = settings.host, settings.port
    # The port first: a busy one must not cost a started platform, nor print a password
    # for a server that is not ours. One clear line and exit 1 for either problem.
    listener = _listen(host, port)
    try:
        graph = load_roads(default_osm_path())
        now_ms = wall_ms()
        fleet, resumed = open_fleet(data_dir, now_ms, vehicles, seed, local_offset_s(graph))
        platform = Platform(settings)
        tune_for_ingest()
        platform.start()
    except VoltaError as e:
        listener.close()
        typer.echo(f"volta demo: {e}", err=True)
        raise typer.Exit(1) from None
    _register_fleet(platform, fleet.config())
    operator = platform.registry.issue_token(Role.OPERATOR)
    password = _demo_user(platform)
    # A continued fleet sends only what the store does not have yet (and no more than a
    # first start would): the same cars on the same days, never a second past.
    last_ms = _last_heard_ms(platform, fleet.config())
    if resumed:
        send_from_ms = max(last_ms - RESEND_S * 1000, now_ms - HISTORY_S * 1000, fleet.start_ms)
    else:  # a data dir from before fleet files: never under what it holds
        send_from_ms = max(last_ms + 1000, fleet.start_ms)

    stop = threading.Event()

    def drive() -> None:
        def sleep(seconds: float) -> None:
            if stop.wait(seconds):
                raise _Stopped

        try:
            feed(
                platform,
                fleet,
                seconds=(now_ms - fleet.start_ms) // 1000 + round(days * 86_400),
                now_ms=now_ms,
                send_from_ms=send_from_ms,
                sleep=sleep,
                graph=graph,
            )
        except _Stopped:
            return
        except Exception:  # the demo's API stays up for inspection even if the fleet fails
            log.exception("demo fleet stopped")

    feeder = threading.Thread(target=drive, name="volta-demo-fleet", daemon=True)
    feeder.start()
    url = f"http://{host}:{port}"
    catching_up_h = (now_ms - send_from_ms) / 3.6e6
    typer.echo(
        f"\nVolta demo: {fleet.vehicles} simulated vehicles driving in Helsinki"
        f" ({'continued' if resumed else 'new'} fleet; its last {catching_up_h:.1f} h"
        f" load in the first minutes).\n"
        f"  open        {url}/\n"
        f"  API docs    {url}/docs\n"
        f"  sign in as  {DEMO_USER} / {password}  (an operator; new password on every start)\n"
        f"  or with the operator token (new on every start, shown only here):\n"
        f"              {operator.token}\n"
        f"  data        {data_dir.resolve()}\n"
        f"Ctrl-C stops it.\n"
    )
    app = create_app(platform, run_platform=True)
    original_stop = platform.stop

    def stop_fleet_then_platform() -> None:
        # The fleet must stop publishing before the gateway flushes and the store closes.
        stop.set()
        feeder.join(timeout=5)
        original_stop()

    platform.stop = stop_fleet_then_platform  # type: ignore[method-assign]
    config = uvicorn.Config(app, log_config=None, access_log=False)
    uvicorn.Server(config).run(sockets=[listener])


def _listen(host: str, port: int) -> socket.socket:
    """The demo's listening socket, bound before anything starts; a busy port exits 1."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: TIME_WAIT is fine
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as e:
        sock.close()
        why = "is in use (another volta demo or server?)" if e.errno == errno.EADDRINUSE else e
        typer.echo(
            f"volta demo: cannot listen on {host}:{port}: {why}; pick another port with"
            f" --port N or VOLTA_PORT=N",
            err=True,
        )
        raise typer.Exit(1) from None
    sock.set_inheritable(True)
    return sock


DEMO_USER = "demo"


def _demo_user(platform: Platform) -> str:
    """A demo operator user with a new random password (returned, printed once)."""
    import secrets

    from volta.errors import NotFound
    from volta.registry.model import Role

    password = secrets.token_urlsafe(12)
    try:
        platform.registry.get_user(DEMO_USER)
    except NotFound:
        platform.registry.add_user(DEMO_USER, Role.OPERATOR, password)
    else:
        platform.registry.set_password(DEMO_USER, password)
    return password


# On a restart, the last this long of what the store already holds is sent again (its
# batches are recognised and dropped) so that nothing the first run had not sent is missed.
RESEND_S = 600


# The demo fleet's service organisation and its workshop, so that cases opened from the
# fleet's alerts have technicians to go to and slots to book (a new data dir gets them once).
DEMO_ORGANISATION = "volta-service"
DEMO_WORKSHOP = "Volta Service Helsinki"
_DEMO_HOURS = {d: [["08:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat")}


def _register_fleet(platform: Platform, config: FleetConfig) -> None:
    from volta.sim.fleet import roster
    from volta.sim.labels import fleet_labels

    cars = roster(config)
    for (vin, model), label in zip(cars, fleet_labels(cars), strict=True):
        if not platform.registry.has_vehicle(vin):
            platform.registry.add_vehicle(
                vin, model, name=label.name, plate=label.plate, group=label.group
            )
        elif platform.registry.get_vehicle(vin).name is None:  # a data dir from before names
            names = {"name": label.name, "plate": label.plate, "group": label.group}
            platform.registry.update_vehicle(vin, names)
        if platform.registry.get_vehicle(vin).organisation is None:
            platform.registry.set_organisation(vin, DEMO_ORGANISATION)
    desk = platform.service
    if desk is not None and not desk.bookings.workshops(frozenset({DEMO_ORGANISATION})):
        desk.add_workshop(DEMO_WORKSHOP, DEMO_ORGANISATION, 3, 60, "Europe/Helsinki", _DEMO_HOURS)


def _last_heard_ms(platform: Platform, config: FleetConfig) -> int:
    """The newest sample time the platform holds from the fleet (0: none)."""
    from volta.sim.fleet import roster

    newest = 0
    for vin, _ in roster(config):
        values = platform.twin.get(vin)
        if values:
            newest = max(newest, max(v.ts_ms for v in values.values()))
    return newest


class _DemoSender:
    """The demo fleet's sender: drops batches before `from_ms` (a continued fleet's earlier
    ones are already stored) and, while the fleet catches up with `live_ms`, hands the
    history on in large groups: the store's cost is mostly per transaction (measured: 10 h of
    50 cars in one transaction a minute of history took 35 s of CPU, see docs/simulator.md)."""

    def __init__(self, sender: Sender, from_ms: int, live_ms: int) -> None:
        self.sender = sender
        self.from_ms = from_ms
        self.live_ms = live_ms
        self.held: list[Batch] = []

    def send(self, batches: Sequence[Batch]) -> None:
        self.held.extend(b for b in batches if b.ts >= self.from_ms)
        if len(self.held) >= HISTORY_GROUP or (batches and batches[-1].ts >= self.live_ms):
            self.flush()

    def flush(self) -> None:
        if self.held:
            self.sender.send(self.held)
            self.held = []

    def close(self) -> None:
        self.flush()
        self.sender.close()


# Batches of history handed to the gateway at once (about an hour of 50 cars' history).
HISTORY_GROUP = 5000


def feed(
    platform: Platform,
    fleet: DemoFleet,
    *,
    seconds: int,
    now_ms: int,
    send_from_ms: int,
    sleep: Callable[[float], None],
    clock: Callable[[], float] = time.monotonic,
    graph: RoadGraph | None = None,
) -> RunSummary:
    """Drive the demo fleet into the platform from its start for `seconds`: what lies before
    `now_ms` (its history) at once, then in real time, a batch a second. Batches before
    `send_from_ms` are simulated, not sent. A faster clock would date samples in the future,
    which the gateway rightly refuses (`ts_in_future`), so the demo has no speed-up."""
    from volta.ingest.inproc import InProcessTransport
    from volta.sim.commands import InprocCommandLink
    from volta.sim.fleet import roster
    from volta.sim.run import catch_up_clock, run
    from volta.sim.senders import CallableSender

    config = fleet.config()
    sender = CallableSender(deliver_many=InProcessTransport(platform.gateway).publish_many)
    summary, _ = run(
        config,
        seconds,
        # the last two minutes of history go as they come, like the live batches after them
        _DemoSender(sender, send_from_ms, now_ms - 120_000),
        batch_s=1,  # a batch a second, so live values move while you watch
        speedup=1.0,
        graph=graph,
        clock=catch_up_clock((now_ms - fleet.start_ms) / 1000, clock),
        sleep=sleep,
        # ms: every start of the fleet numbers its batches alike (a resent one is recognised),
        # above any seq of a fleet that started earlier (≤ 1 per s)
        first_seq=fleet.start_ms,
        # the cars take remote commands from the embedded platform, once a window
        commands=InprocCommandLink(platform.commands, [v for v, _ in roster(config)]),
    )
    return summary


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
