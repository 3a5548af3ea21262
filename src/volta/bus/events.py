"""Events that cross the bus, as msgspec Structs (MessagePack on the wire), and their subjects."""

from __future__ import annotations

import msgspec


def telemetry_subject(vin: str) -> str:
    """Where a vehicle's stored telemetry is announced: `telemetry.{vin}`."""
    return f"telemetry.{vin}"


TELEMETRY_ALL = "telemetry.*"


class TelemetryStored(msgspec.Struct, frozen=True, array_like=True):
    """The good samples of one batch, published after they are durably stored.

    Column-wise like `AcceptedBatch`: one entry per sample in the four lists; exactly one of
    `num[i]`/`txt[i]` is not None. Turn values back into VSS types with `Signal.from_stored`."""

    vin: str
    seq: int
    ts_ms: int  # the batch's base time
    signal_ids: list[int]
    ts: list[int]
    num: list[float | None]
    txt: list[str | None]


def twin_subject(worker: int) -> str:
    """Where gateway worker `worker` announces each commit's stored batches for the API's twin."""
    return f"twin.{worker}"


TWIN_ALL = "twin.*"


class StoredGroup(msgspec.Struct, frozen=True, array_like=True):
    """Every batch one group commit stored, in commit order: the scale-out API's twin follows
    one of these per commit instead of one event per batch (~50 a second per worker rather
    than thousands), which keeps that process's bus handling off the GIL its reads need."""

    batches: list[TelemetryStored]
