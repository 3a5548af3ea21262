"""Process-wide interpreter tuning belongs to the process entry points (`volta.tuning`), not
to any part: a gateway started in a process leaves the interpreter as it found it."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator

import pytest

from volta import tuning
from volta.bus import MemoryBus
from volta.catalog import default_catalog
from volta.config import Settings
from volta.ingest import Gateway
from volta.store.duckdb_store import DuckDBStore


@pytest.fixture
def interpreter(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Put back what tuning changes, so that the rest of the session runs untuned."""
    interval, thresholds = sys.getswitchinterval(), gc.get_threshold()
    monkeypatch.setattr(tuning, "_heap_frozen", False)
    yield
    sys.setswitchinterval(interval)
    gc.set_threshold(*thresholds)
    gc.unfreeze()


@pytest.mark.usefixtures("interpreter")
def test_tuning_lowers_the_switch_interval_and_raises_the_collector_thresholds() -> None:
    sys.setswitchinterval(0.005)
    gc.set_threshold(700, 10, 10)
    tuning.tune_for_ingest()
    assert sys.getswitchinterval() == pytest.approx(tuning.SWITCH_INTERVAL_S)
    assert gc.get_threshold() == tuning.GC_THRESHOLDS
    assert gc.get_freeze_count() > 0


@pytest.mark.usefixtures("interpreter")
def test_tuning_never_raises_a_lower_switch_interval() -> None:
    sys.setswitchinterval(0.0001)
    tuning.tune_for_ingest()
    assert sys.getswitchinterval() == pytest.approx(0.0001)


@pytest.mark.usefixtures("interpreter")
def test_starting_a_gateway_leaves_the_interpreter_alone() -> None:
    sys.setswitchinterval(0.005)
    gc.set_threshold(700, 10, 10)
    store = DuckDBStore(None)
    gateway = Gateway(catalog=default_catalog(), store=store, bus=MemoryBus(), settings=Settings())
    gateway.start()
    gateway.stop()
    store.close()
    assert sys.getswitchinterval() == pytest.approx(0.005)
    assert gc.get_threshold() == (700, 10, 10)
