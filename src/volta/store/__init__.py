"""Telemetry storage: one interface (`base.TelemetryStore`), one engine per way of running."""

from __future__ import annotations

from urllib.parse import urlsplit

from volta.config import Settings
from volta.errors import ConfigError
from volta.store.base import TelemetryStore
from volta.store.duckdb_store import DuckDBStore

SUPPORTED_ENGINES = ("duckdb", "postgresql")

__all__ = ["SUPPORTED_ENGINES", "DuckDBStore", "TelemetryStore", "open_store"]


def open_store(settings: Settings) -> TelemetryStore:
    """Open the store that `settings.store` names; the embedded DuckDB file by default."""
    if settings.store == "duckdb":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return DuckDBStore(settings.duckdb_path)
    # Only the scheme is echoed: a store URL may carry a password.
    scheme = urlsplit(settings.store).scheme or settings.store.split(":", 1)[0]
    if scheme in ("postgresql", "postgres"):
        # Imported here: the embedded default never loads psycopg.
        from volta.store.postgres_store import PostgresStore

        return PostgresStore(settings.store, timeout=settings.store_timeout_s)
    raise ConfigError(
        f"unsupported store engine {scheme!r}: supported engines are "
        f"{', '.join(repr(e) for e in SUPPORTED_ENGINES)} (postgresql://user@host:port/db)"
    )
