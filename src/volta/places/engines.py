"""Opening the places that the settings name: `places.sqlite` in the data dir (embedded, the
default) or PostgreSQL (`VOLTA_PLACES=postgresql://…`, scale-out: the API that writes them and
the processors that tag with them need no disk in common)."""

from __future__ import annotations

from volta.config import Settings
from volta.derived.engines import postgres_url
from volta.places.store import PlaceBook, PlaceTable, SQLitePlaces

__all__ = ["open_places"]


def open_places(
    settings: Settings, *, osm_path: str | None = None, roads: bool = True
) -> PlaceBook:
    """The place book on the engine `settings.places` names (ConfigError for an unknown one);
    `osm_path` and `roads` as for `PlaceBook`."""
    table: PlaceTable
    if postgres_url(settings.places, "VOLTA_PLACES"):
        # Imported here: the embedded default never loads psycopg.
        from volta.places.postgres import PostgresPlaces

        table = PostgresPlaces(
            settings.places, schema=settings.places_schema, timeout=settings.store_timeout_s
        )
    else:
        table = SQLitePlaces.open(settings.data_dir)
    return PlaceBook(table, osm_path=osm_path, roads=roads)
