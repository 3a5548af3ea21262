"""`prepare`: every bad-input case gets a clear reason and a code; good samples beside it stay."""

from __future__ import annotations

import math

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from volta.catalog import Catalog, default_catalog
from volta.ingest import Limits, Prepared, prepare, samples
from volta.store.base import QuarantineRecord

from .conftest import AUTONOMY, DOOR, NOW, SOC, SPEED, T0, VIN, VIN2, message

LIMITS = Limits(now_ms=NOW)


def run(catalog: Catalog, payload: bytes, vin: str = VIN, limits: Limits = LIMITS) -> Prepared:
    return prepare(payload, vin, NOW + 1, catalog, limits)


def codes(p: Prepared) -> list[tuple[int | None, str]]:
    return [(q.sample_index, q.code) for q in p.quarantine]


def test_good_batch_becomes_columns_with_absolute_times(catalog: Catalog) -> None:
    speed, door = catalog.get(SPEED), catalog.get(DOOR)
    p = run(catalog, message([[0, SPEED, 42.5], [1000, speed.id, 43], [500, DOOR, True]]))
    assert p.error is None and p.quarantine == []
    b = p.batch
    assert b is not None
    assert (b.vin, b.seq, b.ts_ms, b.received_ms) == (VIN, 1, T0, NOW + 1)
    assert b.signal_ids == [speed.id, speed.id, door.id]
    assert b.ts == [T0, T0 + 1000, T0 + 500]
    assert b.num == [42.5, 43.0, 1.0]
    assert b.txt == [None, None, None]


def test_string_values_are_stored_as_text(catalog: Catalog) -> None:
    p = run(catalog, message([[0, AUTONOMY, "SAE_2"]]))
    assert p.batch is not None
    assert p.batch.num == [None]
    assert catalog.get(AUTONOMY).from_stored(None, p.batch.txt[0]) == "SAE_2"


def test_empty_batch_is_accepted(catalog: Catalog) -> None:
    p = run(catalog, message([]))
    assert p.error is None and p.batch is not None and len(p.batch) == 0


def test_wrong_type_is_rejected_with_index_and_signal(catalog: Catalog) -> None:
    p = run(catalog, message([[0, SPEED, 1.0], [0, SOC, 50.0], [0, SOC, 51.0], [0, SPEED, "fast"]]))
    assert p.batch is not None and len(p.batch) == 3 and p.batch.rejected == 1
    (q,) = p.quarantine
    assert (q.code, q.sample_index, q.signal, q.vin, q.seq) == ("wrong_type", 3, SPEED, VIN, 1)
    assert q.reason == "sample 3: Vehicle.Speed expects float, got 'fast'"
    assert q.raw == b'[0,"Vehicle.Speed","fast"]'


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_are_rejected(catalog: Catalog, value: float) -> None:
    payload = message([[0, SPEED, value], [0, SOC, 80.0]], fmt="msgpack")
    p = run(catalog, payload)
    assert codes(p) == [(0, "not_finite")]
    assert p.quarantine[0].reason.startswith("sample 0: Vehicle.Speed")
    assert p.batch is not None and p.batch.num == [80.0]


def test_out_of_range_value_is_rejected(catalog: Catalog) -> None:
    p = run(catalog, message([[0, SOC, 100.5], [0, SOC, 99.0]]))
    assert codes(p) == [(0, "out_of_range")]
    assert "above max 100" in p.quarantine[0].reason
    assert p.batch is not None and p.batch.num == [99.0]


def test_value_not_allowed_is_rejected(catalog: Catalog) -> None:
    p = run(catalog, message([[0, AUTONOMY, "SAE_9"]]))
    assert codes(p) == [(0, "not_allowed")]
    assert "is not one of" in p.quarantine[0].reason


def test_unknown_path_and_id_are_rejected(catalog: Catalog) -> None:
    p = run(catalog, message([[0, "Vehicle.Sped", 1.0], [0, 12345, 1.0], [0, SPEED, 2.0]]))
    assert codes(p) == [(0, "unknown_signal"), (1, "unknown_signal")]
    assert "did you mean 'Vehicle.Speed'" in p.quarantine[0].reason
    assert p.quarantine[0].signal == "Vehicle.Sped"
    assert p.quarantine[1].reason == "sample 1: unknown signal id 12345"


def test_a_branch_is_not_a_signal(catalog: Catalog) -> None:
    p = run(catalog, message([[0, "Vehicle.Cabin", 1.0]]))
    assert codes(p) == [(0, "unknown_signal")]
    assert "branch" in p.quarantine[0].reason


