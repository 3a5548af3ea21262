"""`volta serve`: the platform with its HTTP API (and MQTT transport when a broker is given)."""

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
    log_level: Annotated[str, typer.Option(help="debug, info, warning")] = "info",
) -> None:
    """Run the platform: ingest (HTTP, and MQTT with --mqtt), API, WebSocket live state."""
    import uvicorn

    from volta import logs
    from volta.api import create_app
    from volta.config import Settings
    from volta.platform import Platform

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
    platform = Platform(settings)
    # The app's lifespan starts the platform and, on SIGTERM/SIGINT, stops it cleanly.
    uvicorn.run(
        create_app(platform, run_platform=True),
        host=settings.host,
        port=settings.port,
        log_config=None,  # keep our JSON log handler
        access_log=False,  # would log every request line; structured logs come from our code
    )


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
