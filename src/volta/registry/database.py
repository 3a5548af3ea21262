"""What the registry's role classes need from an SQL engine, and the state they share.

The SQL is written once, with `?` placeholders and syntax both engines speak (`ON CONFLICT DO
NOTHING`, `RETURNING`); `volta.registry.sqlite` and `volta.registry.postgres` adapt their
connections to `Database`. A write that a unique or foreign key refuses raises `Taken`, which
the role code turns into the answer the caller gets (usually `Conflict`).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from volta.clock import Clock
from volta.errors import Conflict
from volta.registry.model import Principal, token_digest

Row = tuple[Any, ...]


class Taken(Conflict):
    """A unique or foreign key refused the write."""


class Statements(Protocol):
    """Statements on one connection (inside a transaction, or each its own)."""

    def rows(self, sql: str, args: Sequence[object] = ()) -> list[Row]: ...

    def one(self, sql: str, args: Sequence[object] = ()) -> Row | None: ...

    def execute(self, sql: str, args: Sequence[object] = ()) -> int:
        """Run a write; the number of rows it changed. `Taken` when a key refuses it."""
        ...


class Database(Protocol):
    """An engine: statements one at a time, or in a transaction (committed on a normal exit,
    rolled back on an exception)."""

    def connection(self) -> AbstractContextManager[Statements]: ...

    def transaction(self) -> AbstractContextManager[Statements]: ...

    def close(self) -> None: ...


# Every change that can alter what a principal sees bumps this, in the change's transaction;
# a principal cached in any process is used only while the generation it was read at holds.
BUMP = "UPDATE generation SET n = n + 1"
GENERATION = "SELECT n FROM generation"


class Core:
    """The state every role shares: the engine, the clock, the keys and the caches."""

    def __init__(
        self,
        db: Database,
        key: bytes,
        clock: Clock,
        signing_key: bytes | None = None,
    ) -> None:
        self._db = db
        self._key = key
        # Without a key of its own (in-memory registries), sessions are signed with a key
        # derived from the HMAC key, never with the HMAC key itself.
        self._signing_key = signing_key or token_digest(key, "volta-jwt").encode()
        self._clock = clock
        # Vehicles are never deleted, so a positive `has_vehicle` is cached: the gateway asks
        # it for every batch.
        self._known_vins: set[str] = set()
        # Every registered VIN with the generation it was read at (the fleet page's list).
        self._vins: tuple[int | None, list[str]] = (None, [])
        # Principals by user id (sessions) and by token digest (API tokens, never the token),
        # each with the generation it was read at. Saves the look-ups of every API request.
        self._principals: dict[str, tuple[int, Principal]] = {}
        self._token_principals: dict[str, tuple[int, Principal]] = {}

    @property
    def database(self) -> Database:
        """The engine under the roles."""
        return self._db

    def close(self) -> None:
        self._db.close()
