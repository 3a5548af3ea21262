"""Ground truth files: written as Parquet, read back identical."""

from __future__ import annotations

from pathlib import Path

from volta.sim.truth import load_truth, write_truth

from .simrun import fleet_day


def test_truth_round_trips_through_parquet(tmp_path: Path) -> None:
    truth = fleet_day().truth
    write_truth(truth, tmp_path / "truth")
    back = load_truth(tmp_path / "truth")
    for kind in ("vehicles", "drives", "charges", "soh", "faults", "hazards", "events"):
        assert getattr(back, kind) == getattr(truth, kind), kind
    assert {p.name for p in (tmp_path / "truth").iterdir()} >= {"drives.parquet", "charges.parquet"}


def test_truth_holds_every_kind_of_record() -> None:
    t = fleet_day().truth
    assert t.vehicles and t.drives and t.charges and t.soh and t.faults and t.hazards and t.events
    assert all(len(v.token) == 64 for v in t.vehicles)
    assert {f.kind for f in t.faults} == {"tyre_leak"}


def test_missing_files_load_as_empty(tmp_path: Path) -> None:
    assert load_truth(tmp_path).drives == []
