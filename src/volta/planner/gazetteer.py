"""Named places a trip can start or end at: a vehicle's saved places (`volta.places`), the
charging stations the planner knows, and the named features of the OSM extract (streets,
suburbs and other place nodes, amenities, shops, landmarks, named buildings and parks) and its
addresses (`addr:street` + `addr:housenumber`: "Kaivokatu 1", also "1 Kaivokatu" and with the
postcode and town after it).

Matching is case- and accent-insensitive ("toolo" finds "Töölö"), on words ("asema aukio"
finds "Asema-aukio"). A name matches a query exactly, by its start, by the start of one of its
words, or anywhere inside, in that order of preference; at the same level a vehicle's own saved
places come first, then the fleet's, then chargers, then the map. A query resolves when exactly
one candidate is best; several are `AmbiguousPlace`, none `PlaceNotFound` (both 422 in the API,
naming the candidates). Namesakes within `SAME_PLACE_M` of each other (a tram stop's platforms,
the two carriageways of a street) count as one place. An address the map does not have on a
street it has ("Kaivokatu 99") is `PlaceNotFound` listing that street's nearest numbers.

`Gazetteer` and `resolve`/`search` are pure; `osm_places` reads an `.osm.pbf`.
"""

from __future__ import annotations

import math
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate
from pathlib import Path

import osmium

from volta.errors import ConfigError, VoltaError
from volta.places.core import distance_m

__all__ = [
    "ADDRESS",
    "AmbiguousPlace",
    "Candidate",
    "Gazetteer",
    "Match",
    "PlaceError",
    "PlaceNotFound",
    "normalize",
    "osm_places",
    "resolve",
    "search",
]

SAME_PLACE_M = 300.0  # namesakes closer than this are one place
LISTED = 10  # candidates named in an ambiguous answer
# Sources, best first (at equal match quality): the car's own places are what its driver means
SAVED, FLEET, CHARGER = "saved place", "fleet place", "charger"
ADDRESS = "address"
_RANK = {SAVED: 0, FLEET: 1, CHARGER: 2}
EXACT, PREFIX, WORD, INSIDE = range(4)
_NON_WORD = re.compile(r"[\W_]+")
# "<street> <number>[ <letter>]", normalized: the number asked for on a street
_STREET_NUMBER = re.compile(r"^(?P<street>.*\D)\s(?P<number>\d+)(?:\s?[a-z])?$")


class PlaceError(VoltaError):
    """A named origin or destination does not name exactly one place (HTTP 422)."""

    def __init__(self, message: str, candidates: Sequence[Candidate] = ()) -> None:
        super().__init__(message)
        self.candidates = list(candidates)

    def extra(self) -> dict[str, object]:
        """Added to the API's error body: the candidates, to pick one by its coordinates."""
        return {"candidates": [c.as_dict() for c in self.candidates]}


class PlaceNotFound(PlaceError):
    """No place has that name."""


class AmbiguousPlace(PlaceError):
    """Several places fit the name equally well; `candidates` lists them."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A named point: `kind` is the source (saved place, fleet place, charger) or what the map
    says it is (street, suburb, restaurant, ...). `aliases` are other names it answers to
    (a charger's id)."""

    name: str
    kind: str
    lat: float
    lon: float
    aliases: tuple[str, ...] = ()
    keys: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        keys = tuple(k for k in (normalize(n) for n in (self.name, *self.aliases)) if k)
        object.__setattr__(self, "keys", keys)

    @property
    def rank(self) -> int:
        return _RANK.get(self.kind, len(_RANK))

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "kind": self.kind, "lat": self.lat, "lon": self.lon}

    def describe(self) -> str:
        return f"{self.name} ({self.kind}, {self.lat:.5f}, {self.lon:.5f})"


@dataclass(frozen=True, slots=True)
class Match:
    candidate: Candidate
    level: int  # EXACT, PREFIX, WORD or INSIDE

    @property
    def order(self) -> tuple[int, int, str]:
        return self.level, self.candidate.rank, self.candidate.name.casefold()


def normalize(text: str) -> str:
    """Lower case, accents dropped, words separated by single spaces: "Töölön-tori" ->
    "toolon tori"."""
    plain = "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    ).casefold()
    return " ".join(_NON_WORD.split(plain)).strip()


