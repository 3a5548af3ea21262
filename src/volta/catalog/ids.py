"""Compact numeric signal ids, derived from the signal's path.

The wire format lets a vehicle name a signal by a small integer instead of its path, and the store
keeps that integer in a signed 32-bit column. The id must be the same in every run and every Volta
release, so it cannot come from file order. VSS used to carry a uuid per node, but the VSS 6.0
export has no uuid fields, so the only stable identity a signal has is its full path: the id is a
31-bit hash of it. 31 bits keep it positive in an int32 column; with ~1,300 signals the chance of
any collision is about 4 in 10,000, and `Catalog` refuses to load if one ever happens (a future VSS
release that collides would need an explicit id for the newcomer, never a renumbering).

Renaming a path in VSS gives the signal a new id: that is right, since it is a different name on
the wire.
"""

from __future__ import annotations

from hashlib import blake2b

# Domain separation: these ids must not equal any other blake2b use of the same path.
_PERSON = b"volta.signal.id"
_MASK = 0x7FFF_FFFF


def signal_id(path: str) -> int:
    """The stable numeric id of the signal at `path`: 31 bits of BLAKE2b of the UTF-8 path."""
    digest = blake2b(path.encode("utf-8"), digest_size=4, person=_PERSON).digest()
    return int.from_bytes(digest, "big") & _MASK
