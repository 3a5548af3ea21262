"""Fixtures of the OTA tests (the world they build is in `otakit`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .otakit import ManualClock, Ota


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def ota(clock: ManualClock) -> Ota:
    return Ota(clock)


@pytest.fixture
def state(tmp_path: Path) -> Callable[[str], Path]:
    """A fresh state directory per car name."""

    def make(name: str) -> Path:
        path = tmp_path / name
        for sub in ("image", "director", "downloads"):
            (path / sub).mkdir(parents=True, exist_ok=True)
        return path

    return make
