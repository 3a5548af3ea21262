"""Reading the VSS JSON export and Volta's overlay of plausibility ranges into `Signal`s."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from volta.catalog.checks import FLOAT_RANGES, INT_RANGES
from volta.catalog.ids import signal_id
from volta.catalog.signal import DEFAULT_MAX_ITEMS, DEFAULT_MAX_LENGTH, Signal
from volta.errors import CatalogError

_OVERLAY_KEYS = frozenset({"min", "max", "why"})


def _nodes(tree: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every node of a VSS tree as (full path, node), depth first, children in file order."""
    stack = [(name, node) for name, node in reversed(list(tree.items()))]
    while stack:
        path, node = stack.pop()
        if not isinstance(node, Mapping):
            raise CatalogError(f"{path}: a VSS node must be an object, got {type(node).__name__}")
        yield path, node
        children = node.get("children") or {}
        if not isinstance(children, Mapping):
            raise CatalogError(f"{path}: children must be an object")
        stack.extend((f"{path}.{name}", c) for name, c in reversed(list(children.items())))


def read_vss(
    tree: Mapping[str, Any],
    *,
    max_length: int = DEFAULT_MAX_LENGTH,
    max_items: int = DEFAULT_MAX_ITEMS,
) -> tuple[list[Signal], list[str]]:
    """The leaves (as `Signal`s) and the branch paths of a VSS JSON export."""
    signals: list[Signal] = []
    branches: list[str] = []
    for path, node in _nodes(tree):
        kind = node.get("type")
        if kind == "branch":
            branches.append(path)
            continue
        if "datatype" not in node:
            raise CatalogError(f"{path}: a {kind} needs a datatype")
        allowed = node.get("allowed")
        signals.append(
            Signal(
                path=path,
                id=signal_id(path),
                kind=str(kind),
                datatype=node["datatype"],
                unit=node.get("unit"),
                min=node.get("min"),
                max=node.get("max"),
                allowed=tuple(allowed) if allowed is not None else None,
                description=node.get("description", ""),
                pattern=node.get("pattern"),
                deprecation=node.get("deprecation"),
                max_length=max_length,
                max_items=max_items,
            )
        )
    return signals, branches


def _narrowed(sig: Signal, entry: Mapping[str, Any]) -> Signal:
    """`sig` with the overlay entry's min/max; refuses anything that would widen its range."""
    if sig.datatype not in INT_RANGES and sig.datatype not in FLOAT_RANGES:
        raise CatalogError(f"overlay {sig.path}: a {sig.datatype} signal cannot take a range")
    unknown = set(entry) - _OVERLAY_KEYS
    if unknown:
        raise CatalogError(f"overlay {sig.path}: unknown keys {sorted(unknown)}")
    width_lo, width_hi = INT_RANGES.get(sig.datatype) or FLOAT_RANGES[sig.datatype]
    lo, hi = entry.get("min", sig.min), entry.get("max", sig.max)
    for name, value in (("min", lo), ("max", hi)):
        if value is not None and (
            type(value) not in (int, float) or not width_lo <= value <= width_hi
        ):
            raise CatalogError(f"overlay {sig.path}: {name} {value!r} is not a {sig.datatype}")
    if sig.min is not None and lo < sig.min:
        raise CatalogError(f"overlay {sig.path}: min {lo!r} would widen the spec's min {sig.min!r}")
    if sig.max is not None and hi > sig.max:
        raise CatalogError(f"overlay {sig.path}: max {hi!r} would widen the spec's max {sig.max!r}")
    return replace(sig, min=lo, max=hi)


def apply_overlay(signals: list[Signal], overlay: Mapping[str, Any]) -> list[Signal]:
    """Narrow the ranges of `signals` with an overlay `{"ranges": {path: {"min", "max", "why"}}}`.

    An overlay may only narrow: a range wider than the spec's or the datatype's, a path that is
    not a signal, or a non-numeric signal is a `CatalogError`.
    """
    ranges: Mapping[str, Mapping[str, Any]] = overlay.get("ranges", {})
    by_path = {sig.path: i for i, sig in enumerate(signals)}
    result = list(signals)
    for path, entry in ranges.items():
        if path not in by_path:
            raise CatalogError(f"overlay names {path!r}, which is not a signal of this VSS tree")
        i = by_path[path]
        result[i] = _narrowed(result[i], entry)
    return result
