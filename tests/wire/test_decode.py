"""decode_batch on good and bad input: each bad case gets its exact reason."""

from __future__ import annotations

import json
import math
from typing import Any

import msgspec
import pytest

from volta.errors import DecodeError, PayloadTooLarge
from volta.wire import MAX_NESTING, Batch, decode_batch, encode_json, encode_msgpack

VIN = "JHMZZ1A1XRV000001"
HEADER = {"v": 1, "vin": VIN, "seq": 1, "ts": 1764201600000}


def body(fmt: str = "json", **fields: Any) -> bytes:
    obj = {**HEADER, "samples": [], **fields}
    return msgspec.json.encode(obj) if fmt == "json" else msgspec.msgpack.encode(obj)


def reason(data: bytes) -> str:
    with pytest.raises(DecodeError) as err:
        decode_batch(data)
    return str(err.value)


both = pytest.mark.parametrize("fmt", ["json", "msgpack"])


# Whole-batch failures


def test_empty_body_is_refused() -> None:
    assert reason(b"") == "empty body"


def test_body_over_the_limit_is_too_large() -> None:
    data = body(samples=[[0, "Vehicle.Speed", 1.0]] * 100)
    with pytest.raises(PayloadTooLarge, match=f"batch is {len(data)} bytes, over the limit of 100"):
        decode_batch(data, max_bytes=100)
    assert decode_batch(data, max_bytes=len(data)).samples[0] == (0, "Vehicle.Speed", 1.0)


def test_default_limit_is_256_kib() -> None:
    huge = body(samples=[[0, "Vehicle.Speed", "x" * (256 * 1024)]])
    with pytest.raises(PayloadTooLarge):
        decode_batch(huge)


def test_truncated_json_names_the_byte() -> None:
    data = body(samples=[[0, "Vehicle.Speed", 42.5]])[:57]
    assert reason(data) == "truncated JSON at byte 57"


def test_truncated_msgpack_names_the_byte() -> None:
    data = body("msgpack", samples=[[0, "Vehicle.Speed", 42.5]])[:40]
    assert reason(data) == "truncated MessagePack at byte 40"


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"hello", "body is neither a JSON object nor a MessagePack map (first byte 0x68)"),
        (b"\x00\x01", "body is neither a JSON object nor a MessagePack map (first byte 0x00)"),
        (b"[1, 2]", "body is neither a JSON object nor a MessagePack map (first byte 0x5b)"),
        (b"\x92\x01\x02", "body is neither a JSON object nor a MessagePack map (first byte 0x92)"),
        (
            b"\xef\xbb\xbf{}",
            "body is neither a JSON object nor a MessagePack map (first byte 0xef)",
        ),
        (b'{"v":NaN}', "not valid JSON: invalid character (byte 5)"),
        (b'{"v":1} x', "not valid JSON: trailing characters (byte 9)"),
        (b"\x81\xc1", "not valid MessagePack: invalid opcode '\\xc1' (byte 1)"),
        (b"  [1]", "top level must be an object, got array"),
        (b"\x81\x01\x02", "top level: Expected `str`, got `int` - at `key` in `$`"),
    ],
)
def test_non_batches_are_refused_with_reason(data: bytes, why: str) -> None:
    assert reason(data) == why


@both
@pytest.mark.parametrize("field", ["v", "vin", "seq", "ts", "samples"])
def test_missing_header_field_is_named(fmt: str, field: str) -> None:
    obj = {**HEADER, "samples": []}
    del obj[field]
    data = msgspec.json.encode(obj) if fmt == "json" else msgspec.msgpack.encode(obj)
    assert reason(data) == f"missing field {field!r}"


@both
def test_unknown_field_is_refused(fmt: str) -> None:
    assert reason(body(fmt, extra=1)) == ("unknown field 'extra' (v1 has v, vin, seq, ts, samples)")


