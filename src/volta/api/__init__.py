"""HTTP + WebSocket API (FastAPI, OpenAPI at /docs): one router module per concept."""

from volta.api.app import create_app

__all__ = ["create_app"]
