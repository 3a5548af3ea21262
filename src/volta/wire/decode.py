"""Decoding of v1 batches: a typed fast path, and a lenient path that sorts out bad samples."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from volta.errors import DecodeError, PayloadTooLarge
from volta.wire.batch import (
    INT64_MAX,
    INT64_MIN,
    MAX_SIGNAL_LENGTH,
    Batch,
    Sample,
)
from volta.wire.vin import is_valid_vin, vin_reason

Format = Literal["JSON", "MessagePack"]

DEFAULT_MAX_BYTES = 256 * 1024
SUPPORTED_VERSION = 1
# Nesting (the batch object is level 1, a list value level 4) up to which a bad sample is
# always classified on its own. Deeper input may be refused whole: msgspec guards its
# recursion with the interpreter's limit (~1000 levels) rather than a limit of its own.
MAX_NESTING = 64
MAX_QUARANTINE_SAMPLE_BYTES = 512
_FIELDS = ("v", "vin", "seq", "ts", "samples")
_JSON_START = frozenset(b"{ \t\r\n")
_NOT_UTF8 = "a string is not valid UTF-8"


@dataclass(frozen=True, slots=True)
class DecodedBatch:
    """A decoded batch: its header, its well-shaped samples, and the malformed ones.

    `indices[k]` is the position in the original batch of `samples[k]`; None means
    `samples` is the whole original list. `malformed` holds (position, reason, raw bytes
    of the sample, at most 512) for each sample that is not `[offset, signal, value]`.
    """

    v: int
    vin: str
    seq: int
    ts: int
    samples: list[Sample]
    indices: list[int] | None = None
    malformed: list[tuple[int, str, bytes]] = field(default_factory=list)


class _Codec:
    """The decoders of one encoding, created once."""

    def __init__(self, name: Format, module: Any) -> None:
        self.name: Format = name
        self.strict = module.Decoder(Batch)
        self.top = module.Decoder(dict[str, msgspec.Raw])
        self.raws = module.Decoder(list[msgspec.Raw])
        self.sample = module.Decoder(Sample)
        self.any = module.Decoder()


_JSON = _Codec("JSON", msgspec.json)
_MSGPACK = _Codec("MessagePack", msgspec.msgpack)


def decode_batch(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> DecodedBatch:
    """Decode a JSON or MessagePack v1 batch, told apart by its first byte.

    Raises PayloadTooLarge over `max_bytes` and DecodeError when the batch as a whole is
    unusable; bad samples do not fail the batch but are listed in `malformed`.
    """
    if not data:
        raise DecodeError("empty body")
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"batch is {len(data)} bytes, over the limit of {max_bytes}")
    codec = _codec_for(data[0])
    try:
        try:
            batch: Batch = codec.strict.decode(data)
        except (msgspec.DecodeError, UnicodeDecodeError):
            return _decode_lenient(data, codec)
        _check_header(batch.v, batch.vin, batch.seq, batch.ts)
        return DecodedBatch(batch.v, batch.vin, batch.seq, batch.ts, batch.samples)
    except RecursionError:
        raise DecodeError(
            f"{codec.name} nested too deeply to decode (a v1 batch needs 4 levels)"
        ) from None
    except UnicodeDecodeError:
        # msgspec checks MessagePack strings with Python's codec, which raises its own error.
        raise DecodeError(f"not valid {codec.name}: {_NOT_UTF8}") from None


def _codec_for(first: int) -> _Codec:
    if first in _JSON_START:
        return _JSON
    if 0x80 <= first <= 0x8F or first in (0xDE, 0xDF):
        return _MSGPACK
    raise DecodeError(
        f"body is neither a JSON object nor a MessagePack map (first byte 0x{first:02x})"
    )


def _check_header(v: int, vin: str, seq: int, ts: int) -> None:
    if v != SUPPORTED_VERSION:
        raise DecodeError(
            f"unsupported schema version {_show(v)} (this gateway speaks v{SUPPORTED_VERSION})"
        )
    if not is_valid_vin(vin):
        raise DecodeError(vin_reason(vin))
    if not 0 <= seq <= INT64_MAX:
        raise DecodeError(f"seq must be an integer from 0 to 2^63-1, got {_show(seq)}")
    if not INT64_MIN <= ts <= INT64_MAX:
        raise DecodeError(f"ts must be a 64-bit integer (ms since the epoch), got {_show(ts)}")


def _decode_lenient(data: bytes, codec: _Codec) -> DecodedBatch:
    """The slow path: find out what is wrong, keep what is right."""
    top = _decode_top(data, codec)
    unknown = sorted(set(top) - set(_FIELDS))
    if unknown:
        # _show bounds the name: a reason is stored and shown, never a 200 KiB echo.
        raise DecodeError(f"unknown field {_show(unknown[0])} (v1 has v, vin, seq, ts, samples)")
    for name in _FIELDS:
        if name not in top:
            raise DecodeError(f"missing field {name!r}")
    v = _header_int(codec, top, "v")
    if v != SUPPORTED_VERSION:
        _check_header(v, "", 0, 0)
    vin_raw = _decode_any(codec, top["vin"], "vin")
    if not isinstance(vin_raw, str):
        raise DecodeError(f"vin must be a string, got {_kind(vin_raw)}")
    seq = _header_int(codec, top, "seq")
    ts = _header_int(codec, top, "ts")
    _check_header(v, vin_raw, seq, ts)
    try:
        raws = codec.raws.decode(top["samples"])
    except msgspec.ValidationError:
        found = _decode_any(codec, top["samples"], "samples")
        raise DecodeError(f"samples must be an array, got {_kind(found)}") from None
    samples: list[Sample] = []
    indices: list[int] = []
    malformed: list[tuple[int, str, bytes]] = []
    for i, raw in enumerate(raws):
        try:
            samples.append(codec.sample.decode(raw))
            indices.append(i)
        except (msgspec.DecodeError, UnicodeDecodeError) as err:
            malformed.append((i, _sample_reason(codec, i, raw, err), _keep(codec, raw)))
    return DecodedBatch(
        v, vin_raw, seq, ts, samples, None if len(samples) == len(raws) else indices, malformed
    )


def _decode_top(data: bytes, codec: _Codec) -> dict[str, msgspec.Raw]:
    try:
        top: dict[str, msgspec.Raw] = codec.top.decode(data)
    except msgspec.ValidationError as err:
        msg = str(err)
        if msg.startswith("Expected `object`, got `"):
            got = msg.split("`")[3]
            raise DecodeError(f"top level must be an object, got {got}") from None
        raise DecodeError(f"top level: {msg}") from None
    except msgspec.DecodeError as err:
        msg = str(err)
        if "truncated" in msg:
            raise DecodeError(f"truncated {codec.name} at byte {len(data)}") from None
        raise DecodeError(f"not valid {codec.name}: {_strip_prefix(msg)}") from None
    return top


def _message(err: Exception) -> str:
    return _NOT_UTF8 if isinstance(err, UnicodeDecodeError) else str(err)


def _strip_prefix(msg: str) -> str:
    for prefix in ("JSON is malformed: ", "MessagePack data is malformed: "):
        if msg.startswith(prefix):
            return msg[len(prefix) :]
    return msg


def _decode_any(codec: _Codec, raw: msgspec.Raw, what: str) -> Any:
    try:
        return codec.any.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError) as err:
        raise DecodeError(f"{what}: {_located(_message(err))}") from None


def _header_int(codec: _Codec, top: dict[str, msgspec.Raw], name: str) -> int:
    found = _decode_any(codec, top[name], name)
    if isinstance(found, bool) or not isinstance(found, int):
        raise DecodeError(f"{name} must be an integer, got {_kind(found)}")
    return found


def _sample_reason(codec: _Codec, i: int, raw: msgspec.Raw, err: Exception) -> str:
    try:
        sample = codec.any.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError) as inner:
        return f"sample {i}: {_located(_message(inner))}"
    if not isinstance(sample, list):
        return f"sample {i}: must be an array [offset, signal, value], got {_kind(sample)}"
    if len(sample) != 3:
        return f"sample {i}: must have 3 elements [offset, signal, value], got {len(sample)}"
    offset, signal, value = sample
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= INT64_MAX:
        return f"sample {i}: offset must be an integer >= 0, got {_show(offset)}"
    if isinstance(signal, str):
        if not 1 <= len(signal) <= MAX_SIGNAL_LENGTH:
            return (
                f"sample {i}: signal must be 1 to {MAX_SIGNAL_LENGTH} characters, got {len(signal)}"
            )
    elif isinstance(signal, int) and not isinstance(signal, bool):
        if not 0 <= signal <= INT64_MAX:
            return f"sample {i}: signal id must be an integer from 0 to 2^63-1, got {_show(signal)}"
    else:
        return f"sample {i}: signal must be a VSS path or a numeric id, got {_kind(signal)}"
    if not _is_value(value):
        return (
            f"sample {i}: value must be a boolean, number, string or flat array of them, "
            f"got {_kind(value)}"
        )
    # Every shape check passed, yet msgspec refused it: say what msgspec said.
    return f"sample {i}: {err}"


def _located(msg: str) -> str:
    """msgspec's "Number out of range - at `$[2]`" as "value: number out of range"."""
    text, _, where = _strip_prefix(msg).partition(" - at `$")
    text = text[:1].lower() + text[1:]
    part = where[1:2]
    if where[:1] == "[" and part in ("0", "1", "2") and where[2:3] == "]":
        return f"{('offset', 'signal', 'value')[int(part)]}: {text}"
    return text


def _is_value(value: Any) -> bool:
    if isinstance(value, list):
        return all(_is_scalar(x) for x in value)
    return _is_scalar(value)


def _is_scalar(x: Any) -> bool:
    return isinstance(x, bool | int | float | str)


_KINDS: dict[type, str] = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
    type(None): "null",
    bytes: "binary",
}


def _kind(x: Any) -> str:
    if isinstance(x, list) and not _is_value(x):
        return "nested array"
    return _KINDS.get(type(x), type(x).__name__)


def _show(x: Any) -> str:
    if isinstance(x, bool | int | float | str):
        text = repr(x)
        return text if len(text) <= 40 else text[:37] + "..."
    return _kind(x)


def _keep(codec: _Codec, raw: msgspec.Raw) -> bytes:
    """The bytes of a bad sample kept for quarantine: JSON text, at most 512 bytes."""
    data = bytes(raw)
    if codec is _MSGPACK:
        # Quarantine is read by people: show MessagePack samples as JSON when possible.
        with contextlib.suppress(msgspec.DecodeError, msgspec.EncodeError, TypeError, ValueError):
            data = msgspec.json.encode(msgspec.msgpack.decode(data))
    return data[:MAX_QUARANTINE_SAMPLE_BYTES]