@both
@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        ("v", "1", "v must be an integer, got string"),
        ("v", True, "v must be an integer, got boolean"),
        ("vin", 123, "vin must be a string, got integer"),
        ("seq", "1", "seq must be an integer, got string"),
        ("seq", 1.0, "seq must be an integer, got number"),
        ("ts", None, "ts must be an integer, got null"),
        ("samples", {}, "samples must be an array, got object"),
        ("samples", "x", "samples must be an array, got string"),
        ("seq", -1, "seq must be an integer from 0 to 2^63-1, got -1"),
    ],
)
def test_ill_typed_header_is_refused(fmt: str, field: str, value: Any, why: str) -> None:
    assert reason(body(fmt, **{field: value})) == why


@both
@pytest.mark.parametrize("v", [0, 2, 99])
def test_other_schema_versions_are_refused(fmt: str, v: int) -> None:
    assert reason(body(fmt, v=v)) == f"unsupported schema version {v} (this gateway speaks v1)"


def test_other_schema_version_is_refused_even_when_samples_are_bad() -> None:
    data = body(v=2, samples=[[-1, "x", 1]])
    assert reason(data) == "unsupported schema version 2 (this gateway speaks v1)"


@both
@pytest.mark.parametrize(
    "vin",
    ["ABC", VIN[:16], VIN + "2", "JHMZZ1A1XRV00000I", "JHMZZ1A1XRV00000O", "JHMZZ1A1XRV00000Q"],
)
def test_bad_vin_is_refused(fmt: str, vin: str) -> None:
    assert reason(body(fmt, vin=vin)) == (
        f"vin {vin!r} must be 17 characters A-Z/0-9 without I, O, Q"
    )


def test_ts_outside_64_bits_is_refused() -> None:
    assert reason(body(ts=2**70)) == (
        f"ts must be a 64-bit integer (ms since the epoch), got {2**70}"
    )


@both
def test_empty_samples_array_is_a_valid_batch(fmt: str) -> None:
    decoded = decode_batch(body(fmt))
    assert (decoded.v, decoded.vin, decoded.seq, decoded.ts) == (1, VIN, 1, 1764201600000)
    assert decoded.samples == []
    assert decoded.indices is None
    assert decoded.malformed == []


def test_field_order_does_not_matter() -> None:
    data = b'{"samples":[[0,"Vehicle.Speed",1]],"ts":5,"seq":2,"vin":"%s","v":1}' % VIN.encode()
    decoded = decode_batch(data)
    assert (decoded.seq, decoded.ts, decoded.samples) == (2, 5, [(0, "Vehicle.Speed", 1)])


def test_leading_whitespace_json_is_json() -> None:
    assert decode_batch(b" \n\t" + body()).vin == VIN


# Sample-level failures: the batch survives, the bad sample is listed


GOOD_A = [0, "Vehicle.Speed", 42.5]
GOOD_B = [1000, 7, True]


