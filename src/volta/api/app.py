"""The FastAPI application: every router, the error table, the platform in `app.state`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from volta import __version__
from volta.api import catalog, errors, health, history, quarantine, state, telemetry, vehicles
from volta.platform import Platform


def create_app(platform: Platform, *, run_platform: bool = False) -> FastAPI:
    """The HTTP + WebSocket API over a platform.

    With `run_platform` the app's lifespan starts the platform and stops it (flushing the
    gateway, closing the store) on shutdown: `volta serve` needs that, because uvicorn
    re-raises SIGTERM/SIGINT once it has shut down, so code after `uvicorn.run` never runs.
    Otherwise the caller starts and stops the platform."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if run_platform:
            platform.start()
        try:
            yield
        finally:
            if run_platform:
                platform.stop()

    app = FastAPI(
        title="Volta",
        version=__version__,
        summary="Open platform for connected EVs: ingestion, live state, history.",
        lifespan=lifespan,
    )
    app.state.platform = platform
    errors.install(app)
    for module in (vehicles, telemetry, state, history, catalog, quarantine, health):
        app.include_router(module.router)
    return app
