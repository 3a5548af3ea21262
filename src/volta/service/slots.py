"""A workshop's bookable slots, pure: opening hours in the workshop's own time zone, cut into
slots of its slot length from each opening; a slot can take as many cars as there are bays.
Time is passed in."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo, available_timezones

from volta.errors import BadRequest
from volta.service.model import Workshop

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)|24:00")
MIN_SLOT_MINUTES = 10
MAX_SLOT_MINUTES = 24 * 60
MAX_BAYS = 500
# How far ahead the next free slots are looked for when a wish cannot be met.
HORIZON_DAYS = 60
Hours = dict[int, tuple[tuple[int, int], ...]]


def parse_hours(raw: Mapping[str, Sequence[Sequence[str]]]) -> Hours:
    """Opening hours from `{"mon": [["08:00", "12:00"], ["13:00", "17:00"]], ...}` (weekdays
    mon…sun; a day not named is closed). BadRequest saying what is wrong."""
    hours: Hours = {}
    for name, intervals in raw.items():
        if name not in WEEKDAYS:
            raise BadRequest(f"opening hours: unknown day {name!r}; use {', '.join(WEEKDAYS)}")
        spans: list[tuple[int, int]] = []
        for interval in intervals:
            if len(interval) != 2:
                raise BadRequest(f"opening hours {name}: each interval is [open, close]")
            start, end = (_minutes(name, t) for t in interval)
            if end <= start:
                raise BadRequest(f"opening hours {name}: {interval[0]}-{interval[1]} is empty")
            spans.append((start, end))
        spans.sort()
        for (_, end), (start, _) in pairwise(spans):
            if start < end:
                raise BadRequest(f"opening hours {name}: intervals overlap")
        if spans:
            hours[WEEKDAYS.index(name)] = tuple(spans)
    if not hours:
        raise BadRequest("opening hours: the workshop is never open; name at least one day")
    return hours


def format_hours(hours: Hours) -> dict[str, list[list[str]]]:
    """The inverse of `parse_hours`."""
    return {
        WEEKDAYS[day]: [[_hhmm(a), _hhmm(b)] for a, b in spans]
        for day, spans in sorted(hours.items())
    }


def check_timezone(name: str) -> str:
    """`name` if it is an IANA time zone known here; BadRequest otherwise. Checked against
    the list of known zones: ZoneInfo itself would try any string as a file path."""
    if name not in _zones():
        raise BadRequest(f"unknown time zone {name!r}: an IANA name like 'Europe/Helsinki'")
    return name


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_layout(bays: int, slot_minutes: int) -> None:
    """BadRequest for a bay count or slot length out of range."""
    if not 1 <= bays <= MAX_BAYS:
        raise BadRequest(f"bays must be 1-{MAX_BAYS}, got {bays}")
    if not MIN_SLOT_MINUTES <= slot_minutes <= MAX_SLOT_MINUTES:
        raise BadRequest(
            f"slot_minutes must be {MIN_SLOT_MINUTES}-{MAX_SLOT_MINUTES}, got {slot_minutes}"
        )


def slot_starts(ws: Workshop, from_ms: int, to_ms: int) -> Iterator[int]:
    """Every slot start in [from_ms, to_ms), in order. A slot fits wholly in one opening;
    starts that a daylight-saving change skips or repeats are left out."""
    tz = ZoneInfo(ws.timezone)
    day = datetime.fromtimestamp(from_ms / 1000, tz).date() - timedelta(days=1)
    last = datetime.fromtimestamp(to_ms / 1000, tz).date()
    while day <= last:
        for start in _day_slots(ws, tz, day):
            if start >= to_ms:
                return
            if start >= from_ms:
                yield start
        day += timedelta(days=1)


def is_slot(ws: Workshop, start_ms: int) -> bool:
    """Whether a slot of the workshop starts exactly at `start_ms`."""
    tz = ZoneInfo(ws.timezone)
    day = datetime.fromtimestamp(start_ms / 1000, tz).date()
    return start_ms in _day_slots(ws, tz, day)


@dataclass(frozen=True, slots=True)
class FreeSlot:
    start_ms: int
    end_ms: int
    free_bays: int


def free_slots(
    ws: Workshop,
    taken: Mapping[int, int],
    from_ms: int,
    limit: int,
    horizon_days: int = HORIZON_DAYS,
) -> list[FreeSlot]:
    """The first `limit` slots from `from_ms` with a bay free, given how many bays are taken
    per slot start (`taken`), looking at most `horizon_days` ahead."""
    out: list[FreeSlot] = []
    length = ws.slot_minutes * 60_000
    for start in slot_starts(ws, from_ms, from_ms + horizon_days * 86_400_000):
        free = ws.bays - taken.get(start, 0)
        if free > 0:
            out.append(FreeSlot(start, start + length, free))
            if len(out) >= limit:
                break
    return out


def _day_slots(ws: Workshop, tz: ZoneInfo, day: date) -> list[int]:
    out: list[int] = []
    for open_min, close_min in ws.hours.get(day.weekday(), ()):
        t = open_min
        while t + ws.slot_minutes <= close_min:
            local = datetime(day.year, day.month, day.day, t // 60, t % 60, tzinfo=tz)
            ms = int(local.timestamp() * 1000)
            # A wall time that does not exist (spring forward) does not round-trip.
            if datetime.fromtimestamp(ms / 1000, tz).replace(tzinfo=None) == local.replace(
                tzinfo=None
            ):
                out.append(ms)
            t += ws.slot_minutes
    return out


def _minutes(day: str, text: str) -> int:
    if not isinstance(text, str) or not _HHMM.fullmatch(text):
        raise BadRequest(f"opening hours {day}: {text!r} is not a time HH:MM (00:00-24:00)")
    if text == "24:00":
        return 24 * 60
    return int(text[:2]) * 60 + int(text[3:])


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