@both
@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ([-5, "Vehicle.Speed", 1], "sample 1: offset must be an integer >= 0, got -5"),
        (["0", "Vehicle.Speed", 1], "sample 1: offset must be an integer >= 0, got '0'"),
        ([1.5, "Vehicle.Speed", 1], "sample 1: offset must be an integer >= 0, got 1.5"),
        ([True, "Vehicle.Speed", 1], "sample 1: offset must be an integer >= 0, got True"),
        ([2**63, "Vehicle.Speed", 1], f"sample 1: offset must be an integer >= 0, got {2**63}"),
        ([0, "Vehicle.Speed"], "sample 1: must have 3 elements [offset, signal, value], got 2"),
        ([0, "a", 1, 2], "sample 1: must have 3 elements [offset, signal, value], got 4"),
        ([], "sample 1: must have 3 elements [offset, signal, value], got 0"),
        ({"a": 1}, "sample 1: must be an array [offset, signal, value], got object"),
        ("x", "sample 1: must be an array [offset, signal, value], got string"),
        ([0, "x" * 257, 1], "sample 1: signal must be 1 to 256 characters, got 257"),
        ([0, "", 1], "sample 1: signal must be 1 to 256 characters, got 0"),
        ([0, -3, 1], "sample 1: signal id must be an integer from 0 to 2^63-1, got -3"),
        ([0, None, 1], "sample 1: signal must be a VSS path or a numeric id, got null"),
        ([0, 1.5, 1], "sample 1: signal must be a VSS path or a numeric id, got number"),
        (
            [0, "Vehicle.Speed", None],
            _v := "sample 1: value must be a boolean, number, "
            "string or flat array of them, got null",
        ),
        ([0, "Vehicle.Speed", {"a": 1}], _v.replace("null", "object")),
        ([0, "Vehicle.Speed", [[1]]], _v.replace("null", "nested array")),
        ([0, "Vehicle.Speed", [1, {"a": 1}]], _v.replace("null", "nested array")),
    ],
)
def test_bad_sample_is_listed_and_good_ones_survive(fmt: str, bad: Any, why: str) -> None:
    decoded = decode_batch(body(fmt, samples=[GOOD_A, bad, GOOD_B]))
    assert decoded.samples == [tuple(GOOD_A), tuple(GOOD_B)]
    assert decoded.indices == [0, 2]
    assert [(i, r) for i, r, _ in decoded.malformed] == [(1, why)]


def test_malformed_sample_keeps_its_json_bytes() -> None:
    decoded = decode_batch(body(samples=[[-5, "Vehicle.Speed", 1]]))
    assert decoded.malformed[0][2] == b'[-5,"Vehicle.Speed",1]'


def test_malformed_msgpack_sample_is_kept_as_json_text() -> None:
    decoded = decode_batch(body("msgpack", samples=[[-5, "Vehicle.Speed", 1]]))
    assert decoded.malformed[0][2] == b'[-5,"Vehicle.Speed",1]'


def test_kept_bytes_of_a_malformed_sample_are_bounded() -> None:
    decoded = decode_batch(body(samples=[[-1, "Vehicle.Speed", "x" * 10_000]]))
    assert len(decoded.malformed[0][2]) == 512


def test_all_samples_malformed_leaves_an_empty_batch() -> None:
    decoded = decode_batch(body(samples=[[-1, "a", 1], [-2, "b", 2]]))
    assert decoded.samples == []
    assert decoded.indices == []
    assert [i for i, _, _ in decoded.malformed] == [0, 1]


def test_json_number_too_large_for_a_float_is_a_bad_sample() -> None:
    data = body(samples=[GOOD_A]).replace(b"]]}", b'],[0,"Vehicle.Speed",1e400]]}')
    decoded = decode_batch(data)
    assert decoded.samples == [tuple(GOOD_A)]
    assert decoded.malformed[0][:2] == (1, "sample 1: value: number out of range")


# Nesting and huge strings


@both
def test_nesting_up_to_max_nesting_is_a_bad_sample_beside_good_ones(fmt: str) -> None:
    deep: Any = 1
    for _ in range(MAX_NESTING - 3):  # batch, samples and the sample itself are 3 levels
        deep = [deep]
    decoded = decode_batch(body(fmt, samples=[GOOD_A, [0, "Vehicle.Speed", deep]]))
    assert decoded.samples == [tuple(GOOD_A)]
    assert decoded.malformed[0][1].endswith("got nested array")


@both
@pytest.mark.parametrize("depth", [10_000, 200_000])
def test_very_deep_nesting_is_refused_without_crashing(fmt: str, depth: int) -> None:
    sample = body(fmt, samples=[GOOD_A])
    if fmt == "json":
        data = sample.replace(b"]]}", b'],[0,"x",' + b"[" * depth + b"]" * depth + b"]]}")
    else:
        head = msgspec.msgpack.encode({**HEADER})[1:]
        data = b"\x85" + head + b"\xa7samples\x92" + encode_sample(GOOD_A)
        data += b"\x93\x00\xa1x" + b"\x91" * depth + b"\x90"
    with pytest.raises(DecodeError, match="nested too deeply to decode"):
        decode_batch(data, max_bytes=1 << 20)


