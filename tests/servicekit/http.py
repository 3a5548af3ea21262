"""Helpers of the driver-service route tests."""

from __future__ import annotations

from .pipeline import Fed


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def busiest(fed: Fed) -> str:
    """The vehicle with the most true drives in the fed day."""
    vins = [d.vin for d in fed.day.truth.drives]
    return max(set(vins), key=vins.count)
