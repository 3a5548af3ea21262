"""Where places live, cached in memory with a version that every change bumps (the `Tagger`
of a version is built once).

The rows sit in a `PlaceTable`: `places.sqlite` in the data dir (embedded) or PostgreSQL
(`volta.places.postgres`, scale-out). Changes another process made (the API writes places, the
processors tag with them) are read back when the table's stamp says something changed:
SQLite's `data_version` for the file, a generation row on PostgreSQL.
"""

from __future__ import annotations

import logging
import threading
import uuid
from pathlib import Path
from typing import Protocol

import msgspec

from volta.errors import ConfigError, NotFound
from volta.places.core import Place, Tagger
from volta.places.roads import RoadNames, road_names
from volta.sqlite import SQLiteFile

__all__ = ["DB_FILE", "PlaceBook", "PlaceTable", "SQLitePlaces"]

DB_FILE = "places.sqlite"

log = logging.getLogger(__name__)

_UNSEEN = -1  # below every stamp: SQLite's data_version and the generation count up from 0
_SCHEMA = "CREATE TABLE IF NOT EXISTS places (id TEXT PRIMARY KEY, vin TEXT, body BLOB NOT NULL)"


class PlaceTable(Protocol):
    """The rows behind a `PlaceBook`. A *stamp* is a number that changes when another
    connection changes the places; `seen` is the stamp the caller last loaded at, and a
    write answers the stamp the caller may hold afterwards (its own write included, anyone
    else's not)."""

    def stamp(self) -> int: ...

    def load(self) -> list[Place]:
        """Every place (read after `stamp`, so a change in between is loaded again later)."""
        ...

    def put(self, place: Place, seen: int) -> int:
        """Insert or replace by id."""
        ...

    def delete(self, place_id: str, seen: int) -> tuple[Place | None, int]:
        """Remove by id; the place removed (None if there was none)."""
        ...

    def close(self) -> None: ...


class SQLitePlaces(SQLiteFile):
    """`PlaceTable` on one SQLite file in WAL mode. `PRAGMA data_version` is the stamp: it
    changes for commits of other connections only, so this one's writes keep `seen`."""

    FILE = DB_FILE
    SCHEMA = _SCHEMA
    WHAT = "places store"

    def stamp(self) -> int:
        return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def load(self) -> list[Place]:
        rows = self._db.execute("SELECT body FROM places ORDER BY id").fetchall()
        return [msgspec.msgpack.decode(r[0], type=Place) for r in rows]

    def put(self, place: Place, seen: int) -> int:
        self._db.execute(
            "INSERT OR REPLACE INTO places VALUES (?,?,?)",
            (place.id, place.vin, msgspec.msgpack.encode(place)),
        )
        return seen

    def delete(self, place_id: str, seen: int) -> tuple[Place | None, int]:
        # fetchall: the statement must run to its end, or it would hold the write lock
        rows = self._db.execute("DELETE FROM places WHERE id = ? RETURNING body", (place_id,))
        found = rows.fetchall()
        return (msgspec.msgpack.decode(found[0][0], type=Place) if found else None), seen


class PlaceBook:
    """The places of a deployment, kept in `table`. Road names (for points outside every
    place) come from the OSM extract at `osm_path` (default: the shipped one), loaded on first
    use; pass `roads=False` to label with places only."""

    def __init__(self, table: PlaceTable, *, osm_path: str | None = None, roads: bool = True):
        self.table = table
        self._lock = threading.Lock()
        self._osm_path = osm_path
        self._use_roads = roads
        self._places: dict[str, Place] = {}
        self._stamp = _UNSEEN
        self.version = -1  # the first load bumps it: what was stored is version 0
        self._tagger: Tagger | None = None
        self._refresh()

    @classmethod
    def open(cls, data_dir: Path, *, osm_path: str | None = None, roads: bool = True) -> PlaceBook:
        """The embedded book: `places.sqlite` in `data_dir`."""
        return cls(SQLitePlaces.open(data_dir), osm_path=osm_path, roads=roads)

    def _refresh(self) -> None:
        """Reload the places if another process changed them since the last look."""
        seen = self.table.stamp()
        if seen == self._stamp:
            return
        self._places = {p.id: p for p in self.table.load()}
        self._stamp = seen
        self._bump()

    def list(self, vin: str | None = None, *, fleet: bool = True) -> list[Place]:
        """Every place; with `vin`, that vehicle's own and (with `fleet`) the fleet-wide ones."""
        with self._lock:
            self._refresh()
            out = list(self._places.values())
        if vin is not None:
            out = [p for p in out if p.vin == vin or (fleet and p.vin is None)]
        return sorted(out, key=lambda p: (p.vin or "", p.name, p.id))

    def get(self, place_id: str) -> Place:
        with self._lock:
            self._refresh()
            p = self._places.get(place_id)
        if p is None:
            raise NotFound(f"no place {place_id!r}")
        return p

    def put(self, place: Place) -> Place:
        """Create (an empty id gets a new one) or replace."""
        if not place.id:
            place = msgspec.structs.replace(place, id=uuid.uuid4().hex[:12])
        with self._lock:
            self._refresh()
            self._stamp = self.table.put(place, self._stamp)
            self._places[place.id] = place
            self._bump()
        return place

    def delete(self, place_id: str) -> Place:
        with self._lock:
            self._refresh()
            p, self._stamp = self.table.delete(place_id, self._stamp)
            if p is None:
                raise NotFound(f"no place {place_id!r}")
            self._places.pop(place_id, None)
            self._bump()
        return p

    def tagger(self) -> Tagger:
        """The labeller of the current places (cheap: rebuilt only after a change)."""
        with self._lock:
            self._refresh()
            t = self._tagger
            if t is None:
                t = self._tagger = Tagger(list(self._places.values()), self._roads(), self.version)
            return t

    def _roads(self) -> RoadNames | None:
        if not self._use_roads:
            return None
        try:
            return road_names(self._osm_path)
        except ConfigError as e:  # no map: places still tag, addresses stay empty
            log.warning("no road names for addresses: %s", e)
            self._use_roads = False
            return None

    def _bump(self) -> None:
        self.version += 1
        self._tagger = None

    def close(self) -> None:
        with self._lock:
            self.table.close()
