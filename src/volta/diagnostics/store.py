"""Where the diagnostics state is kept across restarts and shared with the API: a
`DiagnosticsTable`.

Two tables, on SQLite (`diagnostics.sqlite` in the data dir, embedded) or PostgreSQL
(`volta.diagnostics.postgres`, scale-out); `open_diagnostics_table` picks by the settings:
- `parts`: each vehicle's `state` and `history` (`volta.diagnostics.snapshot`), with the
  revision of the save that wrote it last;
- `records`: the fleet's records (charging failures, sessions that worked, code
  occurrences), each once, by its place in its list; those the fleet pruned for age
  (`FleetDiagnostics.prune`) are deleted by the next save;
- `marks`: per vehicle, the last predictive alert change a scale-out API process passed on to
  its service desk (`volta.diagnostics.feed`), the one thing a reader writes.
One process writes (the one that follows the bus: the embedded platform or `volta
processors`), through a `DiagnosticsKeeper`: it loads everything back at start and then writes
only what changed, every few seconds and at a clean stop. Readers (a scale-out API process,
`volta.diagnostics.mirror`) ask for the rows of revisions and places after those they have.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import msgspec

from volta.config import Settings
from volta.diagnostics import snapshot
from volta.diagnostics.fleet import FleetDiagnostics
from volta.sqlite import SQLiteFile, transaction

__all__ = [
    "DB_FILE",
    "Collected",
    "DiagnosticsKeeper",
    "DiagnosticsTable",
    "History",
    "Kept",
    "Mark",
    "SQLiteDiagnostics",
    "open_diagnostics_table",
]

log = logging.getLogger(__name__)

DB_FILE = "diagnostics.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS parts (
    vin TEXT NOT NULL, part TEXT NOT NULL, rev INTEGER NOT NULL, body BLOB NOT NULL,
    PRIMARY KEY (vin, part)
);
CREATE INDEX IF NOT EXISTS parts_rev ON parts (rev);
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL, seq INTEGER NOT NULL, body BLOB NOT NULL, PRIMARY KEY (kind, seq)
);
CREATE TABLE IF NOT EXISTS marks (
    vin TEXT PRIMARY KEY, ts_ms INTEGER NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL,
    turned_on INTEGER NOT NULL
);
"""

Part = tuple[str, str, bytes]  # (vin, part, body)
Record = tuple[str, int, bytes]  # (kind, seq, body)
History = tuple[str, int, bytes]  # (vin, rev, body)
Mark = tuple[int, str, str, bool]  # an alert change: (ts_ms, kind, subject, on)


@dataclass
class Kept:
    """Rows read from a table: parts newer than a revision, records after given places."""

    parts: list[tuple[str, str, int, bytes]] = field(default_factory=list)  # + rev
    records: list[Record] = field(default_factory=list)  # by kind, then seq

    @property
    def rev(self) -> int:
        return max((p[2] for p in self.parts), default=0)


@dataclass
class Collected:
    """What a save writes, not encoded yet: parts (vin, part, `snapshot` part), records
    (kind, seq, record) and, per kind, the place the records before which are deleted (the
    fleet pruned them)."""

    parts: list[tuple[str, str, Any]] = field(default_factory=list)
    records: list[tuple[str, int, Any]] = field(default_factory=list)
    drop_before: dict[str, int] = field(default_factory=dict)


class DiagnosticsTable(Protocol):
    """The kept diagnostics of a fleet."""

    def load(
        self, after_rev: int = 0, after: Mapping[str, int] | None = None, vin: str | None = None
    ) -> Kept:
        """The parts of revisions above `after_rev` (of `vin` only, if given) and the records
        of each kind from place `after[kind]` on (0: all), read as of one moment."""
        ...

    def save(
        self,
        parts: list[Part],
        records: list[Record],
        rev: int,
        drop_before: Mapping[str, int] | None = None,
    ) -> None:
        """Write the parts (replacing a vehicle's earlier ones) as revision `rev`, add the
        records (one already kept is left as it is) and delete those of each kind of
        `drop_before` placed before the place given: all in one transaction."""
        ...

    def histories(self, after_rev: int) -> list[History]:
        """The `history` parts of revisions above `after_rev`."""
        ...

    def marks(self) -> dict[str, Mark]:
        """Each vehicle's mark: the last alert change passed on."""
        ...

    def set_marks(self, marks: Mapping[str, Mark]) -> None:
        """Replace these vehicles' marks, in one transaction."""
        ...

    def close(self) -> None: ...


