"""A fleet's diagnostics as bytes and back: what `volta.diagnostics.store` keeps.

Each vehicle is two parts, because they change at different rates:
- `state`: what nearly every batch changes (latest values, the trouble codes with their
  freeze frames, the running sums of the hour being averaged, the charging or DC session under
  way, its model and exposure for reliability);
- `history`: what changes when an hour closes or an alert turns (the hourly points of each
  series, the rules' latest findings with their evidence, the alerts that are on, the latest
  alert changes and code events).
The fleet-wide records (charging failures, sessions that worked, code occurrences) are
lists appended to and pruned at the head by age (`FleetDiagnostics.prune`): each record is kept
once, by its place in its list counting the pruned ones (`seq`; the attribution of charging
failures depends on their order). MessagePack through msgspec: the rule and event
dataclasses are encoded as they are; a history is compressed (zlib) as well. Pure.
"""

from __future__ import annotations

import zlib
from collections import deque
from typing import Any

import msgspec

from volta.diagnostics.charging import ChargeFailure
from volta.diagnostics.events import DtcEvent, DtcRecord
from volta.diagnostics.fleet import RECORD_KINDS, FleetDiagnostics, _Exposure
from volta.diagnostics.reliability import Occurrence
from volta.diagnostics.rules import Finding
from volta.diagnostics.vehicle import Alert, AlertChange, VehicleDiagnostics, _Hourly

__all__ = [
    "HISTORY",
    "RECORDS",
    "STATE",
    "apply_part",
    "changes_of",
    "decode_record",
    "encode",
    "encode_state",
    "history_mark",
    "history_of",
    "record_lists",
]

STATE, HISTORY = "state", "history"

# The attributes of `VehicleDiagnostics` each part carries: a new one must be added here (and
# to the part), which tests/diagnostics/test_persist.py checks.
KEPT_ATTRIBUTES = frozenset(
    {
        "vin", "latest", "text", "tracker", "series", "active", "findings", "changes",
        "events", "first_ms", "last_ms", "_dc", "_dc_start", "_charging_since",
        "_charging_at", "_aborted", "_charging_dc", "good_sessions",
    }
)  # fmt: skip


class _Head(msgspec.Struct, array_like=True):
    """An hourly series' running sums (the hour being averaged)."""

    key: str
    keep_ms: int
    hour: int
    sx: float
    sy: float
    n: int


class _State(msgspec.Struct):
    first_ms: int
    last_ms: int
    latest: dict[str, tuple[int, float]]
    text: dict[str, str]
    codes: list[DtcRecord]
    codes_ts: int
    heads: list[_Head]
    dc: list[tuple[float, float]]
    dc_start: float | None
    charging_since: int
    charging_at: tuple[float, float] | None
    aborted: bool
    charging_dc: bool
    good_sessions: list[tuple[int, float, float, bool]]
    model: str
    days: list[tuple[str, str, list[int]]]  # (version, variant, days)
    ecu_days: list[tuple[str, str, str, list[int]]]  # (ECU, version, variant, days)
    odo0: float | None
    odo1: float
    odo_months: list[tuple[int, float]] = []  # a state kept before this field has none


class _Points(msgspec.Struct, array_like=True):
    key: str
    keep_ms: int
    pts: list[tuple[float, float, float]]


class _On(msgspec.Struct, array_like=True):
    """An alert that is on; its finding only when it is not the rule's latest one."""

    kind: str
    subject: str
    since_ms: int
    finding: Finding | None = None


class _History(msgspec.Struct):
    series: list[_Points]
    findings: list[Finding]
    active: list[_On]
    changes: list[AlertChange]
    events: list[DtcEvent]


class _Changes(msgspec.Struct):
    """Only the alert changes of a history (the other fields are skipped, not built)."""

    changes: list[AlertChange]


_RECORD_TYPES: dict[str, type] = dict(
    zip(RECORD_KINDS, (ChargeFailure, ChargeFailure, Occurrence), strict=True)
)
RECORDS = RECORD_KINDS
_encode = msgspec.msgpack.Encoder().encode
_STATE = msgspec.msgpack.Decoder(_State)
_HISTORY = msgspec.msgpack.Decoder(_History)
_CHANGES = msgspec.msgpack.Decoder(_Changes)
_DECODERS: dict[str, msgspec.msgpack.Decoder[Any]] = {
    kind: msgspec.msgpack.Decoder(t) for kind, t in _RECORD_TYPES.items()
}


def record_lists(fleet: FleetDiagnostics) -> dict[str, list[Any]]:
    """The fleet's record lists, by kind (each list's first record is at place
    `fleet.pruned[kind]`)."""
    return fleet.record_lists()


def decode_record(kind: str, body: bytes) -> Any:
    return _DECODERS[kind].decode(body)


