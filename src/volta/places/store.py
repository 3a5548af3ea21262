"""Where places live: `places.sqlite` in the data dir, cached in memory with a version that
every change bumps (the `Tagger` of a version is built once). Changes another process made
(scale-out: the API writes places, the processors process tags with them) are read back when
SQLite's `data_version` says the file changed."""

from __future__ import annotations

import logging
import threading
import uuid
from pathlib import Path

import msgspec

from volta.errors import ConfigError, NotFound
from volta.places.core import Place, Tagger
from volta.places.roads import RoadNames, road_names
from volta.sqlite import open_sqlite

__all__ = ["DB_FILE", "PlaceBook"]

DB_FILE = "places.sqlite"

log = logging.getLogger(__name__)

_SCHEMA = "CREATE TABLE IF NOT EXISTS places (id TEXT PRIMARY KEY, vin TEXT, body BLOB NOT NULL)"


class PlaceBook:
    """The places of a deployment. Road names (for points outside every place) come from
    the OSM extract at `osm_path` (default: the shipped one), loaded on first use; pass
    `roads=False` to label with places only."""

    def __init__(self, path: Path | str, *, osm_path: str | None = None, roads: bool = True):
        self._db = open_sqlite(path, _SCHEMA, "places store")
        self._lock = threading.Lock()
        self._osm_path = osm_path
        self._use_roads = roads
        self._places: dict[str, Place] = {}
        self._data_version = -1
        self.version = -1  # the first load bumps it: what was on file is version 0
        self._tagger: Tagger | None = None
        self._refresh()

    @classmethod
    def open(cls, data_dir: Path, **kw: object) -> PlaceBook:
        data_dir.mkdir(parents=True, exist_ok=True)
        return cls(data_dir / DB_FILE, **kw)  # type: ignore[arg-type]

    def _refresh(self) -> None:
        """Reload the places if another connection changed the file since the last look."""
        seen = self._db.execute("PRAGMA data_version").fetchone()[0]
        if seen == self._data_version:
            return
        self._data_version = seen
        rows = self._db.execute("SELECT body FROM places ORDER BY id").fetchall()
        self._places = {p.id: p for p in (msgspec.msgpack.decode(r[0], type=Place) for r in rows)}
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
            self._db.execute(
                "INSERT OR REPLACE INTO places VALUES (?,?,?)",
                (place.id, place.vin, msgspec.msgpack.encode(place)),
            )
            self._places[place.id] = place
            self._bump()
        return place

    def delete(self, place_id: str) -> Place:
        with self._lock:
            p = self._places.pop(place_id, None)
            if p is None:
                raise NotFound(f"no place {place_id!r}")
            self._db.execute("DELETE FROM places WHERE id = ?", (place_id,))
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
            self._db.close()