class SQLiteDiagnostics(SQLiteFile):
    """`DiagnosticsTable` on one SQLite file in WAL mode (a reader in another process on the
    same disk never waits for the writer)."""

    FILE = DB_FILE
    SCHEMA = _SCHEMA
    WHAT = "diagnostics state"

    def load(
        self, after_rev: int = 0, after: Mapping[str, int] | None = None, vin: str | None = None
    ) -> Kept:
        after = after or {}
        with self._lock, transaction(self._db):  # one moment for both tables
            parts = self._db.execute(
                "SELECT vin, part, rev, body FROM parts WHERE rev > ?"
                + (" AND vin = ?" if vin is not None else ""),
                (after_rev,) if vin is None else (after_rev, vin),
            ).fetchall()
            records = []
            for kind in snapshot.RECORDS:
                records += self._db.execute(
                    "SELECT kind, seq, body FROM records WHERE kind = ? AND seq >= ? ORDER BY seq",
                    (kind, after.get(kind, 0)),
                ).fetchall()
        return Kept(parts, records)

    def save(
        self,
        parts: list[Part],
        records: list[Record],
        rev: int,
        drop_before: Mapping[str, int] | None = None,
    ) -> None:
        with self._lock, transaction(self._db):
            self._db.executemany(
                "INSERT OR REPLACE INTO parts VALUES (?, ?, ?, ?)",
                [(vin, part, rev, body) for vin, part, body in parts],
            )
            self._db.executemany("INSERT OR IGNORE INTO records VALUES (?, ?, ?)", records)
            self._db.executemany(
                "DELETE FROM records WHERE kind = ? AND seq < ?", list((drop_before or {}).items())
            )

    def histories(self, after_rev: int) -> list[History]:
        with self._lock:
            return self._db.execute(
                "SELECT vin, rev, body FROM parts WHERE part = ? AND rev > ?",
                (snapshot.HISTORY, after_rev),
            ).fetchall()

    def marks(self) -> dict[str, Mark]:
        with self._lock:
            rows = self._db.execute("SELECT vin, ts_ms, kind, subject, turned_on FROM marks")
            return {vin: (ts, kind, subject, bool(on)) for vin, ts, kind, subject, on in rows}

    def set_marks(self, marks: Mapping[str, Mark]) -> None:
        with self._lock, transaction(self._db):
            self._db.executemany(
                "INSERT OR REPLACE INTO marks VALUES (?, ?, ?, ?, ?)",
                [(vin, *m) for vin, m in marks.items()],
            )


def open_diagnostics_table(settings: Settings) -> DiagnosticsTable:
    """The table on the engine `settings.diagnostics` names: `diagnostics.sqlite` in the data
    dir ('sqlite', the default) or PostgreSQL (postgresql://…; ConfigError for anything
    else)."""
    from volta.derived.engines import postgres_url

    if postgres_url(settings.diagnostics, "VOLTA_DIAGNOSTICS"):
        # Imported here: the embedded default never loads psycopg.
        from volta.diagnostics.postgres import PostgresDiagnostics

        return PostgresDiagnostics(
            settings.diagnostics,
            schema=settings.diagnostics_schema,
            timeout=settings.store_timeout_s,
        )
    return SQLiteDiagnostics.open(settings.data_dir)


