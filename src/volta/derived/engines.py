"""Opening the derived store that the settings name: the SQLite file in the data dir
(embedded, the default) or PostgreSQL (`VOLTA_DERIVED=postgresql://…`, scale-out: the
processors and the API need no disk in common)."""

from __future__ import annotations

from urllib.parse import urlsplit

from volta.config import Settings
from volta.derived.store import DerivedStore, SQLiteDerivedStore
from volta.errors import ConfigError

__all__ = ["open_derived", "postgres_url"]


def postgres_url(url: str, setting: str) -> bool:
    """True for a postgresql:// URL, False for 'sqlite'; ConfigError (naming the setting and
    only the scheme: a URL may carry a password) for anything else."""
    if url == "sqlite":
        return False
    scheme = urlsplit(url).scheme or url.split(":", 1)[0]
    if scheme in ("postgresql", "postgres"):
        return True
    raise ConfigError(
        f"unsupported {setting} engine {scheme!r}: 'sqlite' or postgresql://user@host:port/db"
    )


def open_derived(settings: Settings) -> DerivedStore:
    """The derived store `settings.derived` names. ConfigError for an unknown engine."""
    if not postgres_url(settings.derived, "VOLTA_DERIVED"):
        return SQLiteDerivedStore.open(settings.data_dir)
    # Imported here: the embedded default never loads psycopg.
    from volta.derived.postgres import PostgresDerivedStore

    return PostgresDerivedStore(
        settings.derived, schema=settings.derived_schema, timeout=settings.store_timeout_s
    )
