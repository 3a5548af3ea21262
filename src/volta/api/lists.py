"""What the driver-service routers share: paging, time filters and CSV export of records."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any, TypeVar

import msgspec
from fastapi import Query
from fastapi.responses import Response

from volta.api.csvfiles import attachment, iso_ms
from volta.api.params import MAX_TIME_MS, MIN_TIME_MS, parse_time

__all__ = ["LIST_RESPONSES", "ListFormat", "Page", "csv_response", "page_params"]

T = TypeVar("T", bound=msgspec.Struct)

MAX_LIMIT = 1000
# The OpenAPI answer of a list route that takes `format=csv`: JSON, or a CSV file.
LIST_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}, "text/csv": {}}}
}


class ListFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


class Page(msgspec.Struct, frozen=True):
    """Query parameters of a list: [start, end) overlap filter, newest first, `before` pages."""

    start_ms: int | None
    end_ms: int | None
    limit: int
    before_ms: int | None


def page_params(
    start: str | None = Query(None, description="ISO-8601 or ms: items ending after this"),
    end: str | None = Query(None, description="ISO-8601 or ms: items starting before this"),
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
    before: int | None = Query(
        None,
        ge=MIN_TIME_MS,
        le=MAX_TIME_MS,
        description="next page: the start_ms of the last item of the previous page",
    ),
) -> Page:
    return Page(
        parse_time("start", start) if start else None,
        parse_time("end", end) if end else None,
        limit,
        before,
    )


def next_before(items: Sequence[Any], page: Page) -> int | None:
    """The `before` of the next page, None when this one is the last."""
    return int(items[-1].start_ms) if len(items) == page.limit else None


def csv_response(
    rows: Sequence[msgspec.Struct],
    columns: Sequence[str],
    name: str,
    *,
    units: Mapping[str, str] | None = None,
) -> Response:
    """`rows` as a CSV download named `name` (`.csv` added when missing). Each time column
    (`…_ms`: ms since the epoch) gets an ISO 8601 twin before it (`start_ms` → `start`);
    `units` suffixes the headers of columns whose name lacks one (`soc_start` → `soc_start_pct`);
    nested values are JSON."""
    units = units or {}
    header: list[str] = []
    for c in columns:
        if c.endswith("_ms"):
            header.append(c[:-3])
        header.append(f"{c}_{units[c]}" if c in units else c)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        d = msgspec.to_builtins(r)
        line: list[Any] = []
        for c in columns:
            v = d[c]
            if c.endswith("_ms"):
                line.append("" if v is None else iso_ms(v))
            line.append(
                "" if v is None else (msgspec.json.encode(v).decode() if isinstance(v, list) else v)
            )
        w.writerow(line)
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers=attachment(name if name.endswith(".csv") else f"{name}.csv"),
    )
