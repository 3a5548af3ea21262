"""The MQTT topics of telemetry, and the fixed shards that spread it over gateway workers.

A vehicle publishes its batches to `{prefix}/{vin}/telemetry/{shard}`, where `shard` is
`shard_of(vin)`: CRC-32 of the VIN's ASCII bytes modulo `SHARDS` (64), a number every car
can compute. Gateway worker `i` of `n` subscribes to the shards `k` with `k % n == i`, each
with an ordinary (not shared) subscription in its persistent session: Mosquitto restores
those after its own restart and queues for them while the worker is away, which it does not
do for MQTT 5 shared subscriptions (docs/deployment.md). The shard count is part of the wire
format and never changes, so that cars never need to know how many workers there are.

`{prefix}/{vin}/telemetry` without a shard is the topic of cars built before the shards; the
gateway still takes it (through a shared subscription, with that subscription's limits).
"""

from __future__ import annotations

import zlib

from volta.wire.vin import is_valid_vin

DEFAULT_PREFIX = "volta/v1"
SHARDS = 64
TELEMETRY = "telemetry"


def shard_of(vin: str) -> int:
    """The telemetry shard of `vin`: CRC-32 (as zlib, IEEE 802.3) of its ASCII bytes mod 64."""
    return zlib.crc32(vin.encode("ascii", "replace")) % SHARDS


def telemetry_topic(vin: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The MQTT topic a vehicle publishes its telemetry batches to (its shard's)."""
    return f"{prefix}/{vin}/{TELEMETRY}/{shard_of(vin)}"


def legacy_telemetry_topic(vin: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The topic of cars built before the shards: still accepted, see the module docstring."""
    return f"{prefix}/{vin}/{TELEMETRY}"


def shard_filter(shard: int, prefix: str = DEFAULT_PREFIX) -> str:
    """The subscription that receives every vehicle's batches of `shard`."""
    return f"{prefix}/+/{TELEMETRY}/{shard}"


def owned_shards(index: int, workers: int) -> list[int]:
    """The shards gateway worker `index` of `workers` subscribes to: every `workers`-th."""
    return list(range(index, SHARDS, workers)) if 0 <= index < workers else []


def _vin_level(topic: str, prefix: str = DEFAULT_PREFIX) -> str | None:
    """The level where a telemetry topic names its vehicle (valid VIN or not), or None when
    `topic` is not `{prefix}/{x}/telemetry` or `{prefix}/{x}/telemetry/{shard}`."""
    head = prefix + "/"
    if not topic.startswith(head):
        return None
    vin, _, tail = topic[len(head) :].partition("/")
    if tail == TELEMETRY:
        return vin
    kind, _, shard = tail.partition("/")
    return vin if kind == TELEMETRY and _is_shard(shard) else None


def vin_from_topic(topic: str, prefix: str = DEFAULT_PREFIX) -> str | None:
    """The VIN in a telemetry topic (with a shard or without), or None if the topic is not
    that shape. A topic whose VIN level is not a valid VIN also gives None, so a caller
    cannot mistake a malformed topic for a vehicle. The shard is not checked against the
    VIN: a batch on another shard only reaches another worker, which stores it all the same.
    """
    vin = _vin_level(topic, prefix)
    return vin if vin is not None and is_valid_vin(vin) else None


def _is_shard(level: str) -> bool:
    # Only the canonical spelling ("7", never "07"): that is what the workers subscribe to.
    return level.isascii() and level.isdigit() and str(int(level)) == level and int(level) < SHARDS
