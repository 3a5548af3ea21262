"""Opening the registry that the settings name: the SQLite file in the data dir (embedded,
the default) or PostgreSQL (`VOLTA_REGISTRY=postgresql://…`, scale-out: no process needs
another's disk)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from volta.clock import Clock, wall_ms
from volta.config import Settings
from volta.errors import ConfigError
from volta.registry import sessions
from volta.registry.sql import SqlRegistry
from volta.registry.sqlite import SQLiteRegistry, load_key

KEY_HEX_DIGITS = 64


def is_postgres(url: str) -> bool:
    return urlsplit(url).scheme in ("postgresql", "postgres")


def open_registry(settings: Settings, clock: Clock = wall_ms) -> SqlRegistry:
    """The registry `settings.registry` names. ConfigError for an unknown engine or a key
    that is not 64 hex digits."""
    if settings.registry == "sqlite":
        return SQLiteRegistry.open(settings.data_dir, clock)
    if not is_postgres(settings.registry):
        scheme = urlsplit(settings.registry).scheme or settings.registry.split(":", 1)[0]
        raise ConfigError(
            f"unsupported registry engine {scheme!r}: 'sqlite' or postgresql://user@host:port/db"
        )
    # Imported here: the embedded default never loads psycopg.
    from volta.registry.postgres import PostgresRegistry

    key, signing_key = registry_keys(settings)
    return PostgresRegistry(
        settings.registry, key, signing_key=signing_key, schema=settings.registry_schema,
        clock=clock, timeout=settings.store_timeout_s,
    )  # fmt: skip


def registry_keys(settings: Settings) -> tuple[bytes, bytes]:
    """The tokens' HMAC key and the sessions' signing key: from the settings, else the key
    files of the data dir (made on first use)."""
    data_dir: Path = settings.data_dir
    key = _hex_key("VOLTA_REGISTRY_KEY", settings.registry_key)
    signing = _hex_key("VOLTA_SESSION_KEY", settings.session_key)
    if key is None or signing is None:
        data_dir.mkdir(parents=True, exist_ok=True)
    return (
        key if key is not None else load_key(data_dir),
        signing if signing is not None else sessions.load_signing_key(data_dir),
    )


def _hex_key(name: str, value: str | None) -> bytes | None:
    if value is None:
        return None
    text = value.strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) * 2 != KEY_HEX_DIGITS:
        raise ConfigError(
            f"{name} must be {KEY_HEX_DIGITS} hex digits (e.g. `openssl rand -hex 32`)"
        )
    return key
