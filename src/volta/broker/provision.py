"""One provisioning run: registry + state → new state, broker files, secrets to show once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from volta.broker.acl import check_prefix
from volta.broker.files import BrokerFiles, load_state, locked, save_state, write_broker_files
from volta.broker.passwords import new_hash, new_secret
from volta.broker.state import IssuedSecret, ProvisionRequest, plan
from volta.clock import Clock, wall_ms
from volta.registry import Registry


@dataclass(frozen=True, slots=True)
class ProvisionReport:
    files: BrokerFiles
    state_file: Path
    issued: list[IssuedSecret]
    revoked: list[str]
    kept: list[str]


def provision(
    registry: Registry,
    request: ProvisionRequest,
    *,
    data_dir: Path,
    out_dir: Path,
    prefix: str,
    listener: tuple[str, int] | None = None,
    broker_user: str | None = None,
    clock: Clock = wall_ms,
) -> ProvisionReport:
    """Apply `request` to the data dir's broker credentials and write the broker's files.

    The broker files are written before the state is saved: if writing them fails, the state
    still describes the files the broker has, and the secrets never shown are never valid."""
    prefix = check_prefix(prefix)
    with locked(data_dir):
        result = plan(
            load_state(data_dir),
            request,
            is_registered=registry.has_vehicle,
            registered_vins=lambda: _all_vins(registry),
            new_secret=new_secret,
            hasher=new_hash,
            now_ms=clock(),
        )
        files = write_broker_files(out_dir, result.state, prefix, listener, broker_user)
        state_file = save_state(data_dir, result.state)
    return ProvisionReport(files, state_file, result.issued, result.revoked, result.kept)


def _all_vins(registry: Registry) -> Iterator[str]:
    after: str | None = None
    while page := registry.list_vehicles(limit=1000, after=after):
        yield from (v.vin for v in page)
        after = page[-1].vin
