"""Query parameters shared by routes: time ranges and signal lists, with clear errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from volta.catalog import Catalog, Signal
from volta.errors import BadRequest

# Times a query may name: those of ISO-8601's years 0001-9999 (with a day to spare for zone
# offsets), so that `end - span` and the stores' 64-bit columns never overflow.
MIN_TIME_MS = -62_135_596_800_000 - 86_400_000
MAX_TIME_MS = 253_402_300_799_999 + 86_400_000
# What a 64-bit database column (SQLite, DuckDB, PostgreSQL BIGINT) holds: the bounds of every
# integer query parameter that reaches a store (a larger one made the driver raise, a 500).
_INT = re.compile(r"-?[0-9]{1,19}")  # ASCII only: str.isdigit() also says yes to "²"
_ID = re.compile(r"[0-9]{1,19}")


def signal_key(text: str) -> str | int:
    """A signal given in a URL: a numeric id when it is one (ASCII digits, at most 64 bits),
    else the text as a VSS path."""
    return int(text) if _ID.fullmatch(text) else text


def parse_time(name: str, text: str) -> int:
    """ms since the epoch from an integer (ms) or ISO-8601 (no zone means UTC)."""
    value = text.strip()
    if _INT.fullmatch(value):
        ms = int(value)
    else:
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            shown = text if len(text) <= 40 else text[:37] + "..."
            raise BadRequest(
                f"{name}: expected ISO-8601 (2026-01-31T12:00:00Z) or ms since the epoch, "
                f"got {shown!r}"
            ) from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        ms = int(dt.timestamp() * 1000)
    if not MIN_TIME_MS <= ms <= MAX_TIME_MS:
        raise BadRequest(f"{name}: {ms} ms is outside the years 0001 to 9999")
    return ms


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
        sig = catalog.get(signal_key(key))
        if sig not in out:
            out.append(sig)
    return out
