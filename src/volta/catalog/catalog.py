"""`Catalog`: every VSS signal, found by path or numeric id; and the packaged default."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import msgspec

from volta.catalog.additions import check_additions
from volta.catalog.checks import show
from volta.catalog.signal import DEFAULT_MAX_ITEMS, DEFAULT_MAX_LENGTH, Signal
from volta.catalog.vss import apply_overlay, read_vss
from volta.errors import CatalogError, UnknownSignal

VSS_FILE = "vss_release_6.0.json"
OVERLAY_FILE = "volta_overlay.json"
SIGNALS_FILE = "volta_signals.json"  # Volta's own signals, added on top of the VSS tree

Source = Path | bytes | Mapping[str, Any]
_UNKNOWN_CACHE = 4096  # unknown paths whose reason is remembered


class Catalog:
    """All signals of one VSS tree, by path and by numeric id.

    `resolve(key)` is the gateway's hot path: it *is* the bound `.get` of one dict holding both
    the str paths and the int ids, so a look-up costs one C call and no Python frame. It returns
    None for anything unknown (including branches); `get(key)` raises `UnknownSignal` with the
    reason instead. Keys must be `str` or `int`: the wire decoder guarantees that (a float
    `1.0` or `True` would hash like the int 1).
    """

    __slots__ = (
        "_branches",
        "_by_key",
        "_by_lower",
        "_children",
        "_lower",
        "_signals",
        "_unknown",
        "resolve",
        "vss_version",
    )

    resolve: Callable[[str | int], Signal | None]

    def __init__(
        self, signals: Iterable[Signal], branches: Iterable[str] = (), vss_version: str = ""
    ) -> None:
        ordered = sorted(signals, key=lambda s: s.path)
        by_key: dict[str | int, Signal] = {}
        for sig in ordered:
            if sig.path in by_key:
                raise CatalogError(f"signal {sig.path!r} is defined twice")
            other = by_key.get(sig.id)
            if other is not None:
                raise CatalogError(
                    f"signals {other.path!r} and {sig.path!r} have the same id {sig.id}; "
                    "give the newer one an explicit id, never renumber the older"
                )
            by_key[sig.path] = sig
            by_key[sig.id] = sig
        self._signals = tuple(ordered)
        self._by_key = by_key
        self._branches = frozenset(branches)
        self._lower = tuple((sig.path.lower(), sig) for sig in ordered)
        self._by_lower = {low: sig.path for low, sig in self._lower}
        self._children: dict[str, list[str]] = {}
        for path in sorted({*self._branches, *(sig.path for sig in ordered)}):
            parent, _, name = path.rpartition(".")
            self._children.setdefault(parent, []).append(name)
        self._unknown: dict[str, str] = {}
        self.resolve = by_key.get
        self.vss_version = vss_version

    def get(self, key: str | int) -> Signal:
        """The signal at a path or with a numeric id; else `UnknownSignal` saying why."""
        try:
            sig = self._by_key.get(key)
        except TypeError:  # unhashable: a list or dict where a key belongs
            sig = None
        if sig is not None:
            return sig
        raise UnknownSignal(self._why_unknown(key))

    def _why_unknown(self, key: object) -> str:
        if type(key) is int:
            return f"unknown signal id {show(key)}"
        if type(key) is not str:
            return f"a signal is a VSS path or a numeric id, not {type(key).__name__}"
        if key in self._branches:
            return f"{key!r} is a branch of the VSS tree, not a signal (its signals are {key}.*)"
        # A car with a typo repeats it every second, and fuzzy matching costs up to ~0.2 ms:
        # remember recent answers (bounded, so random junk cannot grow it).
        reason = self._unknown.get(key)
        if reason is None:
            shown = key if len(key) <= 200 else key[:200] + "…"
            suggestions = self._close_matches(shown)
            hint = f"; did you mean {' or '.join(map(repr, suggestions))}?" if suggestions else ""
            reason = f"unknown signal {shown!r}{hint}"
            if len(key) <= 200:  # bound the memory as well as the count
                if len(self._unknown) >= _UNKNOWN_CACHE:
                    self._unknown.clear()
                self._unknown[key] = reason
        return reason

    def _close_matches(self, key: str) -> list[str]:
        """At most one likely meant path, cheap enough for a gateway flooded with typos: follow
        the tree segment by segment, fuzzy-matching each segment among the branch's children
        only, instead of comparing the key with all ~1,300 paths (which takes milliseconds)."""
        same_but_case = self._by_lower.get(key.lower())
        if same_but_case is not None:
            return [same_but_case]
        segments = key.split(".")
        if len(segments) > 16:
            return []
        path = ""
        for segment in segments:
            names = self._children.get(path)
            if names is None:
                return []
            if segment not in names:
                close = difflib.get_close_matches(segment, names, n=1, cutoff=0.7)
                if not close:
                    return []
                segment = close[0]
            path = f"{path}.{segment}" if path else segment
        return [path] if path in self._by_key else []

    def search(self, text: str, limit: int = 50) -> list[Signal]:
        """Signals whose path contains `text` (case-insensitive), best first: the exact path or
        id, then paths starting with it, then paths with a segment starting with it, then the
        rest; shorter paths first within each group. Empty text lists signals in path order."""
        if limit <= 0:
            return []
        query = text.strip().lower()
        if not query:
            return list(self._signals[:limit])
        ranked: list[tuple[int, int, str, Signal]] = []
        if query.isascii() and query.isdigit() and len(query) <= 19:  # int("²") would raise
            by_id = self._by_key.get(int(query))
            if by_id is not None:
                ranked.append((0, 0, by_id.path, by_id))
        for low, sig in self._lower:
            at = low.find(query)
            if at < 0:
                continue
            if low == query:
                rank = 0
            elif at == 0:
                rank = 1
            elif low[at - 1] == ".":
                rank = 2
            else:
                rank = 3
            ranked.append((rank, len(low), low, sig))
        ranked.sort(key=lambda r: r[:3])
        return [r[3] for r in ranked[:limit]]

    def from_stored(self, key: str | int, num: float | None, txt: str | None) -> Any:
        """The stored (num, txt) pair of signal `key` as a value of its VSS type."""
        return self.get(key).from_stored(num, txt)

    @property
    def branches(self) -> frozenset[str]:
        """The paths of the VSS tree's branches (which are not signals)."""
        return self._branches

    def __len__(self) -> int:
        return len(self._signals)

    def __iter__(self) -> Iterator[Signal]:
        return iter(self._signals)

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def __repr__(self) -> str:
        return f"<Catalog VSS {self.vss_version or '?'}: {len(self._signals)} signals>"


