"""Wire format v1: the telemetry batch, its JSON and MessagePack codecs, VINs and topics.

`docs/wire-format.md` is the normative description; `decode_batch` is the gateway's way in.
"""

from volta.wire.batch import Batch, Sample, Scalar, Value, encode_json, encode_msgpack
from volta.wire.decode import MAX_NESTING, DecodedBatch, decode_batch
from volta.wire.topics import (
    SHARDS,
    legacy_telemetry_topic,
    owned_shards,
    shard_filter,
    shard_of,
    telemetry_topic,
    vin_from_topic,
)
from volta.wire.vin import is_valid_vin

__all__ = [
    "MAX_NESTING",
    "SHARDS",
    "Batch",
    "DecodedBatch",
    "Sample",
    "Scalar",
    "Value",
    "decode_batch",
    "encode_json",
    "encode_msgpack",
    "is_valid_vin",
    "legacy_telemetry_topic",
    "owned_shards",
    "shard_filter",
    "shard_of",
    "telemetry_topic",
    "vin_from_topic",
]
