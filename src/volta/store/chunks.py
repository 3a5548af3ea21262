"""Samples to chunk rows and back: the layout of the PostgreSQL store (migrations 0002, 0004).

A chunk is the samples of one batch that fall in one UTC hour, stored as one row. Its signal
ids, times and numbers are packed: the values back to back, big-endian, no NULLs (`num` is NaN
where a sample has text or no number), which the server stores and sends as plain bytes and
numpy reads without a loop; its text values (rare) are a text array. `latest_by_vehicle` keeps
arrays, sent in PostgreSQL's binary array format (the one `array_send` writes and binary COPY
reads: a header, then each element as its length and its big-endian value). Both are built
with numpy for a whole commit at once: formatting the numbers as text instead cost ~1.2 µs per
float on this machine, and psycopg's own list dumpers ~1.5 µs per sample.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

HOUR_MS = 3_600_000
# Column types of a chunk row in binary COPY: the arrays go as raw bytes that PostgreSQL reads
# with the column's own (array) input function.
COPY_TYPES = ["text", "int8", "int8", "int8", "bytea", "bytea", "bytea", "bytea"]
COPY_COLUMNS = "samples (vin, seq, ts_min, ts_max, signal_ids, ts, num, txt)"

_INT4, _INT8, _FLOAT8, _TEXT = 23, 20, 701, 25  # pg_type oids
_HEADER = struct.Struct(">iiiii")  # ndim, has nulls, element type, length, lower bound
_NULL = struct.pack(">i", -1)

ChunkRow = tuple[str, int, int, int, bytes, bytes, bytes, bytes | None]


def first_hour(start_ms: int) -> int:
    """The smallest `ts_min` a chunk holding samples at or after `start_ms` can have."""
    return start_ms - start_ms % HOUR_MS


def chunk_rows(samples: pa.Table) -> Iterator[ChunkRow]:
    """One row per (batch, hour) run of `samples` (`volta.store.columns.sample_table`, rows in
    batch order): vin, seq, ts_min, ts_max and the signal_ids, ts, num, txt arrays."""
    if not samples.num_rows:
        return
    vin = samples.column("vin").combine_chunks()
    vin_index = vin.indices.to_numpy()
    vins = vin.dictionary.to_pylist()
    seq = samples.column("seq").to_numpy()
    ts = samples.column("ts_ms").to_numpy()
    hour = ts // HOUR_MS
    # The dictionary has one entry per batch, so its index changes exactly where a batch ends.
    starts = _runs((vin_index[1:] != vin_index[:-1]) | (hour[1:] != hour[:-1]))
    ts_min = np.minimum.reduceat(ts, starts).tolist()
    ts_max = np.maximum.reduceat(ts, starts).tolist()
    packed = _Arrays(samples, starts, packed=True)
    for i, a in enumerate(starts.tolist()):
        yield (
            vins[vin_index[a]], int(seq[a]), ts_min[i], ts_max[i], packed.fixed(i, "signal_id"),
            packed.fixed(i, "ts_ms"), packed.fixed(i, "num"), packed.text(i),
        )  # fmt: skip


LATEST_TYPES = ["text", "bytea", "bytea", "bytea", "bytea", "bytea"]
LatestRow = tuple[str, bytes, bytes, bytes, bytes | None, bytes | None]


def latest_rows(winners: pa.Table) -> Iterator[LatestRow]:
    """One row per vehicle of `winners` (vin, signal_id, ts_ms, seq, num, txt: one sample per
    (vin, signal), sorted by vin): vin and its signal_ids, ts, seq, num, txt arrays."""
    if not winners.num_rows:
        return
    vins = winners.column("vin").cast(pa.string()).to_numpy(zero_copy_only=False)
    starts = _runs(vins[1:] != vins[:-1])
    arrays = _Arrays(winners, starts)
    for i, a in enumerate(starts.tolist()):
        yield (
            str(vins[a]), arrays.fixed(i, "signal_id"), arrays.fixed(i, "ts_ms"),
            arrays.fixed(i, "seq"), *arrays.values(i),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Samples:
    """Samples decoded from chunks, one entry per sample: `num` is NaN where a sample has no
    number, `txt` None when no sample has text."""

    signal_id: np.ndarray[Any, np.dtype[np.int32]]
    ts: np.ndarray[Any, np.dtype[np.int64]]
    num: np.ndarray[Any, np.dtype[np.float64]]
    txt: np.ndarray[Any, np.dtype[np.object_]] | None

    def take(self, index: np.ndarray[Any, Any]) -> Samples:
        """The samples at `index` (positions, or a boolean mask), in that order."""
        txt = None if self.txt is None else self.txt[index]
        return Samples(self.signal_id[index], self.ts[index], self.num[index], txt)

    def __len__(self) -> int:
        return len(self.ts)


def concat(*parts: Samples) -> Samples:
    """The samples of `parts`, one after the other."""
    txt = None
    if any(p.txt is not None for p in parts):
        txt = np.concatenate(
            [p.txt if p.txt is not None else np.full(len(p), None, object) for p in parts]
        )
    return Samples(np.concatenate([p.signal_id for p in parts]),
                   np.concatenate([p.ts for p in parts]),
                   np.concatenate([p.num for p in parts]), txt)  # fmt: skip


PackedRow = tuple[bytes, bytes, bytes, list[str | None] | None]


def decode(rows: Sequence[PackedRow]) -> Samples:
    """The samples of chunk rows (signal_ids, ts, num packed; txt a list or None), in order."""
    if not rows:
        return Samples(np.empty(0, np.int32), np.empty(0, np.int64), np.empty(0), None)
    sids, times, numbers, texts = zip(*rows, strict=True)
    sid, ts, num = _unpacked(sids, ">i4"), _unpacked(times, ">i8"), _unpacked(numbers, ">f8")
    txt = None
    if any(t is not None for t in texts):
        txt = np.full(len(sid), None, dtype=object)
        at = 0
        for r in rows:
            n = len(r[0]) // 4
            if r[3] is not None:
                txt[at : at + n] = r[3]
            at += n
    return Samples(sid, ts, num, txt)


def _unpacked(parts: Sequence[bytes], dtype: str) -> np.ndarray[Any, Any]:
    values = np.frombuffer(b"".join(parts), dtype)
    return values.astype(np.dtype(dtype).newbyteorder("="))


def _runs(cut: np.ndarray[Any, np.dtype[np.bool_]]) -> np.ndarray[Any, np.dtype[np.intp]]:
    """Where each run starts, given `cut[i]`: row i + 1 starts a new run."""
    starts: np.ndarray[Any, np.dtype[np.intp]] = np.r_[0, np.flatnonzero(cut) + 1]
    return starts


_FIXED = {"signal_id": (">i4", _INT4), "ts_ms": (">i8", _INT8), "seq": (">i8", _INT8)}


class _Arrays:
    """The columns of `table` encoded once, cut into runs: as binary array elements, or
    `packed` (values only; numbers NaN where NULL)."""

    def __init__(
        self, table: pa.Table, starts: np.ndarray[Any, np.dtype[np.intp]], packed: bool = False
    ) -> None:
        n = table.num_rows
        self.packed = packed
        self.bounds = list(zip(starts.tolist(), np.r_[starts[1:], n].tolist(), strict=True))
        self.body: dict[str, tuple[bytes, int, int]] = {}
        encode = _packed if packed else _elements
        for name in {"signal_id", "ts_ms", "seq"} & set(table.column_names):
            dtype, oid = _FIXED[name]
            self.body[name] = (*encode(table.column(name).to_numpy(), dtype), oid)
        self.num = table.column("num").combine_chunks()
        self.txt = table.column("txt").combine_chunks()
        numbers = self.num.fill_null(np.nan if packed else 0.0).to_numpy()
        self.body["num"] = (*encode(numbers, ">f8"), _FLOAT8)
        # Per run: does it hold a text value (then num has NULLs and txt is an array)?
        self.has_text = np.zeros(len(starts), bool)
        if self.txt.null_count < n:
            valid = self.txt.is_valid().to_numpy(zero_copy_only=False)
            self.has_text = np.add.reduceat(valid, starts) > 0

    def fixed(self, run: int, name: str) -> bytes:
        body, width, oid = self.body[name]
        a, b = self.bounds[run]
        if self.packed:
            return body[a * width : b * width]
        return _HEADER.pack(1, 0, oid, b - a, 1) + body[a * width : b * width]

    def text(self, run: int) -> bytes | None:
        """The txt array of a run; None when it has no text."""
        if not self.has_text[run]:
            return None
        a, b = self.bounds[run]
        return text_array(self.txt[a:b].to_pylist())

    def values(self, run: int) -> tuple[bytes | None, bytes | None]:
        """The num and txt arrays of a run (txt None when it has no text)."""
        if not self.has_text[run]:
            return self.fixed(run, "num"), None
        a, b = self.bounds[run]
        return _float_array(self.num[a:b].to_pylist()), text_array(self.txt[a:b].to_pylist())


def _elements(values: np.ndarray[Any, Any], dtype: str) -> tuple[bytes, int]:
    """Fixed-width values as binary array elements (length, value), and each one's width."""
    size = np.dtype(dtype).itemsize
    packed = np.empty(len(values), dtype=[("length", ">i4"), ("value", dtype)])
    packed["length"] = size
    packed["value"] = values
    return packed.tobytes(), 4 + size


def _packed(values: np.ndarray[Any, Any], dtype: str) -> tuple[bytes, int]:
    """Fixed-width values packed back to back as `dtype`, and each one's width."""
    return values.astype(dtype).tobytes(), np.dtype(dtype).itemsize


def _float_array(values: list[float | None]) -> bytes | None:
    if all(v is None for v in values):
        return None
    body = b"".join(_NULL if v is None else struct.pack(">id", 8, v) for v in values)
    return _HEADER.pack(1, 1, _FLOAT8, len(values), 1) + body


def text_array(values: list[str | None]) -> bytes:
    """A text array in PostgreSQL's binary array format."""
    parts = []
    for v in values:
        if v is None:
            parts.append(_NULL)
        else:
            data = v.encode()
            parts.append(struct.pack(">i", len(data)) + data)
    return _HEADER.pack(1, 1, _TEXT, len(values), 1) + b"".join(parts)
