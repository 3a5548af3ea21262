"""Vehicle identification numbers (ISO 3779) and bearer tokens, deterministic from a seed."""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["make_token", "make_vin"]

VIN_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"  # no I, O, Q
_TRANSLIT = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_YEAR_CODE = {2020: "L", 2021: "M", 2022: "N", 2023: "P", 2024: "R", 2025: "S", 2026: "T"}
_WMI = "VLT"  # not an assigned manufacturer code: simulated vehicles only


def _check_digit(vin16: str) -> str:
    total = sum(_TRANSLIT[c] * w for c, w in zip(vin16, _WEIGHTS, strict=False))
    r = total % 11
    return "X" if r == 10 else str(r)


def make_vin(seed: int, index: int, model_year: int = 2022) -> str:
    """A 17-character VIN, unique per (seed, index), with a valid North-American check digit."""
    h = hashlib.sha256(f"volta-sim:{seed}".encode()).digest()
    vds = "".join(VIN_ALPHABET[b % len(VIN_ALPHABET)] for b in h[:5])
    year = _YEAR_CODE.get(model_year, "N")
    plant = VIN_ALPHABET[h[5] % 26]
    serial = f"{index % 1_000_000:06d}"
    body = _WMI + vds + "0" + year + plant + serial
    return body[:8] + _check_digit(body) + body[9:]


def make_token(seed: int, vin: str) -> str:
    """A bearer token the simulator hands to the platform when it registers its vehicles."""
    return hmac.new(f"volta-sim-token:{seed}".encode(), vin.encode(), hashlib.sha256).hexdigest()
