"""The chunk layout's pure parts: runs, binary arrays, and reading them back."""

from __future__ import annotations

import struct

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from volta.store.chunks import HOUR_MS, chunk_rows, elements, first_hour, latest_rows
from volta.store.columns import sample_table

from .storekit import T0, VIN_A, VIN_B, batch


def _header(array: bytes) -> tuple[int, ...]:
    """ndim, has nulls, element type, length, lower bound."""
    return struct.unpack(">iiiii", array[:20])


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
    assert elements([ts], ">i8").tolist() == [T0, T0 + HOUR_MS - 1]
    assert num is not None and elements([num], ">f8").tolist() == [1.0, 2.0]
    assert elements([ids], ">i4").tolist() == [7, 7] and txt is None
    text_ids, _, text_num, text_txt = rows[3][4:]
    assert _header(text_ids)[3] == 2
    assert text_num is not None and _header(text_num)[1] == 1  # has NULLs: the text sample
    assert text_txt is not None and b"P" in text_txt
    with pytest.raises(ValueError, match="NULLs"):
        elements([text_num], ">f8")


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
    assert elements([rows[0][1]], ">i4").tolist() == [1, 2]
    assert elements([rows[0][3]], ">i8").tolist() == [4, 4]
    assert elements([rows[1][4] or b""], ">f8").tolist() == [3.5]


@given(st.lists(st.floats(allow_nan=False), min_size=1, max_size=50))
def test_numbers_survive_the_binary_arrays_exactly(values: list[float]) -> None:
    samples = sample_table([batch(VIN_A, 1, [(i, 7, v) for i, v in enumerate(values)])])
    ((*_, num, _txt),) = chunk_rows(samples)
    assert num is not None and elements([num], ">f8").tolist() == values


@given(st.integers(min_value=0, max_value=2**62))
def test_first_hour_is_the_start_of_its_hour(start_ms: int) -> None:
    first = first_hour(start_ms)
    assert first % HOUR_MS == 0 and first <= start_ms < first + HOUR_MS
