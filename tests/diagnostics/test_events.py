"""DTC events: codes appear and clear with freeze frames, occurrences and first/last seen."""

from __future__ import annotations

from volta.diagnostics.events import DtcTracker

SPEED, SOC = "Vehicle.Speed", "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current"


def test_a_code_appears_with_a_freeze_frame_and_clears() -> None:
    t = DtcTracker("V1")
    frame = {SPEED: (990, 52.0), SOC: (900, 61.5)}
    (ev,) = t.feed(1000, ["P1B10"], frame)
    assert (ev.code, ev.kind, ev.occurrence) == ("P1B10", "appeared", 1)
    assert ev.freeze_frame is not None
    assert ev.freeze_frame.values == {SPEED: 52.0, SOC: 61.5}
    assert ev.freeze_frame.age_ms == {SPEED: 10, SOC: 100}
    assert t.feed(2000, ["P1B10"], {SPEED: (1990, 0.0)}) == []  # still on: no event
    (cleared,) = t.feed(3000, [], {})
    assert (cleared.kind, cleared.ts_ms) == ("cleared", 3000)
    rec = t.records["P1B10"]
    assert (rec.active, rec.first_seen_ms, rec.last_seen_ms, rec.cleared_ms) == (
        False,
        1000,
        2000,
        3000,
    )


def test_a_code_that_comes_back_counts_a_second_occurrence_with_its_own_frame() -> None:
    t = DtcTracker("V1")
    t.feed(1000, ["U1A40"], {SPEED: (1000, 10.0)})
    t.feed(2000, [], {})
    (again,) = t.feed(3000, ["U1A40"], {SPEED: (3000, 80.0)})
    assert again.occurrence == 2
    rec = t.records["U1A40"]
    assert rec.occurrences == 2 and rec.first_seen_ms == 1000 and rec.last_seen_ms == 3000
    assert rec.first_freeze_frame is not None and rec.first_freeze_frame.values[SPEED] == 10.0
    assert rec.freeze_frame is not None and rec.freeze_frame.values[SPEED] == 80.0


def test_an_unknown_format_is_kept_as_sent_and_a_late_report_is_ignored() -> None:
    t = DtcTracker("V1")
    events = t.feed(1000, ["not-a-dtc", "P1B10", "P1B10"], {})
    assert [e.code for e in events] == ["not-a-dtc", "P1B10"]  # once each, in reported order
    assert t.feed(500, [], {}) == []  # older than the last report: a late batch
    assert {r.code for r in t.active()} == {"not-a-dtc", "P1B10"}
