"""The server keeps a large map's contraction hierarchy in its data dir: built on the first
start, loaded on the next; a damaged or stale file is rebuilt with a log line, never used.
Helsinki stands in for a large map (the size threshold lowered)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from volta.config import Settings
from volta.geo.graph import RoadGraph
from volta.geo.osm import default_osm_path, load_roads
from volta.planner import service
from volta.planner.hierarchy import Hierarchy
from volta.planner.service import CACHE_DIR, TripPlanner, planner_for, server_planner
from volta.vehicles.model import load_model

MODEL = load_model("hyundai_kona_electric_2021")
A, B = (60.1692, 24.9402), (60.1740, 24.9484)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setattr(service, "CACHE_MIN_NODES", 0)
    planner_for.cache_clear()
    yield Settings(data_dir=tmp_path, mqtt=None, roads=default_osm_path())
    planner_for.cache_clear()


def start(settings: Settings) -> TripPlanner:
    """The planner of a freshly started server with these settings."""
    planner_for.cache_clear()
    return server_planner(settings)


def test_the_second_start_loads_the_hierarchy_the_first_built(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "volta.planner.service")
    first = start(settings).plan(MODEL, A, B, start_soc=80)
    [kept] = (settings.data_dir / CACHE_DIR).iterdir()
    assert "built the contraction hierarchy" in caplog.text

    def no_build(*args: object, **kwargs: object) -> Hierarchy:
        raise AssertionError("built again instead of loaded")

    monkeypatch.setattr(Hierarchy, "build", no_build)
    caplog.clear()
    again = start(settings).plan(MODEL, A, B, start_soc=80)
    assert f"loaded the contraction hierarchy of 1,671 nodes from {kept}" in caplog.text
    assert again.plan.total_s == first.plan.total_s and again.geometry == first.geometry


@pytest.fixture(scope="module")
def helsinki() -> RoadGraph:
    return load_roads(default_osm_path())


@pytest.mark.parametrize("damage", ["cut short", "another graph's"])
def test_a_damaged_or_stale_file_is_rebuilt_with_a_log_line(
    helsinki: RoadGraph, tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    def start() -> TripPlanner:
        return TripPlanner(helsinki, cache_dir=tmp_path, cache_min_nodes=0)

    first = start().plan(MODEL, A, B, start_soc=80)
    [kept] = tmp_path.iterdir()
    if damage == "cut short":
        kept.write_bytes(kept.read_bytes()[:5000])
    else:  # a whole, readable file, but of a 10-node graph
        with np.load(kept) as f:
            arrays = {k: f[k] for k in f.files}
        np.savez(kept.with_suffix(".x.npz"), **{**arrays, "n": np.int64(10)})
        kept.with_suffix(".x.npz").replace(kept)
    caplog.set_level(logging.INFO, "volta.planner.service")
    again = start().plan(MODEL, A, B, start_soc=80)
    assert f"the cached hierarchy {kept} is unreadable or stale" in caplog.text
    assert "rebuilding it" in caplog.text and "built the contraction hierarchy" in caplog.text
    assert again.plan.total_s == first.plan.total_s
    caplog.clear()
    start().index(MODEL)  # the rebuilt file is good
    assert "loaded the contraction hierarchy" in caplog.text


def test_small_maps_keep_no_file(helsinki: RoadGraph, tmp_path: Path) -> None:
    planner = TripPlanner(helsinki, cache_dir=tmp_path)  # 1,671 nodes: built in 25 ms
    planner.index(MODEL)
    assert planner.cache_dir is None and list(tmp_path.iterdir()) == []


def test_only_the_most_recently_used_files_are_kept(
    helsinki: RoadGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "CACHE_FILES", 1)
    planner = TripPlanner(helsinki, cache_dir=tmp_path, cache_min_nodes=0)
    planner.index(MODEL)
    [kona] = tmp_path.iterdir()
    planner.index(load_model("chevrolet_bolt_ev_2020"))  # other costs: a file of its own
    [bolt] = tmp_path.iterdir()
    assert bolt != kona


def test_building_an_index_holds_up_neither_other_plans_nor_builds_it_twice(
    helsinki: RoadGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A charger graph being built (minutes on a large map) does not stop plans whose graph
    is ready; a second request for the one being built waits for it instead of building too."""
    planner = TripPlanner(helsinki)
    ready = planner.plan(MODEL, A, B, start_soc=80)  # the default index, built now
    started, release = threading.Event(), threading.Event()
    builds: list[float] = []
    real_build = TripPlanner._build

    def slow_build(self: TripPlanner, *key: Any) -> Any:
        builds.append(key[1])
        started.set()
        assert release.wait(10), "the test never released the build"
        return real_build(self, *key)

    monkeypatch.setattr(TripPlanner, "_build", slow_build)
    cold = [threading.Thread(target=planner.plan, args=(MODEL, A, B, 80), kwargs={"ambient_c": -10})
            for _ in range(2)]  # fmt: skip
    for t in cold:
        t.start()
    assert started.wait(10)
    t0 = time.monotonic()
    again = planner.plan(MODEL, A, B, start_soc=80)  # while the -10 °C graph is being built
    assert time.monotonic() - t0 < 2.0
    assert again.plan.total_s == ready.plan.total_s
    release.set()
    for t in cold:
        t.join(10)
    assert builds == [1.0]  # one build for the two requests
    assert len(planner._indexes) == 2
