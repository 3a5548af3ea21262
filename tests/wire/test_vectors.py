"""Golden vectors: the stored bytes, the Batches they encode, and docs/wire-format.md agree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from volta.errors import DecodeError, PayloadTooLarge
from volta.wire import Batch, DecodedBatch, decode_batch, encode_json, encode_msgpack

from .vectors import GOOD, PARTIAL, REFUSED, VECTOR_DIR

DOC = Path(__file__).resolve().parents[2] / "docs" / "wire-format.md"
_FENCE = re.compile(r"^```(\w+) (vector|reason)=(\w+)\n(.*?)^```$", re.M | re.S)


def _doc_blocks() -> dict[tuple[str, str], str]:
    blocks: dict[tuple[str, str], str] = {}
    for lang, _, name, body in _FENCE.findall(DOC.read_text(encoding="utf-8")):
        assert (lang, name) not in blocks, f"{lang} block for {name} appears twice"
        blocks[(lang, name)] = body
    return blocks


def _as_batch(decoded: DecodedBatch) -> Batch:
    return Batch(
        v=decoded.v,
        vin=decoded.vin,
        seq=decoded.seq,
        ts=decoded.ts,
        samples=decoded.samples,
    )


@pytest.mark.parametrize("name", sorted(GOOD))
def test_encode_json_gives_the_stored_vector_bytes(name: str) -> None:
    assert encode_json(GOOD[name]) == (VECTOR_DIR / f"{name}.json").read_bytes()


@pytest.mark.parametrize("name", sorted(GOOD))
def test_encode_msgpack_gives_the_stored_vector_bytes(name: str) -> None:
    assert encode_msgpack(GOOD[name]) == (VECTOR_DIR / f"{name}.msgpack").read_bytes()


@pytest.mark.parametrize("suffix", ["json", "msgpack"])
@pytest.mark.parametrize("name", sorted(GOOD))
def test_decoding_a_vector_gives_its_batch(name: str, suffix: str) -> None:
    decoded = decode_batch((VECTOR_DIR / f"{name}.{suffix}").read_bytes())
    assert _as_batch(decoded) == GOOD[name]
    assert decoded.indices is None
    assert decoded.malformed == []


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_vector_gets_its_exact_reason(name: str) -> None:
    data, reason = REFUSED[name]
    assert (VECTOR_DIR / f"{name}.json").read_bytes() == data
    with pytest.raises(DecodeError) as err:
        decode_batch(data)
    assert str(err.value) == reason


@pytest.mark.parametrize("name", sorted(PARTIAL))
def test_partial_vector_keeps_good_samples_and_gives_exact_reasons(name: str) -> None:
    data, kept, reasons = PARTIAL[name]
    assert (VECTOR_DIR / f"{name}.json").read_bytes() == data
    decoded = decode_batch(data)
    assert list(zip(decoded.indices or [], decoded.samples, strict=True)) == kept
    assert [(i, reason) for i, reason, _ in decoded.malformed] == reasons


def test_doc_shows_every_vector_exactly() -> None:
    blocks = _doc_blocks()
    expected = {("json", n) for n in [*GOOD, *REFUSED, *PARTIAL]} | {("hex", n) for n in GOOD}
    expected |= {("text", n) for n in [*REFUSED, *PARTIAL]}
    assert set(blocks) == expected
    for name in [*GOOD, *REFUSED, *PARTIAL]:
        shown = blocks[("json", name)].rstrip("\n").encode("utf-8")
        assert shown == (VECTOR_DIR / f"{name}.json").read_bytes(), name
    for name in GOOD:
        shown_hex = "".join(blocks[("hex", name)].split())
        assert bytes.fromhex(shown_hex) == (VECTOR_DIR / f"{name}.msgpack").read_bytes(), name


def test_doc_shows_the_exact_reasons() -> None:
    blocks = _doc_blocks()
    for name, (_, reason) in REFUSED.items():
        assert blocks[("text", name)].rstrip("\n") == reason
    for name, (_, _, reasons) in PARTIAL.items():
        assert blocks[("text", name)].rstrip("\n").split("\n") == [r for _, r in reasons]


def test_design_example_vector_is_the_batch_in_design_md() -> None:
    batch = GOOD["design_example"]
    assert (batch.vin, batch.seq, batch.ts) == ("JHMZZ1A1XRV000001", 42, 1764201600000)
    assert [s[0] for s in batch.samples] == [0, 0, 1000]


_HEAD = b'{"v":1,"vin":"JHMZZ1A1XRV000001","seq":1,"ts":0,"samples":'
# Every example reason listed in the doc, and an input that gets it.
_DOC_REASONS: dict[str, bytes] = {
    "empty body": b"",
    "truncated JSON at byte 57": (_HEAD + b"[]}")[:57],
    "not valid JSON: invalid character (byte 5)": b'{"v":NaN}',
    "top level must be an object, got array": b" [1, 2]",
    "body is neither a JSON object nor a MessagePack map (first byte 0x5b)": b"[1, 2]",
    "missing field 'ts'": b'{"v":1,"vin":"JHMZZ1A1XRV000001","seq":1,"samples":[]}',
    "seq must be an integer, got string": _HEAD.replace(b'"seq":1', b'"seq":"1"') + b"[]}",
    "unsupported schema version 2 (this gateway speaks v1)": _HEAD.replace(b"1", b"2", 1) + b"[]}",
    "vin 'ABC' must be 17 characters A-Z/0-9 without I, O, Q": _HEAD.replace(
        b"JHMZZ1A1XRV000001", b"ABC"
    )
    + b"[]}",
    "samples must be an array, got object": _HEAD + b"{}}",
    "batch is 300000 bytes, over the limit of 262144": _HEAD + b"[]" + b" " * 299_939 + b"}",
}


def test_doc_example_reasons_are_the_real_ones() -> None:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("Examples of whole-batch reasons", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^- `([^`]+)`", section, re.M)
    assert sorted(listed) == sorted(_DOC_REASONS)
    for reason, data in _DOC_REASONS.items():
        with pytest.raises((DecodeError, PayloadTooLarge)) as err:
            decode_batch(data)
        assert str(err.value) == reason