def test_integer_signal_rejects_a_float(catalog: Catalog) -> None:
    uint8 = next(s for s in catalog if s.datatype == "uint8" and s.allowed is None)
    p = run(catalog, message([[0, uint8.path, 3.5], [0, uint8.path, 3]]))
    assert codes(p) == [(0, "wrong_type")]


def test_deeply_nested_value_is_rejected_not_crashing(catalog: Catalog) -> None:
    nested: object = 1.0
    for _ in range(200):
        nested = [nested]
    p = run(catalog, message([[0, SPEED, nested], [0, SPEED, 1.0]]))
    assert codes(p) == [(0, "malformed")]
    assert p.batch is not None and p.batch.num == [1.0]


def test_huge_string_is_rejected(catalog: Catalog) -> None:
    p = run(catalog, message([[0, AUTONOMY, "x" * 100_000], [0, SPEED, 1.0]]))
    assert codes(p) == [(0, "too_long")]
    assert len(p.quarantine[0].raw) <= 512


def test_negative_offset_is_rejected(catalog: Catalog) -> None:
    p = run(catalog, message([[-5, SPEED, 1.0], [5, SPEED, 2.0]]))
    assert codes(p) == [(0, "negative_offset")]
    assert p.quarantine[0].reason.startswith("sample 0: ")
    assert p.batch is not None and p.batch.ts == [T0 + 5]


def test_malformed_sample_keeps_its_neighbours(catalog: Catalog) -> None:
    p = run(catalog, message([[0, SPEED], [1, SPEED, 2.0], "x", [0.5, SPEED, 1.0]]))
    assert codes(p) == [(0, "malformed"), (2, "malformed"), (3, "malformed")]
    assert p.batch is not None and p.batch.ts == [T0 + 1]


def test_sample_too_far_in_the_future_is_rejected(catalog: Catalog) -> None:
    skew = LIMITS.max_future_skew_ms
    far = NOW + skew + 1 - T0
    p = run(catalog, message([[far, SPEED, 1.0], [far - 1, SPEED, 2.0]]))
    assert codes(p) == [(0, "ts_in_future")]
    assert "ahead of the gateway clock" in p.quarantine[0].reason


def test_batch_too_far_in_the_future_is_refused_whole(catalog: Catalog) -> None:
    p = run(catalog, message([[0, SPEED, 1.0]], ts=NOW + LIMITS.max_future_skew_ms + 1))
    assert p.batch is None and p.error == "ts_in_future"
    assert codes(p) == [(None, "ts_in_future")]


def test_batch_before_2000_is_refused_whole(catalog: Catalog) -> None:
    p = run(catalog, message([[0, SPEED, 1.0]], ts=946_684_799_999))
    assert p.batch is None and p.error == "ts_too_old"


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"not json at all",
        b'{"v": 1, "vin": "JHMZZ1A1XRV000001", "seq": 1, "ts": 17642',  # truncated JSON
        message([[0, SPEED, 1.0]], fmt="msgpack")[:-3],  # truncated MessagePack
        b'{"v": 1}',
        b"[1, 2, 3]",
    ],
)
def test_undecodable_batch_is_quarantined_whole(catalog: Catalog, payload: bytes) -> None:
    p = run(catalog, payload)
    assert p.batch is None and p.error == "undecodable"
    (q,) = p.quarantine
    assert (q.code, q.vin, q.raw) == ("undecodable", VIN, payload)
    assert q.reason


def test_undecodable_raw_bytes_are_bounded(catalog: Catalog) -> None:
    payload = b"x" * 10_000
    p = run(catalog, payload, limits=Limits(now_ms=NOW, quarantine_max_bytes=100))
    assert p.error == "undecodable" and p.quarantine[0].raw == payload[:100]


def test_oversized_batch_is_refused(catalog: Catalog) -> None:
    payload = message([[0, SPEED, 1.0]] * 50)
    p = run(catalog, payload, limits=Limits(now_ms=NOW, max_batch_bytes=100))
    assert p.error == "too_large" and p.batch is None
    assert len(p.quarantine[0].raw) <= LIMITS.quarantine_max_bytes


def test_too_many_samples_are_refused(catalog: Catalog) -> None:
    p = run(
        catalog,
        message([[0, SPEED, 1.0]] * 11),
        limits=Limits(now_ms=NOW, max_samples_per_batch=10),
    )
    assert p.error == "too_many_samples"


