"""Vehicle identification numbers (ISO 3779), as the wire format accepts them."""

from __future__ import annotations

import re

# ISO 3779: 17 characters, digits and capitals except I, O and Q (too easily read as 1 and 0).
# The position-9 check digit is only mandatory in North America, so it is not verified.
_VIN = re.compile(r"[A-HJ-NPR-Z0-9]{17}")


# VINs already found valid: a batch's VIN is checked up to three times (transport, payload,
# authentication) and a fleet is a few thousand cars, so a set look-up (~40 ns) replaces most
# regex matches (~250 ns). Bounded: cleared when full, so junk cannot grow it.
_VALID: set[str] = set()
_VALID_MAX = 65_536


def is_valid_vin(s: str) -> bool:
    """True if `s` is 17 characters of A-Z/0-9 without I, O, Q."""
    if type(s) is str and s in _VALID:  # exactly str: a subclass could lie about equality
        return True
    if not isinstance(s, str) or _VIN.fullmatch(s) is None:
        return False
    if type(s) is str:
        if len(_VALID) >= _VALID_MAX:
            _VALID.clear()
        _VALID.add(s)
    return True


def vin_reason(vin: str) -> str:
    """The reason a user sees for a VIN that `is_valid_vin` refuses."""
    shown = vin if len(vin) <= 40 else vin[:37] + "..."  # a reason must stay readable
    return f"vin {shown!r} must be 17 characters A-Z/0-9 without I, O, Q"