def _level(query: str, key: str) -> int | None:
    if key == query:
        return EXACT
    if key.startswith(query):
        return PREFIX
    if f" {query}" in f" {key}":
        return WORD
    return INSIDE if query in key else None


class Gazetteer:
    """Candidates to search by name; immutable, so shared between threads.

    Every candidate's normalized names are kept in one newline-separated text, so a query is
    one regular-expression scan in C over it (a large extract has millions of names) instead
    of a Python loop over the candidates; only the names it hits are looked at."""

    def __init__(self, candidates: Iterable[Candidate] = ()) -> None:
        self.candidates = tuple(candidates)
        self._keys = [k for c in self.candidates for k in c.keys]
        self._owner = [i for i, c in enumerate(self.candidates) for _ in c.keys]
        self._starts = list(accumulate((len(k) + 1 for k in self._keys), initial=0))
        self._text = "\n".join(self._keys)  # a normalized name has no newline

    def __len__(self) -> int:
        return len(self.candidates)

    def matches(self, query: str) -> list[Match]:
        """Every candidate the (normalized) query matches, at its best level."""
        best: dict[int, int] = {}
        hit: set[int] = set()
        for m in re.finditer(re.escape(query), self._text):
            j = bisect_right(self._starts, m.start()) - 1
            if j in hit:
                continue
            hit.add(j)
            level = _level(query, self._keys[j])
            i = self._owner[j]
            if level is not None and level < best.get(i, INSIDE + 1):
                best[i] = level
        return [Match(self.candidates[i], level) for i, level in best.items()]


def search(query: str, *books: Gazetteer, limit: int | None = LISTED) -> list[Match]:
    """The places matching a name, best first, namesakes within SAME_PLACE_M counted once."""
    q = normalize(query)
    if not q:
        return []
    found = sorted((m for b in books for m in b.matches(q)), key=lambda m: m.order)
    kept: list[Match] = []
    seen: dict[str, list[Candidate]] = {}
    for m in found:
        c = m.candidate
        near = seen.setdefault(c.keys[0], [])
        if any(distance_m(c.lat, c.lon, o.lat, o.lon) < SAME_PLACE_M for o in near):
            continue
        near.append(c)
        kept.append(m)
        if limit is not None and len(kept) >= limit:
            break
    return kept


def resolve(query: str, *books: Gazetteer) -> Candidate:
    """The one place a name means: the best match when no other is as good (same level, same
    source rank). PlaceNotFound / AmbiguousPlace otherwise, naming the candidates."""
    found = search(query, *books, limit=None)
    if not found:
        nearby = _numbers_on_street(query, books)
        if nearby:
            known = ", ".join(c.name for c in nearby)
            raise PlaceNotFound(
                f"no address {query!r} on the map; on that street it knows {known}. Give one of "
                "them, the street's name or the coordinates",
                nearby,
            )
        raise PlaceNotFound(f"no place named {query!r}")
    best = found[0]
    tied = [m for m in found if m.order[:2] == best.order[:2]]
    if len(tied) == 1:
        return best.candidate
    alike = [m.candidate for m in found if m.level == best.level]  # as good a match
    listed = alike[:LISTED]
    more = f"; and {len(alike) - len(listed)} more" if len(alike) > len(listed) else ""
    names = "; ".join(c.describe() for c in listed) + more
    raise AmbiguousPlace(
        f"{query!r} names {len(alike)} places: {names}. Give a longer name or the coordinates",
        listed,
    )


def _numbers_on_street(query: str, books: Sequence[Gazetteer]) -> list[Candidate]:
    """The addresses on the street a "<street> <number>" query names, nearest number first."""
    m = _STREET_NUMBER.match(normalize(query))
    if m is None:
        return []
    street, wanted = m["street"].strip(), int(m["number"])
    on_street: dict[str, tuple[int, Candidate]] = {}  # one per address (shops share one)
    for book in books:
        for match in book.matches(street):
            c = match.candidate
            number = _STREET_NUMBER.match(c.keys[0])
            if c.kind == ADDRESS and number and number["street"].strip() == street:
                on_street.setdefault(c.keys[0], (abs(int(number["number"]) - wanted), c))
    nearest = sorted(on_street.values(), key=lambda t: (t[0], t[1].name))
    return [c for _, c in nearest[:LISTED]]


