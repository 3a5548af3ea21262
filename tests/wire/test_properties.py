"""Property tests: round trips of arbitrary valid batches, and no surprise on arbitrary bytes."""

from __future__ import annotations

import math
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from volta.errors import DecodeError, PayloadTooLarge
from volta.wire import Batch, decode_batch, encode_json, encode_msgpack

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
UINT63 = st.integers(min_value=0, max_value=2**63 - 1)
VIN = st.text(alphabet="ABCDEFGHJKLMNPRSTUVWXYZ0123456789", min_size=17, max_size=17)
finite = st.floats(allow_nan=False, allow_infinity=False)
scalar = st.one_of(st.booleans(), INT64, finite, st.text(max_size=20))
value = st.one_of(scalar, st.lists(scalar, max_size=5))
signal = st.one_of(st.text(min_size=1, max_size=256), UINT63)
sample = st.tuples(UINT63, signal, value)
batches = st.builds(
    Batch,
    v=st.just(1),
    vin=VIN,
    seq=UINT63,
    ts=INT64,
    samples=st.lists(sample, max_size=20),
)


def _same(decoded: Any, batch: Batch) -> bool:
    header = (decoded.v, decoded.vin, decoded.seq, decoded.ts)
    return header == (batch.v, batch.vin, batch.seq, batch.ts) and decoded.samples == list(
        batch.samples
    )


@settings(max_examples=300, deadline=None)
@given(batches)
def test_json_round_trip(batch: Batch) -> None:
    decoded = decode_batch(encode_json(batch), max_bytes=1 << 20)
    assert _same(decoded, batch)
    assert decoded.indices is None and decoded.malformed == []


@settings(max_examples=300, deadline=None)
@given(batches)
def test_msgpack_round_trip(batch: Batch) -> None:
    decoded = decode_batch(encode_msgpack(batch), max_bytes=1 << 20)
    assert _same(decoded, batch)
    assert decoded.indices is None and decoded.malformed == []


@settings(max_examples=100, deadline=None)
@given(batches, st.floats(allow_nan=True, allow_infinity=True))
def test_msgpack_carries_any_float(batch: Batch, x: float) -> None:
    decoded = decode_batch(encode_msgpack(Batch(1, batch.vin, 0, 0, [(0, "s", x)])))
    got = decoded.samples[0][2]
    assert isinstance(got, float)
    assert (math.isnan(got) and math.isnan(x)) or got == x


def _no_surprise(data: bytes) -> None:
    try:
        decoded = decode_batch(data, max_bytes=4096)
    except (DecodeError, PayloadTooLarge) as err:
        assert str(err)
        return
    seen = sorted(
        [*(decoded.indices or range(len(decoded.samples))), *(i for i, _, _ in decoded.malformed)]
    )
    assert seen == list(range(len(seen)))


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_decode_errors(data: bytes) -> None:
    _no_surprise(data)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200), st.sampled_from([b"{", b"\x85", b"\xde\x00\x05", b" "]))
def test_arbitrary_bytes_behind_a_batch_start_raise_only_decode_errors(
    data: bytes, start: bytes
) -> None:
    _no_surprise(start + data)


json_like = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(json_like, max_size=6),
    st.sampled_from([msgspec.json.encode, msgspec.msgpack.encode]),
)
def test_arbitrary_samples_are_kept_or_listed_never_lost(samples: list[Any], encode: Any) -> None:
    try:
        data = encode({"v": 1, "vin": "JHMZZ1A1XRV000001", "seq": 1, "ts": 0, "samples": samples})
    except (TypeError, ValueError, OverflowError, msgspec.EncodeError):
        return  # not every Python value has a JSON/MessagePack form
    decoded = decode_batch(data, max_bytes=1 << 20)
    kept = decoded.indices if decoded.indices is not None else range(len(decoded.samples))
    listed = [i for i, _, _ in decoded.malformed]
    assert sorted([*kept, *listed]) == list(range(len(samples)))
    assert all(reason.startswith(f"sample {i}: ") for i, reason, _ in decoded.malformed)
