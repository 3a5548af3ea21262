"""Planning a provisioning run: repeatable, rotation, revocation, refusals that change nothing."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import msgspec
import pytest

from volta.broker.passwords import hash_password, verify_password
from volta.broker.state import (
    CredentialState,
    Plan,
    ProvisionRequest,
    UserRole,
    plan,
)
from volta.errors import ConfigError, NotFound

A = "JHMZZ1A1XRV000001"
B = "JHMZZ1A1XRV000002"
C = "JHMZZ1A1XRV000003"
GW = "volta-gateway"
T0 = 1_764_201_600_000


class Fleet:
    """A stand-in for the registry's two read calls, and a predictable secret generator."""

    def __init__(self, vins: Iterable[str]) -> None:
        self.vins = sorted(vins)
        self._counter = itertools.count(1)

    def run(self, state: CredentialState, request: ProvisionRequest, now_ms: int = T0) -> Plan:
        return plan(
            state,
            request,
            is_registered=lambda vin: vin in self.vins,
            registered_vins=lambda: iter(self.vins),
            new_secret=lambda: f"secret-{next(self._counter)}",
            hasher=lambda s: hash_password(s, b"0123456789ab"),
            now_ms=now_ms,
        )


def secrets_of(p: Plan) -> dict[str, str]:
    return {s.username: s.password for s in p.issued}


def test_first_run_issues_every_vehicle_and_the_gateway_once() -> None:
    fleet = Fleet([A, B])
    first = fleet.run(CredentialState(), ProvisionRequest(all_registered=True))
    assert {s.username: s.role for s in first.issued} == {
        A: UserRole.VEHICLE,
        B: UserRole.VEHICLE,
        GW: UserRole.GATEWAY,
    }
    issued = secrets_of(first)
    for name, user in first.state.users.items():
        assert verify_password(issued[name], user.password_hash)
        assert (user.created_ms, user.rotated_ms) == (T0, None)

    again = fleet.run(first.state, ProvisionRequest(all_registered=True, vins=(A,)))
    assert again.issued == [] and again.revoked == []
    assert again.kept == sorted([A, B, GW])
    assert again.state == first.state


def test_a_newly_registered_vehicle_gets_a_secret_and_the_others_keep_theirs() -> None:
    fleet = Fleet([A])
    first = fleet.run(CredentialState(), ProvisionRequest(all_registered=True))
    fleet.vins.append(C)
    second = fleet.run(first.state, ProvisionRequest(all_registered=True))
    assert [s.username for s in second.issued] == [C]
    assert second.state.users[A] == first.state.users[A]


def test_rotation_replaces_the_secret_and_keeps_the_creation_time() -> None:
    fleet = Fleet([A, B])
    first = fleet.run(CredentialState(), ProvisionRequest(vins=(A, B)))
    rotated = fleet.run(first.state, ProvisionRequest(rotate=(A,)), now_ms=T0 + 1000)
    [new] = rotated.issued
    assert (new.username, new.replaced) == (A, True)
    user = rotated.state.users[A]
    assert (user.created_ms, user.rotated_ms) == (T0, T0 + 1000)
    assert verify_password(new.password, user.password_hash)
    assert not verify_password(secrets_of(first)[A], user.password_hash)
    assert rotated.state.users[B] == first.state.users[B]


def test_a_revoked_vehicle_stays_revoked_until_named_again() -> None:
    fleet = Fleet([A, B])
    first = fleet.run(CredentialState(), ProvisionRequest(all_registered=True))
    revoked = fleet.run(first.state, ProvisionRequest(revoke=(A,)), now_ms=T0 + 5)
    assert revoked.revoked == [A] and revoked.issued == []
    assert A not in revoked.state.users and revoked.state.revoked == {A: T0 + 5}

    # `--all` and revoking twice leave it revoked.
    later = fleet.run(revoked.state, ProvisionRequest(all_registered=True, revoke=(A,)))
    assert later.issued == [] and later.revoked == []
    assert A not in later.state.users

    # Naming it explicitly issues a fresh secret.
    back = fleet.run(later.state, ProvisionRequest(vins=(A,)))
    assert [(s.username, s.replaced) for s in back.issued] == [(A, True)]
    assert A in back.state.users and A not in back.state.revoked


def test_a_revoked_gateway_is_not_reissued_silently_but_rotation_brings_it_back() -> None:
    fleet = Fleet([A])
    first = fleet.run(CredentialState(), ProvisionRequest())
    revoked = fleet.run(first.state, ProvisionRequest(revoke=(GW,)))
    assert fleet.run(revoked.state, ProvisionRequest()).issued == []
    back = fleet.run(revoked.state, ProvisionRequest(rotate=(GW,)))
    assert [(s.username, s.role) for s in back.issued] == [(GW, UserRole.GATEWAY)]


def test_unregistered_vehicles_are_refused_and_nothing_changes() -> None:
    fleet = Fleet([A])
    first = fleet.run(CredentialState(), ProvisionRequest(vins=(A,)))
    with pytest.raises(NotFound, match=f"not registered: {B}, {C}.*volta vehicles add"):
        fleet.run(first.state, ProvisionRequest(vins=(B, C), revoke=(A,)))
    assert A in first.state.users  # the state given in is never modified


@pytest.mark.parametrize(
    ("request_", "error", "reason"),
    [
        (ProvisionRequest(vins=("NOT-A-VIN",)), ConfigError, "17 characters"),
        (ProvisionRequest(rotate=(B,)), NotFound, f"no broker credential for {B}"),
        (ProvisionRequest(revoke=(C,)), NotFound, f"no broker credential for {C}"),
        (ProvisionRequest(rotate=(A,), revoke=(A,)), ConfigError, "both revoked and issued"),
        (ProvisionRequest(revoke=("x:y",)), ConfigError, "neither a VIN"),
        (ProvisionRequest(gateway_user=A), ConfigError, "service user"),
    ],
)
def test_bad_requests_are_refused_with_a_reason(
    request_: ProvisionRequest, error: type[Exception], reason: str
) -> None:
    fleet = Fleet([A, B])
    first = fleet.run(CredentialState(), ProvisionRequest(vins=(A,)))
    with pytest.raises(error, match=reason):
        fleet.run(first.state, request_)


def test_state_and_its_json_hold_hashes_never_secrets() -> None:
    fleet = Fleet([A])
    first = fleet.run(CredentialState(), ProvisionRequest(vins=(A,)))
    saved = msgspec.json.encode(first.state)
    for secret in secrets_of(first).values():
        assert secret.encode() not in saved
        assert secret not in repr(first.issued) and secret not in repr(first.state)
    assert msgspec.json.decode(saved, type=CredentialState) == first.state