# What a named map feature is: the first of these keys it has gives its kind ("suburb",
# "restaurant", "bus_stop"); named features with none of them (a route, a boundary) are left out.
KIND_KEYS = (
    "place", "amenity", "shop", "tourism", "leisure", "historic", "office", "craft",
    "healthcare", "railway", "public_transport", "aeroway", "highway", "building", "landuse",
    "natural", "man_made",
)  # fmt: skip


class _Named(osmium.SimpleHandler):
    def __init__(self) -> None:
        super().__init__()
        self.points: list[Candidate] = []
        # street name -> ways as (node ids, lats, lons)
        self.streets: dict[str, list[tuple[list[int], list[float], list[float]]]] = {}

    def node(self, n: osmium.osm.Node) -> None:
        name = n.tags.get("name")
        kind = _kind(n.tags) if name else None
        if name and kind:
            self.points.append(Candidate(name, kind, n.location.lat, n.location.lon))
        self._address(n.tags, n.location.lat, n.location.lon)

    def _address(self, tags: osmium.osm.TagList, lat: float, lon: float) -> None:
        street, number = tags.get("addr:street"), tags.get("addr:housenumber")
        if not (street and number):
            return
        town = [t for t in (tags.get("addr:postcode"), tags.get("addr:city")) if t]
        aliases = [f"{number} {street}"]
        if town:  # "Kaivokatu 1 00100 Helsinki", "Kaivokatu 1 Helsinki"
            aliases += [f"{street} {number} {' '.join(town)}", f"{street} {number} {town[-1]}"]
        self.points.append(Candidate(f"{street} {number}", ADDRESS, lat, lon, tuple(aliases)))

    def way(self, w: osmium.osm.Way) -> None:
        name = w.tags.get("name")
        if not (name or "addr:housenumber" in w.tags):
            return
        nodes = [nd for nd in w.nodes if nd.location.valid()]
        if not nodes:
            return
        lats, lons = [nd.lat for nd in nodes], [nd.lon for nd in nodes]
        if name and "highway" in w.tags:
            self.streets.setdefault(name, []).append(([nd.ref for nd in nodes], lats, lons))
            return
        lat, lon = sum(lats) / len(lats), sum(lons) / len(lons)  # an area or a line: its centre
        kind = _kind(w.tags)
        if name and kind:
            self.points.append(Candidate(name, kind, lat, lon))
        self._address(w.tags, lat, lon)


def _kind(tags: osmium.osm.TagList) -> str | None:
    for key in KIND_KEYS:
        value = tags.get(key)
        if value:
            return key if value == "yes" else value
    return None


def _streets(name: str, ways: list[tuple[list[int], list[float], list[float]]]) -> list[Candidate]:
    """One candidate per stretch of a street name: ways sharing a node are one street (towns of
    a large extract each have their own Main Street), at its vertex nearest its middle."""
    parent = list(range(len(ways)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[int, int] = {}
    for i, (refs, _, _) in enumerate(ways):
        for ref in refs:
            j = owner.setdefault(ref, i)
            parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(ways)):
        groups.setdefault(root(i), []).append(i)
    out = []
    for members in groups.values():
        lats = [la for i in members for la in ways[i][1]]
        lons = [lo for i in members for lo in ways[i][2]]
        mlat, mlon = sum(lats) / len(lats), sum(lons) / len(lons)
        k = math.cos(math.radians(mlat))
        j = min(range(len(lats)), key=lambda i: (lats[i] - mlat) ** 2 + ((lons[i] - mlon) * k) ** 2)
        out.append(Candidate(name, "street", lats[j], lons[j]))
    return out


@lru_cache(maxsize=4)
def osm_places(path: Path) -> Gazetteer:
    """The named features of an `.osm.pbf` extract (read once per path)."""
    h = _Named()
    try:
        h.apply_file(str(path), locations=True)
    except RuntimeError as e:
        raise ConfigError(f"cannot read OSM file {path}: {e}") from e
    streets = [c for name, ways in h.streets.items() for c in _streets(name, ways)]
    return Gazetteer([*streets, *h.points])
