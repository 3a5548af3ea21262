"""CSV files people open in a spreadsheet: ISO 8601 times, signal paths and units in columns of
their own, and a file name that says whose data it is, what and when
(`volta-<VIN>-history-2026-12-06.csv`). Pure: the routes do the reading and the sending."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from volta.catalog import Catalog, Signal

__all__ = ["HISTORY_COLUMNS", "attachment", "file_name", "iso_ms", "readable_samples"]

HISTORY_COLUMNS = ("time", "signal", "value", "unit", "ts_ms")
_DAY_MS = 86_400_000


def iso_ms(ms: int) -> str:
    """`ms` since the epoch as ISO 8601 in UTC, to the millisecond: 2026-12-06T06:41:04.123Z."""
    dt = datetime.fromtimestamp(ms / 1000, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms // _DAY_MS * 86_400, UTC).strftime("%Y-%m-%d")


def file_name(vin: str, what: str, start_ms: int | None, end_ms: int, ext: str = "csv") -> str:
    """`volta-<VIN>-<what>-<day>.<ext>`: the day (UTC) the data covers, or its first and
    last day (`2026-12-01_2026-12-06`); without a start, the day of `end_ms`."""
    last = _day(end_ms - 1 if start_ms is not None and end_ms > start_ms else end_ms)
    first = _day(start_ms) if start_ms is not None else last
    days = first if first == last else f"{first}_{last}"
    return f"volta-{vin}-{what}-{days}.{ext}"


def attachment(name: str) -> dict[str, str]:
    """The header that makes a browser save the answer as `name`."""
    return {"Content-Disposition": f'attachment; filename="{name}"'}


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return json.dumps(list(value), ensure_ascii=False)
    return str(value)


def _float(text: str) -> float | None:
    return float(text) if text else None


def readable_samples(raw: Iterable[str], catalog: Catalog, chunk_rows: int = 4096) -> Iterator[str]:
    """A store's raw CSV export (header `vin,signal_id,ts_ms,num,txt`, one line per sample)
    as CSV text with the columns `time,signal,value,unit,ts_ms`: the VSS path instead of the
    numeric id, the value as its VSS type (true/false, numbers, text, JSON lists), the VSS
    unit. Yields pieces of about `chunk_rows` lines, the header first."""
    rows = csv.reader(raw)
    header = next(rows, None)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(HISTORY_COLUMNS)
    if header is None:
        yield out.getvalue()
        return
    col = {name: i for i, name in enumerate(header)}
    i_sig, i_ts, i_num, i_txt = col["signal_id"], col["ts_ms"], col["num"], col["txt"]
    signals: dict[str, Signal] = {}
    for n, r in enumerate(rows, 1):
        sig = signals.get(r[i_sig])
        if sig is None:
            sig = signals[r[i_sig]] = catalog.get(int(r[i_sig]))
        ts = int(r[i_ts])
        value = sig.from_stored(_float(r[i_num]), r[i_txt] or None)
        w.writerow((iso_ms(ts), sig.path, _text(value), sig.unit or "", ts))
        if n % chunk_rows == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()