def encode_sample(sample: list[Any]) -> bytes:
    return msgspec.msgpack.encode(sample)


def test_deep_nesting_in_an_unknown_field_is_refused() -> None:
    data = body().replace(b"}", b',"x":' + b"[" * 50_000 + b"]" * 50_000 + b"}")
    with pytest.raises(DecodeError):
        decode_batch(data)


@both
def test_huge_string_value_decodes_within_the_limit(fmt: str) -> None:
    text = "é" * 100_000
    decoded = decode_batch(body(fmt, samples=[[0, "Vehicle.Cabin.Note", text]]))
    assert decoded.samples == [(0, "Vehicle.Cabin.Note", text)]


def test_huge_signal_name_is_a_bad_sample() -> None:
    decoded = decode_batch(body(samples=[GOOD_A, [0, "V" * 100_000, 1]]))
    assert decoded.samples == [tuple(GOOD_A)]
    assert decoded.malformed[0][1] == "sample 1: signal must be 1 to 256 characters, got 100000"


# Numbers


def test_msgpack_carries_nan_and_inf_to_validation() -> None:
    batch = Batch(1, VIN, 1, 0, [(0, "a", math.nan), (1, "b", math.inf), (2, "c", -math.inf)])
    decoded = decode_batch(encode_msgpack(batch))
    values = [s[2] for s in decoded.samples]
    assert math.isnan(values[0]) and values[1:] == [math.inf, -math.inf]  # type: ignore[arg-type]
    assert decoded.malformed == []


@pytest.mark.parametrize("value", [math.nan, math.inf, [1.0, -math.inf]])
def test_json_refuses_to_encode_nan_and_inf(value: Any) -> None:
    with pytest.raises(ValueError, match="JSON cannot carry NaN"):
        encode_json(Batch(1, VIN, 1, 0, [(0, "Vehicle.Speed", value)]))


def test_string_null_is_not_mistaken_for_nan() -> None:
    batch = Batch(1, VIN, 1, 0, [(0, "Vehicle.Note", "null")])
    assert json.loads(encode_json(batch))["samples"] == [[0, "Vehicle.Note", "null"]]


def test_int_and_bool_and_float_values_keep_their_types() -> None:
    decoded = decode_batch(body(samples=[[0, "a", 1], [0, "b", 1.0], [0, "c", True]]))
    assert [type(s[2]) for s in decoded.samples] == [int, float, bool]


def test_encoded_keys_are_in_wire_order() -> None:
    data = encode_json(Batch(1, VIN, 3, 4, []))
    assert data == b'{"v":1,"vin":"JHMZZ1A1XRV000001","seq":3,"ts":4,"samples":[]}'


def test_invalid_utf8_in_a_msgpack_sample_is_a_bad_sample() -> None:
    good = body("msgpack", samples=[GOOD_A, [0, "Vehicle.Speed", "ab"]])
    data = good.replace(b"\xa2ab", b"\xa2a\x80")
    decoded = decode_batch(data)
    assert decoded.samples == [tuple(GOOD_A)]
    assert [(i, r) for i, r, _ in decoded.malformed] == [
        (1, "sample 1: a string is not valid UTF-8")
    ]


def test_invalid_utf8_in_a_msgpack_vin_is_refused() -> None:
    data = body("msgpack").replace(VIN.encode(), b"\x80" + VIN[1:].encode())
    assert reason(data) == "vin: a string is not valid UTF-8"


def test_invalid_utf8_in_a_msgpack_key_is_refused() -> None:
    assert reason(b"\x81\xa1\x80\x01") == "not valid MessagePack: a string is not valid UTF-8"


def test_invalid_utf8_in_json_is_refused() -> None:
    assert reason(body().replace(b'"vin"', b'"v\x80n"')).startswith("not valid JSON: ")
