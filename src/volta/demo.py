"""`volta demo`: the embedded platform, its API and a simulated fleet driving in real time."""

from __future__ import annotations

import errno
import logging
import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from volta.clock import wall_ms
from volta.geo.osm import default_osm_path

if TYPE_CHECKING:
    from volta.platform import Platform
    from volta.sim.fleet import FleetConfig

log = logging.getLogger(__name__)


class _Stopped(Exception):
    """Raised inside the simulator's sleep when the demo shuts down."""


def demo(
    vehicles: Annotated[int, typer.Option(help="simulated vehicles")] = 50,
    host: Annotated[str | None, typer.Option(help="default: VOLTA_HOST or 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="default: VOLTA_PORT or 8000")] = None,
    data_dir: Annotated[Path, typer.Option(help="where the demo keeps its data")] = Path(
        "volta-data/demo"
    ),
    days: Annotated[float, typer.Option(help="how long the fleet keeps driving")] = 7.0,
    seed: Annotated[int, typer.Option(help="same seed, same fleet")] = 0,
) -> None:
    """Start Volta with a simulated fleet of EVs on Helsinki's roads; prints the URL to open."""
    import uvicorn

    from volta import logs
    from volta.api import create_app
    from volta.config import Settings
    from volta.errors import VoltaError
    from volta.platform import Platform
    from volta.registry.model import Role
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
        platform = Platform(settings)
        tune_for_ingest()
        platform.start()
    except VoltaError as e:
        listener.close()
        typer.echo(f"volta demo: {e}", err=True)
        raise typer.Exit(1) from None
    fleet_config = _fleet_config(vehicles, seed)
    _register_fleet(platform, fleet_config)
    operator = platform.registry.issue_token(Role.OPERATOR)
    password = _demo_user(platform)

    stop = threading.Event()
    feeder = threading.Thread(
        target=_drive,
        args=(platform, fleet_config, round(days * 86_400), stop),
        name="volta-demo-fleet",
        daemon=True,
    )
    feeder.start()
    url = f"http://{host}:{port}"
    typer.echo(
        f"\nVolta demo: {vehicles} simulated vehicles driving in Helsinki.\n"
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


# The fleet starts this long before now; that first hour is sent at once so the charts and
# drives lists have something to show the moment the page opens.
HISTORY_S = 3600


def _fleet_config(vehicles: int, seed: int) -> FleetConfig:
    from volta.sim.fleet import FleetConfig

    start_ms = wall_ms() - HISTORY_S * 1000
    # A one-minute compute window: the fleet rounds its start down to a whole window, and a
    # short one keeps the simulated clock within a minute of the wall clock.
    return FleetConfig(vehicles=vehicles, seed=seed, start_ms=start_ms, window_s=60)


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


def _drive(
    platform: Platform,
    config: FleetConfig,
    seconds: int,
    stop: threading.Event,
) -> None:
    """Feed the fleet in real time: a faster clock would date samples in the future, which
    the gateway rightly refuses (`ts_in_future`), so the demo has no speed-up."""
    from volta.ingest.inproc import InProcessTransport
    from volta.sim.commands import InprocCommandLink
    from volta.sim.fleet import roster
    from volta.sim.run import catch_up_clock, run
    from volta.sim.senders import CallableSender

    def sleep(seconds: float) -> None:
        if stop.wait(seconds):
            raise _Stopped

    sender = CallableSender(deliver_many=InProcessTransport(platform.gateway).publish_many)
    try:
        fleet_start_ms = config.start_ms - config.start_ms % (config.window_s * 1000)
        behind_s = (wall_ms() - fleet_start_ms) / 1000
        run(
            config,
            seconds,
            sender,
            batch_s=1,  # a batch a second, so live values move while you watch
            speedup=1.0,
            clock=catch_up_clock(behind_s),
            sleep=sleep,
            first_seq=fleet_start_ms,  # ms: above any seq an earlier run reached (≤ 1 per s)
            # the cars take remote commands from the embedded platform, once a window
            commands=InprocCommandLink(platform.commands, [v for v, _ in roster(config)]),
        )
    except _Stopped:
        return
    except Exception:  # the demo's API stays up for inspection even if the fleet fails
        log.exception("demo fleet stopped")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
