"""The PostgreSQL registry's pool checks a connection only when it has been idle: a
connection that answered within the last second is used as it is (one round trip saved per
use on a busy API); one the server dropped is replaced, costing at most one refused call."""

from __future__ import annotations

import secrets
import time

import psycopg

from volta.errors import Unavailable
from volta.registry import Role
from volta.registry.postgres import RECENT_S, PostgresRegistry

from .conftest import REGISTRY_RUN


def _kill_backends(url: str, reg: PostgresRegistry) -> None:
    """Terminate the registry's server connections (those of its pool; in these one-at-a-time
    calls the pool holds one), as a server restart would."""
    with reg.database.connection() as c:
        row = c.one("SELECT pg_backend_pid()")
    assert row is not None
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (row[0],))


def test_connections_the_server_dropped_are_replaced() -> None:
    url, schema = REGISTRY_RUN.ensure(), REGISTRY_RUN.new_schema()
    reg = PostgresRegistry(url, secrets.token_bytes(32), schema=schema)
    try:
        token = reg.issue_token(Role.OPERATOR).token
        assert reg.authenticate(token) is not None
        _kill_backends(url, reg)
        time.sleep(RECENT_S)  # idle: checked on the way out of the pool, replaced
        assert reg.authenticate(token) is not None
        reg.authenticate(token)
        _kill_backends(url, reg)  # just used: taken unchecked, the call is refused once
        outcomes = []
        for _ in range(3):
            try:
                outcomes.append(reg.authenticate(token) is not None)
            except Unavailable:
                outcomes.append(False)
        # (the termination is a signal to the backend: it may land a call late)
        assert outcomes.count(False) <= 1 and outcomes[-1], outcomes
    finally:
        reg.close()
