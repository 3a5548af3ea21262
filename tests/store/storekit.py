"""Builders shared by the store tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol, TypeVar

from volta.store.base import AcceptedBatch, TelemetryStore

StoreFactory = Callable[[], TelemetryStore]


class _Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=_Closable)


def closing_factory(make: Callable[[], C]) -> Iterator[Callable[[], C]]:
    """For a fixture to `yield from`: a factory of what `make` opens, all closed after."""
    opened: list[C] = []

    def factory() -> C:
        opened.append(make())
        return opened[-1]

    yield factory
    for each in opened:
        each.close()


T0 = 1_764_201_600_000  # 2025-11-27T00:00:00Z
VIN_A = "JHMZZ1A1XRV000001"
VIN_B = "JHMZZ1A1XRV000002"


def batch(
    vin: str,
    seq: int,
    samples: list[tuple[int, int, float | str]],
    ts: int = T0,
    received_ms: int = T0 + 500,
    rejected: int = 0,
) -> AcceptedBatch:
    """A batch from (offset_ms, signal_id, value) samples; strings go to `txt`."""
    return AcceptedBatch(
        vin=vin,
        seq=seq,
        ts_ms=ts,
        received_ms=received_ms,
        signal_ids=[s for _, s, _ in samples],
        ts=[ts + off for off, _, _ in samples],
        num=[None if isinstance(v, str) else float(v) for _, _, v in samples],
        txt=[v if isinstance(v, str) else None for _, _, v in samples],
        rejected=rejected,
    )
