"""Byte-level mutations of valid batches, and the corpus of valid batches they start from.

Used by the hypothesis tests (seeded by hypothesis) and as the atheris seed corpus.
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

import msgspec

from volta.wire import Batch, encode_json, encode_msgpack

from .harness import FUZZ_SIGNALS, T0, VIN

VECTOR_DIR = Path(__file__).resolve().parents[1] / "wire" / "vectors"

# Tokens a decoder finds hard: non-finite and huge numbers, bad escapes, wrong types, nesting.
JSON_TOKENS: tuple[bytes, ...] = (
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"1e400",
    b"-1e400",
    b"5e-324",
    b"-0",
    b"-0.0",
    b"9223372036854775808",
    b"-9223372036854775809",
    b"18446744073709551616",
    b"9" * 5000,
    b"1" + b"0" * 400 + b".5",
    b"null",
    b"true",
    b"{}",
    b"[]",
    b"[[[[[[[[",
    b"]]]]",
    b'"\\ud800"',
    b'"\\u0000"',
    b'"\\x"',
    b'"' + b"A" * 3000 + b'"',
    b'"\xff\xfe"',
    b'{"v":1}',
    b'"Vehicle.Fuzz.Int64"',
    b'"Vehicle"',
    b",",
    b":",
    b'"',
    b"\\",
)
MSGPACK_TOKENS: tuple[bytes, ...] = (
    b"\xcb" + struct.pack(">d", float("nan")),
    b"\xcb" + struct.pack(">d", float("inf")),
    b"\xca" + struct.pack(">f", float("-inf")),
    b"\xcf\xff\xff\xff\xff\xff\xff\xff\xff",  # uint64 max
    b"\xd3\x80\x00\x00\x00\x00\x00\x00\x00",  # int64 min
    b"\xc1",  # never used
    b"\xc0",  # nil
    b"\xc2",
    b"\xc3",
    b"\xdd\xff\xff\xff\xff",  # array 32 claiming 4 G items
    b"\xdf\xff\xff\xff\xff",  # map 32 claiming 4 G pairs
    b"\xdb\xff\xff\xff\xff",  # str 32 claiming 4 GB
    b"\xc6\x7f\xff\xff\xff",  # bin 32
    b"\xc4\x03abc",  # bin 8
    b"\xd4\x01\x00",  # fixext 1
    b"\xc7\x02\xff\x00\x00",  # ext 8, type -1 (timestamp) with a wrong length
    b"\xd6\xff\x00\x00\x00\x00",  # timestamp 32
    b"\xa3\xff\xfe\xfd",  # str of invalid UTF-8
    b"\xa3\xed\xa0\x80",  # UTF-8 of a lone surrogate
    b"\x91" * 200 + b"\x90",  # nested arrays
    b"\x81\xa1v\x01",
    b"\x93\x00\xa1x\x01",
)
INTERESTING_BYTES = (0x00, 0x7F, 0x80, 0xFF, 0x22, 0x5B, 0x5D, 0x7B, 0x7D, 0xC1, 0xDD, 0xDF, 0x2C)


def _value_for(sig_datatype: str) -> object:
    base = sig_datatype.removesuffix("[]")
    one: object
    if base == "boolean":
        one = True
    elif base == "string":
        one = "ON"
    elif base in ("float", "double"):
        one = 42.5
    else:
        one = 42
    return [one, one] if sig_datatype.endswith("[]") else one


def corpus() -> list[bytes]:
    """Valid batches in both encodings: the golden vectors of docs/wire-format.md, and one
    batch with a good sample of every fuzz signal (by path and by id)."""
    found = [p.read_bytes() for p in sorted(VECTOR_DIR.iterdir()) if p.is_file()]
    every: list[tuple[int, str | int, object]] = []
    for i, sig in enumerate(FUZZ_SIGNALS):
        key: str | int = sig.path if i % 2 else sig.id
        every.append((i * 10, key, _value_for(sig.datatype)))
    for samples in (every[:20], every[20:]):
        batch = Batch(v=1, vin=VIN, seq=9, ts=T0, samples=samples)  # type: ignore[arg-type]
        found += [encode_json(batch), encode_msgpack(batch)]
    # A small batch whose header is all there is, and one with a string value to cut.
    empty = {"v": 1, "vin": VIN, "seq": 0, "ts": T0, "samples": []}
    found += [msgspec.json.encode(empty), msgspec.msgpack.encode(empty)]
    return found


def mutate(rng: random.Random, data: bytes, others: list[bytes]) -> bytes:
    """One to four random edits of `data`: bit flips, byte sets, inserts, deletes, truncation,
    splices with another corpus entry, repeated spans and hard tokens."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not buf:
            buf += rng.choice(others)
        op = rng.randrange(9)
        i = rng.randrange(len(buf))
        j = rng.randrange(i, min(len(buf), i + 64) + 1)
        if op == 0:
            buf[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            buf[i] = rng.choice(INTERESTING_BYTES) if rng.random() < 0.5 else rng.randrange(256)
        elif op == 2:
            buf[i:i] = rng.randbytes(rng.randint(1, 8))
        elif op == 3:
            del buf[i:j]
        elif op == 4:
            del buf[i:]
        elif op == 5:
            other = rng.choice(others)
            buf[i:] = other[rng.randrange(len(other)) :]
        elif op == 6:
            buf[j:j] = buf[i:j] * rng.randint(1, 50)
        else:
            tokens = JSON_TOKENS if buf[:1] == b"{" else MSGPACK_TOKENS
            buf[i:j] = rng.choice(tokens)
    return bytes(buf)
