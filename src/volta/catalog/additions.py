"""Checking a VSS overlay that *adds* signals (Volta's own) to the core VSS tree.

The overlay is a tree in the VSS JSON export form, loaded on top of the core tree the way Eclipse
Kuksa databroker loads several VSS files (`--vss core.json,overlay.json`). Unlike Kuksa, which
lets a later file override an earlier one, Volta refuses an overlay that would redefine a core
signal or turn a branch into a leaf: a silent redefinition would change how every car's samples
are validated. Once checked here, the overlay is read by the same code as the core tree
(datatype, range, allowed values) and its signals join the same `Catalog` (numeric ids that must
not collide), so an overlay signal is a signal like any other.

This module only checks the overlay's structure against the core tree; it does no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from volta.catalog.signal import Signal
from volta.errors import CatalogError

# The keys of a node in a VSS JSON export (the core tree uses exactly these).
_NODE_KEYS = frozenset(
    {
        "type",
        "children",
        "datatype",
        "unit",
        "min",
        "max",
        "allowed",
        "default",
        "description",
        "comment",
        "deprecation",
        "pattern",
    }
)
_LEAF_TYPES = frozenset({"sensor", "actuator", "attribute"})
# Restating an existing branch in an overlay is how a file says where its new nodes go; it may
# carry a description, but nothing that would change the branch.
_RESTATED_BRANCH_KEYS = frozenset({"type", "children", "description", "comment"})


def check_additions(
    overlay: Mapping[str, Any], signals: Iterable[Signal], branches: Iterable[str]
) -> None:
    """Refuse an overlay that would change the core tree (`signals` and `branches`, as read).

    Raises `CatalogError` naming the overlay path when the overlay redefines a core signal,
    changes a core branch, or holds a new node that is not well-formed VSS (unknown key, missing
    type or description, a unit the core tree does not use). What is left to check (datatype,
    range, allowed values, ids) is checked by reading the overlay like the core tree.
    """
    core = {sig.path: sig.kind for sig in signals}
    units = frozenset(sig.unit for sig in signals if sig.unit is not None)
    _check_level(overlay, "", core, frozenset(branches), units)


def _check_level(
    nodes: Mapping[str, Any],
    prefix: str,
    core: Mapping[str, str],
    branches: frozenset[str],
    units: frozenset[str],
) -> None:
    for name, node in nodes.items():
        path = f"{prefix}.{name}" if prefix else name
        if not isinstance(node, Mapping):
            raise CatalogError(f"signal overlay {path}: a VSS node must be an object")
        if path in core:
            raise CatalogError(
                f"signal overlay {path}: the core VSS tree already defines this {core[path]}; "
                "an overlay may add signals, never redefine one"
            )
        if path not in branches:
            _check_new(path, node, units)
            continue
        if node.get("type") != "branch":
            raise CatalogError(
                f"signal overlay {path}: a branch of the core VSS tree cannot become a "
                f"{node.get('type')!r}"
            )
        changed = set(node) - _RESTATED_BRANCH_KEYS
        if changed:
            raise CatalogError(
                f"signal overlay {path}: cannot change the core branch's {sorted(changed)}"
            )
        children = node.get("children") or {}
        if not isinstance(children, Mapping):
            raise CatalogError(f"signal overlay {path}: children must be an object")
        _check_level(children, path, core, branches, units)


def _check_new(path: str, node: Mapping[str, Any], units: frozenset[str]) -> None:
    """A node the core tree lacks: well-formed VSS, documented, in the core's unit vocabulary."""
    unknown = set(node) - _NODE_KEYS
    if unknown:
        raise CatalogError(f"signal overlay {path}: unknown keys {sorted(unknown)}")
    kind = node.get("type")
    if not node.get("description"):
        raise CatalogError(f"signal overlay {path}: every VSS node needs a description")
    if kind == "branch":
        if "datatype" in node:
            raise CatalogError(f"signal overlay {path}: a branch has no datatype")
        children = node.get("children") or {}
        if not isinstance(children, Mapping) or not children:
            raise CatalogError(f"signal overlay {path}: a new branch needs children")
        for name, child in children.items():
            if not isinstance(child, Mapping):
                raise CatalogError(f"signal overlay {path}.{name}: a VSS node must be an object")
            _check_new(f"{path}.{name}", child, units)
        return
    if kind not in _LEAF_TYPES:
        raise CatalogError(
            f"signal overlay {path}: type {kind!r} is not one of {sorted(_LEAF_TYPES | {'branch'})}"
        )
    if "children" in node:
        raise CatalogError(f"signal overlay {path}: a {kind} cannot have children")
    unit = node.get("unit")
    if unit is not None and unit not in units:
        raise CatalogError(
            f"signal overlay {path}: unit {unit!r} is not a unit of the VSS tree "
            f"(known: {', '.join(sorted(units))})"
        )
