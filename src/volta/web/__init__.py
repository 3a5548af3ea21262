"""The dashboard: static pages (plain ES modules, no build step) served by Volta itself."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
PREFIX = "/ui"


def install(app: FastAPI) -> None:
    """Serve the dashboard at /ui/ and send / there."""

    from volta.api.auth import PUBLIC_ROUTE

    @app.get("/", include_in_schema=False, dependencies=[PUBLIC_ROUTE])
    def root() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/")

    app.mount(PREFIX, StaticFiles(directory=STATIC_DIR, html=True), name="ui")
