"""`volta serve`: the platform with its HTTP API (and MQTT transport when a broker is given);
with `--workers N`, N gateway worker processes take the broker's telemetry, one processors
process runs the driver services, and this process runs the API; with `--api-only`, this
process is such an API and nothing else (the workers and the processors run elsewhere)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer


def serve(
    host: Annotated[str | None, typer.Option(help="default: VOLTA_HOST or 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="default: VOLTA_PORT or 8000")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="default: ./volta-data")] = None,
    mqtt: Annotated[
        str | None, typer.Option(help="broker URL, e.g. mqtt://127.0.0.1:1883; default: off")
    ] = None,
    mqtt_prefix: Annotated[str | None, typer.Option(help="topic root, default volta/v1")] = None,
    mqtt_client_id: Annotated[str | None, typer.Option(help="persistent session id")] = None,
    workers: Annotated[
        int,
        typer.Option(
            help="gateway worker processes sharing the cars' telemetry shards (needs "
            "PostgreSQL, NATS and a broker); 0: one process does everything",
            min=0,
        ),
    ] = 0,
    api_only: Annotated[
        bool,
        typer.Option(
            "--api-only",
            help="scale-out across machines: only the API (and HTTP ingest) here; gateway "
            "workers (`volta gateway`) and the processors (`volta processors`) run elsewhere",
        ),
    ] = False,
    log_level: Annotated[str, typer.Option(help="debug, info, warning")] = "info",
) -> None:
    """Run the platform: ingest (HTTP, and MQTT with --mqtt), API, WebSocket live state."""
    import uvicorn

    from volta import logs
    from volta.api import create_app
    from volta.config import Settings
    from volta.platform import Platform
    from volta.supervisor import scale_out_supervisor
    from volta.tuning import tune_for_ingest
    from volta.workers import (
        check_api_only,
        check_scale_out,
        claim_worker_shards,
        warn_if_disk_shared,
    )

    logs.configure(log_level)
    given: dict[str, Any] = {
        "host": host,
        "port": port,
        "data_dir": data_dir,
        "mqtt": mqtt,
        "mqtt_topic_prefix": mqtt_prefix,
        "mqtt_client_id": mqtt_client_id,
    }
    settings = Settings(**{k: v for k, v in given.items() if v is not None})
    if api_only:
        check_api_only(settings, workers)  # a ConfigError: `volta` prints why, exits 2
        warn_if_disk_shared(settings, "api")
        platform = Platform(settings.model_copy(update={"mqtt": None}), follow_workers=True)
        app = create_app(platform, run_platform=True)
    elif not workers:
        platform = Platform(settings)
        app = create_app(platform, run_platform=True)
    else:
        check_scale_out(settings, workers)  # a ConfigError: `volta` prints why, exits 2
        claim_worker_shards(settings, workers)
        # This process: API and HTTP ingest; the broker is the workers' alone, the driver
        # services run in the processors process.
        platform = Platform(settings.model_copy(update={"mqtt": None}), follow_workers=True)
        app = create_app(platform, run_platform=True)
        supervised(app, scale_out_supervisor(workers, settings))
    tune_for_ingest()  # everything this process keeps is built: tune it before serving
    # The app's lifespan starts the platform and, on SIGTERM/SIGINT, stops it cleanly.
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,  # keep our JSON log handler
        access_log=False,  # would log every request line; structured logs come from our code
    )


def supervised(app: Any, supervisor: Any) -> None:
    """Run `supervisor`'s workers for as long as the app's lifespan: uvicorn re-raises the
    stopping signal after shutdown, so code after `uvicorn.run` would never stop them."""
    from contextlib import asynccontextmanager

    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Any) -> Any:
        supervisor.start()
        try:
            async with inner(a) as state:
                yield state
        finally:
            supervisor.stop()

    app.router.lifespan_context = lifespan


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