class DiagnosticsKeeper:
    """Keeps one `FleetDiagnostics` in a table: `restore` loads what was kept (or, called
    again, what was written since), `collect` takes what changed (under the caller's lock:
    it reads the fleet) and `write` stores it (outside the lock). Not thread-safe by itself."""

    def __init__(self, table: DiagnosticsTable) -> None:
        self.table = table
        self.rev = 0  # the newest revision read or written
        self.kept = dict.fromkeys(snapshot.RECORDS, 0)  # records kept (or read), per kind
        self._dropped = dict.fromkeys(snapshot.RECORDS, 0)  # per kind: deleted before this
        self._marks: dict[str, tuple[object, ...]] = {}  # vin -> its history as last kept
        self._waiting: set[str] = set()  # vehicles whose changed history waits (the limit)
        self.skipped = 0  # kept parts that could not be read (an older or newer format)
        self._rev_of: dict[str, int] = {}  # vehicles read alone: the newest revision read

    def restore(self, fleet: FleetDiagnostics, vin: str | None = None) -> None:
        """Put what the table holds beyond what was read before into `fleet`: every
        vehicle's, or only `vin`'s (and the records: a reader of one vehicle)."""
        after = self.rev if vin is None else max(self.rev, self._rev_of.get(vin, 0))
        kept = self.table.load(after, self.kept, vin)
        newest = fleet.newest_ms
        for v, part, _, body in kept.parts:
            try:
                snapshot.apply_part(fleet, v, part, body)
            except (msgspec.DecodeError, KeyError) as e:
                # written by another Volta: that vehicle builds up again from new data
                self.skipped += 1
                log.warning("diagnostics: cannot read the kept %s of %s (%s)", part, v, e)
                continue
            if part == snapshot.HISTORY:
                self._marks[v] = snapshot.history_mark(fleet.vehicles[v])
            else:
                newest = max(newest, fleet.vehicles[v].last_ms)
        lists = snapshot.record_lists(fleet)
        for kind, seq, body in kept.records:
            lst = lists[kind]
            end = fleet.pruned[kind] + len(lst)
            if seq < end:
                continue  # read before
            if seq > end:  # the writer pruned up to here: what this copy holds is older
                lst.clear()
                fleet.pruned[kind] = seq
            lst.append(snapshot.decode_record(kind, body))
        self.kept = {kind: fleet.pruned[kind] + len(lst) for kind, lst in lists.items()}
        # the windows as of the newest state read (a writer at its start, a reader's copy)
        fleet.newest_ms = newest
        fleet.prune()
        if vin is None:
            self.rev = max(self.rev, kept.rev)
        else:
            self._rev_of[vin] = max(after, kept.rev)

    def collect(
        self, fleet: FleetDiagnostics, vins: Iterable[str], history_limit: int | None = None
    ) -> Collected:
        """What changed: the `state` of `vins` (the vehicles fed since the last collect),
        encoded, the `history` of those whose history changed and the records added, copied,
        to be encoded and written without the lock. At most `history_limit` histories: the
        rest wait for the next collects (every series of every car closes its hour at the
        same moment, so their writes are spread over the saves after it)."""
        vins = set(vins) & fleet.vehicles.keys()
        out = Collected()
        for vin in vins:
            out.parts.append((vin, snapshot.STATE, snapshot.encode_state(fleet, vin)))
        histories = 0
        for vin in [*self._waiting, *(vins - self._waiting)]:
            veh = fleet.vehicles[vin]
            mark = snapshot.history_mark(veh)
            if mark == self._marks.get(vin):
                self._waiting.discard(vin)
            elif history_limit is not None and histories >= history_limit:
                self._waiting.add(vin)
            else:
                histories += 1
                self._waiting.discard(vin)
                self._marks[vin] = mark
                out.parts.append((vin, snapshot.HISTORY, snapshot.history_of(veh)))
        for kind, lst in snapshot.record_lists(fleet).items():
            first = fleet.pruned[kind]
            start = max(self.kept[kind], first)
            out.records += [(kind, seq, r) for seq, r in enumerate(lst[start - first :], start)]
            self.kept[kind] = first + len(lst)
            if first > self._dropped[kind]:
                out.drop_before[kind] = self._dropped[kind] = first
        return out

    @property
    def waiting(self) -> int:
        """Histories that changed and wait for a later collect (`history_limit`)."""
        return len(self._waiting)

    def write(self, collected: Collected) -> None:
        """Encode and store what `collect` gave, as the next revision. On failure the caller
        should `forget`: the marks and places moved on already."""
        if collected.parts or collected.records or collected.drop_before:
            self.rev += 1
            self.table.save(
                [(vin, part, snapshot.encode(obj)) for vin, part, obj in collected.parts],
                [(kind, seq, snapshot.encode(r)) for kind, seq, r in collected.records],
                self.rev,
                collected.drop_before,
            )

    def forget(self) -> None:
        """After a failed write: what was collected goes again with the next collect."""
        self._marks.clear()
        self.kept = dict.fromkeys(snapshot.RECORDS, 0)
        self._dropped = dict.fromkeys(snapshot.RECORDS, 0)
