"""`Signal`: one leaf of the VSS tree, with its value check and storage conversions."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from volta.catalog.checks import DATATYPES, Check, FromStored, Scalar, ToStored, build
from volta.errors import CatalogError

KINDS = frozenset({"sensor", "actuator", "attribute"})
DEFAULT_MAX_LENGTH = 1024  # characters in a string value
DEFAULT_MAX_ITEMS = 256  # items in an array value


@dataclass(frozen=True, slots=True)
class Signal:
    """A VSS signal (sensor, actuator or attribute) and what a value of it may be.

    `min`/`max` are the effective bounds: the VSS spec's, narrowed by Volta's overlay where it has
    one. `numeric` says which store column holds the value: True for every integer and float type
    and for boolean (stored as 0.0/1.0), False for strings and arrays (stored as JSON text).

    The three callables are built once, from the fields above, when the signal is created:
    - `check(value) -> str | None`: None when the value fits, else the reason, naming the path.
    - `to_stored(value) -> (num, txt)`: for a value that passed `check`.
    - `from_stored(num, txt) -> value`: back to the VSS type (bool, int, float, str or list).
    """

    path: str
    id: int
    kind: str
    datatype: str
    unit: str | None = None
    min: float | int | None = None
    max: float | int | None = None
    allowed: tuple[Scalar, ...] | None = None
    description: str = ""
    pattern: str | None = None
    deprecation: str | None = None
    max_length: int = DEFAULT_MAX_LENGTH
    max_items: int = DEFAULT_MAX_ITEMS
    numeric: bool = field(init=False)
    check: Check = field(init=False, repr=False, compare=False)
    to_stored: ToStored = field(init=False, repr=False, compare=False)
    from_stored: FromStored = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise CatalogError(f"{self.path}: kind {self.kind!r} is not one of {sorted(KINDS)}")
        if self.datatype not in DATATYPES:
            raise CatalogError(f"{self.path}: unsupported datatype {self.datatype!r}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise CatalogError(f"{self.path}: min {self.min!r} is above max {self.max!r}")
        derived = build(
            self.path,
            self.datatype,
            self.min,
            self.max,
            self.allowed,
            self.pattern,
            self.max_length,
            self.max_items,
        )
        for name, value in zip(derived._fields, derived, strict=True):
            object.__setattr__(self, name, value)

    def __reduce__(self) -> tuple[Any, ...]:
        # The derived callables are closures, which pickle cannot carry: rebuild them instead.
        return (Signal, tuple(getattr(self, f.name) for f in fields(self) if f.init))
