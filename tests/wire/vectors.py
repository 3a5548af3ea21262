"""The golden vectors of docs/wire-format.md: the Batch each one encodes.

Regenerate the files (only when the format deliberately changes) with
`.venv/bin/python -m tests.wire.vectors` from the repository root.
"""

from __future__ import annotations

from pathlib import Path

from volta.wire import Batch, encode_json, encode_msgpack

VECTOR_DIR = Path(__file__).parent / "vectors"
VIN = "JHMZZ1A1XRV000001"

# Batches that encode_json/encode_msgpack must turn into exactly the stored bytes.
GOOD: dict[str, Batch] = {
    "design_example": Batch(
        v=1,
        vin=VIN,
        seq=42,
        ts=1764201600000,
        samples=[
            (0, "Vehicle.Speed", 42.5),
            (0, "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current", 80.1),
            (1000, "Vehicle.Speed", 43.0),
        ],
    ),
    "numeric_ids": Batch(
        v=1,
        vin=VIN,
        seq=43,
        ts=1764201601000,
        samples=[(0, 1234567, 42.5), (0, 7654321, True), (500, 1234567, 41)],
    ),
    "string_array": Batch(
        v=1,
        vin="WVWZZZ1KZ6W000003",
        seq=7,
        ts=1764201602000,
        samples=[
            (0, "Vehicle.OBD.DTCList", ["P0A80", "U0100"]),
            (0, "Vehicle.Cabin.Infotainment.Media.Played.Track", "Ode an die Freude"),
        ],
    ),
}

# Batches refused whole: the stored JSON bytes and the exact DecodeError reason.
REFUSED: dict[str, tuple[bytes, str]] = {
    "refused_vin": (
        b'{"v":1,"vin":"JHMZZ1A1XRVOOOOO1","seq":1,"ts":1764201600000,"samples":[]}',
        "vin 'JHMZZ1A1XRVOOOOO1' must be 17 characters A-Z/0-9 without I, O, Q",
    ),
}

# Batches accepted in part: the stored JSON bytes, the samples kept (with their original
# positions) and the exact reason of each malformed one.
PARTIAL: dict[str, tuple[bytes, list[tuple[int, object]], list[tuple[int, str]]]] = {
    "partial_samples": (
        b'{"v":1,"vin":"JHMZZ1A1XRV000001","seq":44,"ts":1764201603000,"samples":'
        b'[[0,"Vehicle.Speed",42.5],[-5,"Vehicle.Speed",42.0],'
        b'[0,"Vehicle.Speed",[[1]]],[1000,"Vehicle.Speed",43.0]]}',
        [(0, (0, "Vehicle.Speed", 42.5)), (3, (1000, "Vehicle.Speed", 43.0))],
        [
            (1, "sample 1: offset must be an integer >= 0, got -5"),
            (
                2,
                "sample 2: value must be a boolean, number, string or flat array of them, "
                "got nested array",
            ),
        ],
    ),
}


def write_all() -> None:
    """Write every vector file from the definitions above."""
    VECTOR_DIR.mkdir(exist_ok=True)
    for name, batch in GOOD.items():
        (VECTOR_DIR / f"{name}.json").write_bytes(encode_json(batch))
        (VECTOR_DIR / f"{name}.msgpack").write_bytes(encode_msgpack(batch))
    raw = {name: data for name, (data, _) in REFUSED.items()}
    raw |= {name: data for name, (data, _, _) in PARTIAL.items()}
    for name, data in raw.items():
        (VECTOR_DIR / f"{name}.json").write_bytes(data)


if __name__ == "__main__":
    write_all()