def encode_state(fleet: FleetDiagnostics, vin: str) -> bytes:
    """The vehicle's `state` part, encoded at once: it changes with every batch and is small
    (~4 kB, ~5 µs), and one bytes object is all a save under the lock allocates for it (each
    object made there is work for the collector over the fleet's millions)."""
    veh = fleet.vehicles[vin]
    ex = fleet._exposure.get(vin) or _Exposure()
    return _encode(
        _State(
            veh.first_ms,
            veh.last_ms,
            veh.latest,
            veh.text,
            list(veh.tracker.records.values()),
            veh.tracker.last_ts,
            [_Head(k, s.keep_ms, s.hour, s.sx, s.sy, s.n) for k, s in veh.series.items()],
            veh._dc,
            veh._dc_start,
            veh._charging_since,
            veh._charging_at,
            veh._aborted,
            veh._charging_dc,
            veh.good_sessions,
            fleet._models.get(vin, "unknown"),
            [(v, h, sorted(d)) for (v, h), d in ex.days.items()],
            [(e, v, h, sorted(d)) for (e, v, h), d in ex.ecu_days.items()],
            ex.odo0,
            ex.odo1,
            sorted(ex.odo_months.items()),
        )
    )


def history_of(veh: VehicleDiagnostics) -> _History:
    """The vehicle's `history` part, copied (findings and alerts are immutable) so that it can
    be encoded without the lock (~26 kB, ~0.3 ms)."""
    return _History(
        [_Points(k, s.keep_ms, list(s.pts)) for k, s in veh.series.items()],
        list(veh.findings.values()),
        [
            _On(k, s, a.since_ms, None if a.finding is veh.findings.get((k, s)) else a.finding)
            for (k, s), a in veh.active.items()
        ],
        list(veh.changes),
        list(veh.events),
    )


def encode(part: _History | bytes | object) -> bytes:
    """A history part (`history_of`) or a record as MessagePack (a history compressed too:
    ~26 kB → ~4 kB for three days of points, ~0.2 ms, once an hour per car); bytes (an
    encoded state) as they are."""
    if isinstance(part, bytes):
        return part
    if isinstance(part, _History):
        return zlib.compress(_encode(part), 1)
    return _encode(part)


def history_mark(veh: VehicleDiagnostics) -> tuple[object, ...]:
    """What tells whether the history part changed since it was last encoded: compared with
    `==`, which checks identity first, so unchanged findings cost nothing. A series only grows
    at its end or is cleared (`_Hourly`), so its length and last point tell."""
    return (
        tuple((k, len(s.pts), s.pts[-1][0] if s.pts else None) for k, s in veh.series.items()),
        tuple(veh.findings.values()),
        tuple(veh.active.values()),
        len(veh.changes),
        veh.changes[-1] if veh.changes else None,
        len(veh.events),
        veh.events[-1] if veh.events else None,
    )


def changes_of(body: bytes) -> list[AlertChange]:
    """The alert changes of a kept history part (msgspec.DecodeError if it is not one)."""
    return _CHANGES.decode(_decompress(body)).changes


def _decompress(body: bytes) -> bytes:
    try:
        return zlib.decompress(body)
    except zlib.error as e:
        raise msgspec.DecodeError(f"not a kept history: {e}") from e


def _vehicle(fleet: FleetDiagnostics, vin: str) -> VehicleDiagnostics:
    veh = fleet.vehicles.get(vin)
    if veh is None:
        veh = fleet.vehicles[vin] = VehicleDiagnostics(vin)
    return veh


def _series(veh: VehicleDiagnostics, key: str, keep_ms: int) -> _Hourly:
    s = veh.series.get(key)
    if s is None:
        s = veh.series[key] = _Hourly(keep_ms)
    return s


def apply_part(fleet: FleetDiagnostics, vin: str, part: str, body: bytes) -> None:
    """Put one kept part of `vin` into `fleet` (the vehicle made if new); a decoding error
    (msgspec.DecodeError) leaves the fleet as it was."""
    if part == STATE:
        _apply_state(fleet, vin, _STATE.decode(body))
    elif part == HISTORY:
        _apply_history(_vehicle(fleet, vin), _HISTORY.decode(_decompress(body)))


def _apply_state(fleet: FleetDiagnostics, vin: str, st: _State) -> None:
    veh = _vehicle(fleet, vin)
    veh.first_ms, veh.last_ms = st.first_ms, st.last_ms
    veh.latest, veh.text = st.latest, st.text
    veh.tracker.records = {r.code: r for r in st.codes}
    veh.tracker.last_ts = st.codes_ts
    for h in st.heads:
        s = _series(veh, h.key, h.keep_ms)
        s.hour, s.sx, s.sy, s.n = h.hour, h.sx, h.sy, h.n
    veh._dc, veh._dc_start = st.dc, st.dc_start
    veh._charging_since, veh._charging_at = st.charging_since, st.charging_at
    veh._aborted, veh._charging_dc = st.aborted, st.charging_dc
    veh.good_sessions = st.good_sessions
    fleet._models[vin] = st.model
    fleet._exposure[vin] = _Exposure(
        {(v, h): set(d) for v, h, d in st.days},
        {(e, v, h): set(d) for e, v, h, d in st.ecu_days},
        st.odo0,
        st.odo1,
        dict(st.odo_months),
    )


def _apply_history(veh: VehicleDiagnostics, hi: _History) -> None:
    for p in hi.series:
        _series(veh, p.key, p.keep_ms).pts = deque(p.pts)
    veh.findings = {(f.kind, f.subject): f for f in hi.findings}
    veh.active = {
        (a.kind, a.subject): Alert(
            veh.vin, a.since_ms, a.finding or veh.findings[(a.kind, a.subject)]
        )
        for a in hi.active
    }
    veh.changes, veh.events = hi.changes, hi.events
