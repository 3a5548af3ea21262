"""Admission: what the gateway decides about each message before anything is committed.

First the refusals that cost no decoding (not a VIN, not a registered vehicle, an empty ingest
budget), then `pipeline.prepare_many` (decode, check the header, validate every sample against
the catalog), then each vehicle's budget charged with what it sent. Never raises for any
input: a bug costs one message, refused with `internal_error`, never the transport. Reads no
clock: each message carries the time it was received.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import cast

from volta.catalog import Catalog
from volta.config import Settings
from volta.ingest import codes
from volta.ingest.budget import IngestBudget
from volta.ingest.pipeline import (
    Limits,
    Prepared,
    invalid_vin_reason,
    prepare,
    prepare_many,
    refusal,
)
from volta.wire import is_valid_vin

log = logging.getLogger(__name__)


class Admission:
    """Prepares messages for the commit; `known_vehicle` None admits any VIN (benchmarks)."""

    def __init__(
        self,
        catalog: Catalog,
        settings: Settings,
        known_vehicle: Callable[[str], bool] | None = None,
    ) -> None:
        self.catalog = catalog
        self.known_vehicle = known_vehicle
        self._limits = Limits.from_settings(settings, 0)
        # Per-vehicle budgets apply to what vehicles send over the network (the gateway's
        # `submit` and `ingest`: MQTT, HTTP). `ingest_many` is the trusted in-process path
        # (simulator, demo backfill of an hour of history in seconds) and is not budgeted.
        self.budget = IngestBudget(
            settings.ingest_budget_samples_per_s, settings.ingest_budget_burst
        )

    def prepare_many(
        self, messages: Sequence[tuple[bytes, str, int]], budgeted: bool = False
    ) -> list[Prepared]:
        """Each `(payload, vin, received_ms)` prepared (`pipeline.prepare_many`) after the
        refusals decided before decoding and, when `budgeted`, charged to its vehicle's ingest
        budget, in order, so that budgets are charged in arrival order; never raises for any
        input."""
        out: list[Prepared | None] = [None] * len(messages)
        todo: list[int] = []
        for k, (payload, vin, received_ms) in enumerate(messages):
            try:
                out[k] = self._screen(payload, vin, received_ms, budgeted)
            except Exception as err:  # a bug must cost one message, not the transport
                out[k] = self._internal_error(payload, vin, received_ms, err)
            if out[k] is None:
                todo.append(k)
        try:
            found = prepare_many([messages[k] for k in todo], self.catalog, self._limits)
        except Exception:  # a bug in the group path: check the messages one by one
            log.exception("preparing a group of %d messages failed", len(todo))
            found = [self._prepare_one(*messages[k]) for k in todo]
        for k, prepared in zip(todo, found, strict=True):
            out[k] = self._charge(prepared, messages[k][0], budgeted) if budgeted else prepared
        return cast(list[Prepared], out)

    def _screen(
        self, payload: bytes, vin: str, received_ms: int, budgeted: bool
    ) -> Prepared | None:
        """The refusals decided before decoding (VIN, registry, empty budget), else None."""
        # The VIN first: a transport hands over whatever names the vehicle (an MQTT topic
        # level, a URL segment), and "not a VIN" is the precise reason for junk there.
        if not is_valid_vin(vin):
            reason = invalid_vin_reason(vin)
            return self._refuse(payload, vin, None, received_ms, codes.INVALID_VIN, reason)
        if self.known_vehicle is not None and not self.known_vehicle(vin):
            reason = f"vehicle {vin} is not registered"
            return self._refuse(payload, vin, None, received_ms, codes.UNKNOWN_VEHICLE, reason)
        if budgeted and self.budget.enabled:
            # An empty bucket refuses before decoding: a flood costs little CPU.
            wait = self.budget.exhausted(vin, received_ms)
            if wait is not None:
                return self._rate_limited(payload, vin, None, received_ms, wait)
        return None

    def _charge(self, prepared: Prepared, payload: bytes, budgeted: bool) -> Prepared:
        """Charge a prepared message to its vehicle's budget; over budget, refuse it whole."""
        if not (budgeted and self.budget.enabled):
            return prepared
        b = prepared.batch
        # Every sample counts, rejected ones too; a refused message counts as one.
        n = len(b) + b.rejected if b is not None else 1
        wait = self.budget.take(prepared.vin, n, prepared.received_ms)
        if wait is None:
            return prepared
        return self._rate_limited(payload, prepared.vin, prepared.seq, prepared.received_ms, wait)

    def _prepare_one(self, payload: bytes, vin: str, received_ms: int) -> Prepared:
        try:
            limits = self._limits._replace(now_ms=received_ms)
            return prepare(payload, vin, received_ms, self.catalog, limits)
        except Exception as err:  # a bug must cost one message, not the transport
            return self._internal_error(payload, vin, received_ms, err)

    def _internal_error(
        self, payload: bytes, vin: str, received_ms: int, err: Exception
    ) -> Prepared:
        log.error("preparing a message from %s failed", vin, exc_info=err)
        reason = f"internal error while checking the batch ({type(err).__name__})"
        return self._refuse(payload, vin, None, received_ms, codes.INTERNAL_ERROR, reason)

    def _refuse(
        self, payload: bytes, vin: str, seq: int | None, received_ms: int, code: str, reason: str
    ) -> Prepared:
        limits = self._limits._replace(now_ms=received_ms)
        return refusal(payload, vin, seq, received_ms, limits, code, reason)

    def _rate_limited(
        self, payload: bytes, vin: str, seq: int | None, received_ms: int, wait_s: float
    ) -> Prepared:
        budget = self.budget
        reason = (
            f"vehicle {vin} is over its ingest budget of {budget.rate_per_ms * 1000:g} samples/s "
            f"(burst {budget.burst:g}); send again in {wait_s:g} s"
        )
        refused = self._refuse(payload, vin, seq, received_ms, codes.RATE_LIMITED, reason)
        refused.retry_after_s = wait_s
        return refused