def test_payload_vin_must_match_the_authenticated_vehicle(catalog: Catalog) -> None:
    p = run(catalog, message([[0, SPEED, 1.0]], vin=VIN2))
    assert p.error == "vin_mismatch" and p.batch is None
    assert p.quarantine[0].vin == VIN
    assert VIN2 in p.quarantine[0].reason


@pytest.mark.parametrize(
    "bad",
    [
        "JHMZZ1A1XRV00000I",
        "JHMZZ1A1XRV00000O",
        "JHMZZ1A1XRV00000Q",
        "JHMZZ1A1XRV0001",
        "jhmzz1a1xrv000001",
    ],
)
def test_invalid_vin_is_refused(catalog: Catalog, bad: str) -> None:
    p = run(catalog, message([[0, SPEED, 1.0]], vin=bad), vin=bad)
    assert p.error == "invalid_vin" and p.batch is None


def test_payload_with_invalid_vin_is_refused(catalog: Catalog) -> None:
    p = run(catalog, message([[0, SPEED, 1.0]], vin="JHMZZ1A1XRV00000I"))
    assert p.batch is None and p.error in {"vin_mismatch", "undecodable"}


def test_msgpack_and_json_prepare_the_same(catalog: Catalog) -> None:
    samples = [[0, SPEED, 1.5], [10, DOOR, False], [20, AUTONOMY, "SAE_0"], [30, SPEED, "x"]]
    a = run(catalog, message(samples, fmt="json"))
    b = run(catalog, message(samples, fmt="msgpack"))
    assert a == b


def test_rejections_are_in_sample_order(catalog: Catalog) -> None:
    p = run(catalog, message([[0, SPEED, "a"], [-1, SPEED, 1.0], [0, "X.Y", 1.0], [0, SPEED, 1e9]]))
    assert [q.sample_index for q in p.quarantine] == [0, 1, 2, 3]


def test_prepare_reads_no_clock(catalog: Catalog) -> None:
    far_past = Limits(now_ms=T0 - LIMITS.max_future_skew_ms - 1)
    p = run(catalog, message([[0, SPEED, 1.0]]), limits=far_past)
    assert p.error == "ts_in_future"  # judged by the time passed in, not the wall clock
    assert msgspec.json.encode(p.quarantine[0].reason)


value_strategy = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**70), 2**70),
    st.booleans(),
    st.text(max_size=5),
    st.lists(st.integers(0, 3), max_size=2),
)
key_strategy = st.sampled_from([SPEED, SOC, DOOR, AUTONOMY, "Vehicle.Nope", 12345, 0])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**9), key_strategy, value_strategy), max_size=12))
def test_column_fast_path_agrees_with_sample_by_sample(
    batch: list[tuple[int, str | int, object]],
) -> None:
    catalog = default_catalog()
    header = samples.Header(VIN, 1, T0, NOW, NOW, 10**9)
    fast = samples.all_good(batch, header, catalog)
    quarantine: list[QuarantineRecord] = []
    slow = samples.each(batch, None, header, catalog, quarantine)
    if fast is not None:
        assert quarantine == []
        assert fast == slow
    elif all(catalog.get(k).numeric for _, k, _ in batch if k in catalog):
        assert quarantine, "the fast path refused a batch with nothing wrong in it"


def test_json_nan_token_is_refused_with_a_reason(catalog: Catalog) -> None:
    payload = (
        b'{"v":1,"vin":"JHMZZ1A1XRV000001","seq":1,"ts":1764201600000,'
        b'"samples":[[0,"Vehicle.Speed",NaN],[0,"Vehicle.Speed",1.0]]}'
    )
    p = run(catalog, payload)
    assert p.quarantine and all(q.reason for q in p.quarantine)
    assert p.error == "undecodable" or codes(p) == [(0, "malformed")]


def test_actuator_and_attribute_values_are_telemetry_too(catalog: Catalog) -> None:
    # A vehicle reports the actual state of its actuators (a door is open) and its attributes;
    # only branches are not signals (see test_a_branch_is_not_a_signal).
    attribute = next(
        s
        for s in catalog
        if s.kind == "attribute"
        and s.datatype == "string"
        and s.allowed is None
        and s.pattern is None
    )
    p = run(catalog, message([[0, DOOR, True], [0, attribute.path, "x"]]))
    assert p.quarantine == [] and p.batch is not None and len(p.batch) == 2


