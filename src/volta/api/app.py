"""The FastAPI application: every router, the error table, the platform in `app.state`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from volta import __version__, web
from volta.api import alerts as alerts_routes
from volta.api import (
    audit,
    auth,
    catalog,
    docs,
    errors,
    health,
    history,
    quarantine,
    redact,
    state,
    telemetry,
    tokens,
    users,
    vehicles,
)
from volta.api import fleet as fleet_routes
from volta.api import map as map_routes
from volta.battery import api as battery_routes
from volta.charging import api as charging_routes
from volta.commands import api as commands_routes
from volta.diagnostics import api as diagnostics_routes
from volta.drives import api as drives_routes
from volta.hazards import api as hazard_routes
from volta.ota import api as ota_routes
from volta.ota import campaign_api
from volta.places import api as places_routes
from volta.planner import api as trip_routes
from volta.platform import Platform
from volta.service import access as service_access
from volta.service import api_appointments, api_cases, api_notify, api_recalls, api_workshops
from volta.stats import api as stats_routes
from volta.timeline import api as timeline_routes


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
        docs_url=None,  # served by `docs.install` from local assets
        redoc_url=None,
    )
    app.state.platform = platform
    app.state.road_sensing = platform.road_sensing
    errors.install(app)
    for module in (vehicles, telemetry, state, history, catalog, quarantine, health):
        app.include_router(module.router)
    services = (drives_routes, charging_routes, battery_routes, stats_routes, timeline_routes)
    for service in services:
        app.include_router(service.router)
    app.include_router(fleet_routes.router)
    app.include_router(alerts_routes.router)
    app.include_router(places_routes.router)
    app.include_router(map_routes.router)
    app.include_router(commands_routes.router)
    app.include_router(hazard_routes.router)
    app.include_router(trip_routes.router)
    app.include_router(trip_routes.models_router)
    app.include_router(ota_routes.router)
    app.include_router(campaign_api.router)
    app.include_router(campaign_api.vehicle_router)
    for service_routes in (api_cases, api_appointments, api_workshops, api_recalls, api_notify):
        app.include_router(service_routes.router)
    service_access.install(app)
    app.include_router(diagnostics_routes.router)
    for module in (users, tokens, audit):
        app.include_router(module.router)
    web.install(app)
    docs.install(app)
    # After every router: the limits, and each route's declared policy in the OpenAPI document.
    auth.install(app, platform)
    app.add_middleware(audit.AuditMiddleware)
    redact.install()
    return app
