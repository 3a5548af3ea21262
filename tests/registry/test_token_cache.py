"""API-token principals are cached per registry (the API authenticates every request), but a
revocation is seen at once: made by this registry, or by another process on the same files
(`volta token revoke` while `volta serve` runs)."""

from __future__ import annotations

from pathlib import Path

from volta.registry import Role, SQLiteRegistry

VIN = "JHMZZ1A1XRV000001"


def test_revocation_by_another_connection_is_seen_by_a_cached_principal(tmp_path: Path) -> None:
    server = SQLiteRegistry.open(tmp_path)
    cli = SQLiteRegistry.open(tmp_path)
    try:
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
    finally:
        server.close()
        cli.close()


def test_revocation_in_the_same_registry_is_seen_at_once(tmp_path: Path) -> None:
    registry = SQLiteRegistry.open(tmp_path)
    try:
        issued = registry.issue_token(Role.OPERATOR)
        assert registry.authenticate(issued.token) is not None
        registry.revoke(issued.principal.credential_id)
        assert registry.authenticate(issued.token) is None
    finally:
        registry.close()


def test_unknown_tokens_are_not_cached(tmp_path: Path) -> None:
    registry = SQLiteRegistry.open(tmp_path)
    try:
        for i in range(50):
            assert registry.authenticate(f"ot_{'x' * 30}{i}") is None
        assert registry._token_principals == {}
    finally:
        registry.close()