UINT8 = next(s.path for s in default_catalog() if s.datatype == "uint8" and s.allowed is None)
shape_keys = st.sampled_from([SPEED, SOC, DOOR, UINT8, AUTONOMY, "Vehicle.Nope"])
# Each bound of these signals, and the values right next to it.
_edges = [-50, 0, 100, 255, 400]
shape_values = st.one_of(
    value_strategy,
    st.sampled_from([x + d for x in _edges for d in (-1, 0, 1)]),
    st.sampled_from([float(x) + d for x in _edges for d in (-0.5, 0.0, 0.5)]),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 20), shape_keys, shape_values), max_size=12),
    st.integers(0, 20),  # the largest offset allowed: near the offsets, to test the edge
)
def test_generated_shape_check_agrees_with_sample_by_sample(
    batch: list[tuple[int, str | int, object]], latest_offset: int
) -> None:
    # A shape seen often gets generated code (samples._compile): it must decide exactly as
    # the catalog's checks do, for the shape's good batches and for every bad one of it.
    catalog = default_catalog()
    header = samples.Header(VIN, 1, T0, NOW, T0 + latest_offset, 0)
    rules = samples._rules(catalog)
    if batch:
        shape = rules.of([k for _, k, _ in batch])
        if shape is not None and shape.inline is not None:
            shape.fast = samples._compile(shape.inline)
    fast = samples.all_good(batch, header, catalog)
    quarantine: list[QuarantineRecord] = []
    slow = samples.each(batch, None, header, catalog, quarantine)
    if fast is not None:
        assert quarantine == []
        assert fast == slow
        assert [type(x) for x in fast[2]] == [float] * len(batch)
    elif all(catalog.get(k).numeric for _, k, _ in batch if k in catalog):
        assert quarantine, "the generated check refused a batch with nothing wrong in it"


def test_a_shape_seen_often_gets_generated_code_and_still_rejects(catalog: Catalog) -> None:
    good = [[0, SPEED, 10.0], [5, SOC, 50], [9, DOOR, True]]
    for seq in range(1, samples._COMPILE_AFTER + 2):
        p = run(catalog, message(good, seq=seq))
        assert p.batch is not None and p.batch.num == [10.0, 50.0, 1.0] and not p.quarantine
    shape = samples._rules(catalog).of([SPEED, SOC, DOOR])
    assert shape is not None and shape.fast is not None
    bad = [[0, SPEED, 10.0], [5, SOC, 500.0], [9, DOOR, 1]]
    p = run(catalog, message(bad, seq=99))
    assert codes(p) == [(1, "out_of_range"), (2, "wrong_type")]
    nan_and_bool = [[0, SPEED, True], [5, SOC, float("nan")], [9, DOOR, False]]
    p = run(catalog, message(nan_and_bool, seq=100, fmt="msgpack"))
    assert codes(p) == [(0, "wrong_type"), (1, "not_finite")]


def test_generated_shape_check_decides_every_edge_as_the_catalog_does() -> None:
    catalog = default_catalog()
    header = samples.Header(VIN, 1, T0, NOW, T0 + 10, 0)
    edge_values: list[object] = [
        *[x + d for x in _edges for d in (-1, 0, 1)],
        *[float(x) + d for x in _edges for d in (-0.5, 0.0, 0.5)],
        *[math.nextafter(float(x), math.inf) for x in _edges],
        *[math.nextafter(float(x), -math.inf) for x in _edges],
        True,
        False,
        math.nan,
        math.inf,
        -math.inf,
        2**53 + 1,
        2**70,
        -(2**70),
        "1.0",
        [1.0],
    ]
    rules = samples._rules(catalog)
    checked = 0
    for key in (SPEED, SOC, UINT8, DOOR):
        for value in edge_values:
            for batch in ([(0, key, value)], [(0, SPEED, 1.0), (3, key, value)]):
                for offset in (10, 11):  # the largest allowed, and one beyond it
                    sample: samples.Samples = [*batch[:-1], (offset, batch[-1][1], batch[-1][2])]
                    shape = rules.of([k for _, k, _ in sample])
                    assert shape is not None and shape.inline is not None
                    shape.fast = samples._compile(shape.inline)
                    fast = samples.all_good(sample, header, catalog)
                    quarantine: list[QuarantineRecord] = []
                    slow = samples.each(sample, None, header, catalog, quarantine)
                    assert (fast is None) == bool(quarantine), (key, value, offset)
                    assert fast is None or fast == slow
                    checked += 1
    assert checked == 4 * len(edge_values) * 2 * 2
