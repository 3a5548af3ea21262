"""Telemetry topics and their shards: what a car computes, what the gateway reads back."""

from __future__ import annotations

import zlib

import pytest

from volta.wire import (
    SHARDS,
    legacy_telemetry_topic,
    owned_shards,
    shard_filter,
    shard_of,
    telemetry_topic,
    vin_from_topic,
)

VIN = "JHMZZ1A1XRV000001"


def test_a_cars_shard_is_crc32_of_its_vin_mod_64() -> None:
    # Pinned values: a car's firmware computes the same (zlib / IEEE 802.3 CRC-32).
    assert shard_of(VIN) == 12 == zlib.crc32(VIN.encode()) % 64
    assert shard_of("WVWZZZ1JZXW000001") == 47
    assert telemetry_topic(VIN) == f"volta/v1/{VIN}/telemetry/12"


def test_a_thousand_vins_spread_over_all_shards() -> None:
    counts = [0] * SHARDS
    for i in range(1000):
        counts[shard_of(f"JHMZZ1A1XRV{i:06d}")] += 1
    assert min(counts) >= 5 and max(counts) <= 30, counts


def test_telemetry_topics_round_trip_with_and_without_a_shard() -> None:
    for topic in (telemetry_topic(VIN), legacy_telemetry_topic(VIN)):
        assert vin_from_topic(topic) == VIN
    assert vin_from_topic(telemetry_topic(VIN, "test/abc"), "test/abc") == VIN
    assert vin_from_topic(legacy_telemetry_topic(VIN, "test/abc"), "test/abc") == VIN


@pytest.mark.parametrize(
    "topic",
    [
        f"volta/v1/{VIN}/events",
        f"volta/v1/{VIN}/telemetry/x",
        f"volta/v1/{VIN}/telemetry/07",
        f"volta/v1/{VIN}/telemetry/64",
        f"volta/v1/{VIN}/telemetry/-1",
        f"volta/v1/{VIN}/telemetry/",
        f"volta/v1/{VIN}/telemetry/1/2",
        f"volta/v2/{VIN}/telemetry",
        f"x/volta/v1/{VIN}/telemetry",
        "volta/v1/+/telemetry",
        "volta/v1//telemetry",
        "volta/v1/ABC/telemetry",
        "volta/v1/ABC/telemetry/3",
        f"volta/v1/{VIN}/{VIN}/telemetry",
    ],
)
def test_other_topics_give_no_vin(topic: str) -> None:
    assert vin_from_topic(topic) is None


def test_topic_under_another_prefix_gives_no_vin() -> None:
    assert vin_from_topic(telemetry_topic(VIN), "test/abc") is None


@pytest.mark.parametrize("workers", [1, 2, 3, 7, 64])
def test_workers_own_every_shard_exactly_once(workers: int) -> None:
    owned = [k for i in range(workers) for k in owned_shards(i, workers)]
    assert sorted(owned) == list(range(SHARDS))


def test_an_index_beyond_the_workers_owns_nothing() -> None:
    assert owned_shards(2, 2) == [] and owned_shards(-1, 2) == []


def test_a_shard_filter_matches_its_topics_only() -> None:
    assert shard_filter(12) == "volta/v1/+/telemetry/12"
    assert shard_filter(shard_of(VIN), "p/v1") == telemetry_topic(VIN, "p/v1").replace(VIN, "+")
