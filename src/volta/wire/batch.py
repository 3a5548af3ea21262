"""The v1 telemetry batch and its two encodings (JSON and MessagePack)."""

from __future__ import annotations

import math
from typing import Annotated, TypeAlias

import msgspec

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
MAX_SIGNAL_LENGTH = 256

Scalar: TypeAlias = bool | int | float | str
Value: TypeAlias = bool | int | float | str | list[bool | int | float | str]

# The constraints below live in the type so that msgspec checks them in C on the fast path;
# they are invisible to type checkers, for which these are plain ints and strs.
Offset = Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX)]
SignalPath = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_SIGNAL_LENGTH)]
SignalId = Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX)]
Sample: TypeAlias = tuple[Offset, SignalPath | SignalId, Value]


class Batch(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One telemetry message: samples taken at `ts + offset` ms by vehicle `vin`.

    `samples` holds `(offset_ms, signal, value)`; `signal` is a VSS path or the catalog's
    numeric id. Field order is the wire key order: v, vin, seq, ts, samples.
    """

    v: int
    vin: str
    seq: int
    ts: int
    samples: list[Sample]


_json_encoder = msgspec.json.Encoder()
_msgpack_encoder = msgspec.msgpack.Encoder()


def encode_json(batch: Batch) -> bytes:
    """The batch as compact JSON, keys in wire order. Raises ValueError for NaN or ±inf."""
    data = _json_encoder.encode(batch)
    # msgspec writes non-finite floats as null; a v1 value is never null, so "null" in the
    # output is a cheap sign of one (strings containing "null" make us look closer).
    if b"null" in data and _has_non_finite(batch):
        raise ValueError("JSON cannot carry NaN or ±inf; send this batch as MessagePack")
    return data


def encode_msgpack(batch: Batch) -> bytes:
    """The batch as MessagePack: a map with keys in wire order, floats as float64."""
    return _msgpack_encoder.encode(batch)


def _has_non_finite(batch: Batch) -> bool:
    for _, _, value in batch.samples:
        items = value if isinstance(value, list) else [value]
        if any(isinstance(x, float) and not math.isfinite(x) for x in items):
            return True
    return False
