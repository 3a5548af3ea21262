"""The chunk layout's pure parts: runs, packed columns, binary arrays, and reading them back."""

from __future__ import annotations

import struct

import numpy as np
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from volta.store.chunks import HOUR_MS, Samples, chunk_rows, decode, first_hour, latest_rows
from volta.store.columns import sample_table
from volta.store.compaction import _by_row, decode_hours, hour_rows

from .storekit import T0, VIN_A, VIN_B, batch


def _header(array: bytes) -> tuple[int, ...]:
    """ndim, has nulls, element type, length, lower bound."""
    return struct.unpack(">iiiii", array[:20])


def _elements(array: bytes, dtype: str) -> list[object]:
    """The values of a binary array without NULLs (what `array_send` writes)."""
    assert _header(array)[1] == 0
    values: list[object] = np.frombuffer(array[20:], [("length", ">i4"), ("value", dtype)])[
        "value"
    ].tolist()
    return values


def test_a_chunk_is_one_batch_within_one_hour() -> None:
    samples = sample_table(
        [
            batch(VIN_A, 1, [(0, 7, 1.0), (HOUR_MS - 1, 7, 2.0), (HOUR_MS, 7, 3.0)]),
            batch(VIN_A, 2, [(0, 7, 4.0)]),
            batch(VIN_B, 1, [(5, 8, "P"), (6, 7, 5.0)]),
        ]
    )
    rows = list(chunk_rows(samples))
    assert [(r[0], r[1], r[2] - T0, r[3] - T0) for r in rows] == [
        (VIN_A, 1, 0, HOUR_MS - 1),
        (VIN_A, 1, HOUR_MS, HOUR_MS),
        (VIN_A, 2, 0, 0),
        (VIN_B, 1, 5, 6),
    ]
    ids, ts, num, txt = rows[0][4:]
    assert np.frombuffer(ts, ">i8").tolist() == [T0, T0 + HOUR_MS - 1]  # packed, big-endian
    assert np.frombuffer(num, ">f8").tolist() == [1.0, 2.0]
    assert np.frombuffer(ids, ">i4").tolist() == [7, 7] and txt is None
    text_ids, _, text_num, text_txt = rows[3][4:]
    assert len(text_ids) == 2 * 4
    assert np.isnan(np.frombuffer(text_num, ">f8")).tolist() == [True, False]  # the text sample
    assert text_txt is not None and _header(text_txt)[1] == 1 and b"P" in text_txt


def test_decoded_chunks_give_back_every_sample_in_place() -> None:
    samples = sample_table(
        [
            batch(VIN_A, 1, [(0, 7, 1.0), (HOUR_MS, 7, 3.0)]),
            batch(VIN_B, 1, [(5, 8, "P"), (6, 7, 5.0), (7, 8, "a\nb")]),
        ]
    )
    rows = [(ids, ts, num, None if txt is None else _texts(txt))
            for *_, ids, ts, num, txt in chunk_rows(samples)]  # fmt: skip
    got = decode(rows)
    assert got.signal_id.tolist() == [7, 7, 8, 7, 8]
    assert (got.ts - T0).tolist() == [0, HOUR_MS, 5, 6, 7]
    assert [None if n != n else n for n in got.num.tolist()] == [1.0, 3.0, None, 5.0, None]
    assert got.txt is not None and got.txt.tolist() == [None, None, "P", None, "a\nb"]
    assert decode([rows[0]]).txt is None  # no text anywhere: no text column


def _texts(array: bytes) -> list[str | None]:
    """The values of a binary text array (as psycopg gives them back)."""
    (n,) = struct.unpack(">i", array[12:16])
    out: list[str | None] = []
    at = 20
    for _ in range(n):
        (size,) = struct.unpack(">i", array[at : at + 4])
        at += 4
        if size < 0:
            out.append(None)
        else:
            out.append(array[at : at + size].decode())
            at += size
    return out


def test_latest_rows_are_one_per_vehicle() -> None:
    winners = pa.table(
        {
            "vin": pa.array([VIN_A, VIN_A, VIN_B]).dictionary_encode(),
            "signal_id": pa.array([1, 2, 1], pa.int32()),
            "ts_ms": pa.array([10, 20, 30], pa.int64()),
            "seq": pa.array([4, 4, 9], pa.int64()),
            "num": pa.array([1.5, 2.5, 3.5]),
            "txt": pa.nulls(3, pa.string()),
        }
    )
    rows = list(latest_rows(winners))
    assert [r[0] for r in rows] == [VIN_A, VIN_B]
    assert _elements(rows[0][1], ">i4") == [1, 2]
    assert _elements(rows[0][3], ">i8") == [4, 4]
    assert _elements(rows[1][4] or b"", ">f8") == [3.5]


@given(st.lists(st.floats(allow_nan=False), min_size=1, max_size=50))
def test_numbers_survive_the_packed_chunks_exactly(values: list[float]) -> None:
    samples = sample_table([batch(VIN_A, 1, [(i, 7, v) for i, v in enumerate(values)])])
    ((*_, ids, ts, num, txt),) = chunk_rows(samples)
    assert txt is None and decode([(ids, ts, num, None)]).num.tolist() == values


@given(st.integers(min_value=0, max_value=2**62))
def test_first_hour_is_the_start_of_its_hour(start_ms: int) -> None:
    first = first_hour(start_ms)
    assert first % HOUR_MS == 0 and first <= start_ms < first + HOUR_MS


@given(
    st.lists(
        st.lists(st.integers(0, HOUR_MS - 1), min_size=1, max_size=40).map(sorted),
        min_size=1,
        max_size=4,
    ),
    st.booleans(),
)
def test_signal_hours_rows_read_back_as_their_samples(hours: list[list[int]], steady: bool) -> None:
    """A signal's rows over several hours, some packed as runs of equal steps (a steady rate)
    and some as plain offsets, read back as the same times and numbers in time order."""
    if steady:  # every other hour at a steady rate, or a burst at one time: packed as runs
        hours = [(list(range(o[0], HOUR_MS, 1000)) if i % 4 == 1 else [o[0]] * 9 if i % 4 == 3
                  else o) for i, o in enumerate(hours)]  # fmt: skip
    ts = np.array([T0 + i * HOUR_MS + o for i, offsets in enumerate(hours) for o in offsets])
    num = np.arange(len(ts), dtype=np.float64)
    found = Samples(np.full(len(ts), 7, np.int32), ts, num, None)
    vin, found, starts = _by_row(np.zeros(len(ts), np.int64), found)
    rows = list(hour_rows([VIN_A], vin, found, starts))
    assert [r[:4] for r in rows] == [
        (VIN_A, 7, T0 + i * HOUR_MS, len(o)) for i, o in enumerate(hours)
    ]
    back = decode_hours([(r[1], r[2], r[3], r[4], r[5], None) for r in rows])
    assert back.ts.tolist() == ts.tolist() and back.num.tolist() == num.tolist()
    assert back.signal_id.tolist() == [7] * len(ts) and back.txt is None
    if steady and len(hours) > 1 and len(hours[1]) > 4:
        assert len(rows[1][4]) <= 16  # runs: the first offset, then 1000 ms steps
