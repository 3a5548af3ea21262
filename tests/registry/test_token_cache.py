"""API-token principals are cached per registry (the API authenticates every request), but a
revocation is seen at once: made by this registry, or by another process on the same files
(`volta token revoke` while `volta serve` runs)."""

from __future__ import annotations

import time

from volta.registry import Registry, Role

from .conftest import Opener

VIN = "JHMZZ1A1XRV000001"


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


def test_revocation_by_another_connection_is_seen_by_a_cached_principal(opener: Opener) -> None:
    server, cli = opener(_wall_ms), opener(_wall_ms)
    issued = server.issue_token(Role.OPERATOR)
    vehicle = server.add_vehicle(VIN).token
    for _ in range(2):  # the second answer comes from the cache
        principal = server.authenticate(issued.token)
        assert principal is not None and principal.role is Role.OPERATOR
        assert server.authenticate(vehicle.token) is not None
    cli.revoke(issued.principal.credential_id)
    assert server.authenticate(issued.token) is None
    assert server.authenticate(vehicle.token) is not None  # others still work
    cli.revoke(vehicle.principal.credential_id)
    assert server.authenticate(vehicle.token) is None


def test_revocation_in_the_same_registry_is_seen_at_once(registry: Registry) -> None:
    issued = registry.issue_token(Role.OPERATOR)
    assert registry.authenticate(issued.token) is not None
    registry.revoke(issued.principal.credential_id)
    assert registry.authenticate(issued.token) is None


def test_unknown_tokens_are_not_cached(registry: Registry) -> None:
    for i in range(50):
        assert registry.authenticate(f"ot_{'x' * 30}{i}") is None
    assert registry._token_principals == {}  # type: ignore[attr-defined]
