"""Query parameters shared by routes: time ranges and signal lists, with clear errors."""

from __future__ import annotations

from datetime import UTC, datetime

from volta.catalog import Catalog, Signal
from volta.errors import BadRequest


def parse_time(name: str, text: str) -> int:
    """ms since the epoch from an integer (ms) or ISO-8601 (no zone means UTC)."""
    value = text.strip()
    if value.lstrip("-").isdigit():
        return int(value)
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(
            f"{name}: expected ISO-8601 (2026-01-31T12:00:00Z) or ms since the epoch, got {text!r}"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def time_range(
    start: str | None, end: str | None, now_ms: int, default_span_ms: int
) -> tuple[int, int]:
    """[start, end) in ms; `end` defaults to now, `start` to `end - default_span_ms`."""
    end_ms = parse_time("end", end) if end else now_ms
    start_ms = parse_time("start", start) if start else end_ms - default_span_ms
    if start_ms >= end_ms:
        raise BadRequest(f"start ({start_ms}) must be before end ({end_ms})")
    return start_ms, end_ms


def parse_signals(catalog: Catalog, text: str) -> list[Signal]:
    """Comma-separated VSS paths or numeric ids; UnknownSignal names the first unknown one."""
    keys = [k.strip() for k in text.split(",") if k.strip()]
    if not keys:
        raise BadRequest("signals: give at least one VSS path or id, comma-separated")
    out: list[Signal] = []
    for key in keys:
        sig = catalog.get(int(key) if key.isdigit() else key)
        if sig not in out:
            out.append(sig)
    return out