def _read(source: Source, what: str) -> Mapping[str, Any]:
    if isinstance(source, Mapping):
        return source
    data = source.read_bytes() if isinstance(source, Path) else source
    try:
        tree = msgspec.json.decode(data)
    except msgspec.DecodeError as e:
        raise CatalogError(f"{what} is not valid JSON: {e}") from e
    if not isinstance(tree, dict):
        raise CatalogError(f"{what} must be a JSON object")
    return tree


def _packaged(name: str) -> bytes:
    # importlib.resources, so that it works from an installed wheel as well as from the repo.
    return files("volta").joinpath("data", "vss", name).read_bytes()


def _vss_version(tree: Mapping[str, Any]) -> str:
    """The release the tree says it is, from the defaults of Vehicle.VersionVSS."""
    version = tree.get("Vehicle", {}).get("children", {}).get("VersionVSS", {}).get("children", {})
    major = version.get("Major", {}).get("default")
    minor = version.get("Minor", {}).get("default")
    return f"{major}.{minor}" if major is not None and minor is not None else ""


def load_catalog(
    vss: Source | None = None,
    overlay: Source | None = None,
    *,
    own_signals: Source | None = None,
    max_string_length: int = DEFAULT_MAX_LENGTH,
    max_array_length: int = DEFAULT_MAX_ITEMS,
) -> Catalog:
    """Load a catalog: the packaged VSS 6.0, Volta's own signals added on top of it
    (`own_signals`, a VSS tree that may only add) and the overlay of ranges (`overlay`, which
    may only narrow), unless other sources are given (a file path, JSON bytes, or the parsed
    JSON). Pass `overlay={}, own_signals={}` for the bare spec."""
    tree = _read(vss if vss is not None else _packaged(VSS_FILE), "the VSS file")
    added = _read(
        own_signals if own_signals is not None else _packaged(SIGNALS_FILE), "the signal overlay"
    )
    ranges = _read(overlay if overlay is not None else _packaged(OVERLAY_FILE), "the overlay")
    signals, branches = read_vss(tree, max_length=max_string_length, max_items=max_array_length)
    check_additions(added, signals, branches)
    more, more_branches = read_vss(added, max_length=max_string_length, max_items=max_array_length)
    signals += more
    branches = sorted({*branches, *more_branches})
    signals = apply_overlay(signals, ranges)
    return Catalog(signals, branches, _vss_version(tree))


@cache
def default_catalog() -> Catalog:
    """The packaged VSS 6.0 catalog with Volta's own signals and ranges, loaded once per process."""
    return load_catalog()
