"""Decoding a trouble code by the SAE J2012 / ISO 15031-6 structure, with descriptions.

A code is a letter for the system (P powertrain, B body, C chassis, U network), a digit that
says who defined it (SAE/ISO generic or the manufacturer), a character for the subsystem and
two more characters; J2012's 3-byte form adds a failure-type byte after a dash ("P0A80-1C").
Descriptions are Volta's own (`codes.DTC_DESCRIPTIONS`) plus, optionally, the maker's file
loaded at run time (`load_descriptions`, setting `VOLTA_DTC_DESCRIPTIONS`); the maker's text
wins for a code both know. A code that does not follow the structure is kept as sent and shown
raw (`valid` False), never dropped.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from volta.diagnostics.codes import DTC_DESCRIPTIONS
from volta.errors import ConfigError

__all__ = ["DecodedCode", "Descriptions", "decode", "load_descriptions"]

SYSTEMS = {"P": "powertrain", "C": "chassis", "B": "body", "U": "network"}
_CODE = re.compile(r"^([PCBU])([0-3])([0-9A-F])([0-9A-F]{2})(?:-([0-9A-F]{2}))?$")
Origin = Literal["generic", "manufacturer"]

# SAE J2012's groups of generic powertrain codes (P0xxx, P2xxx) by their third character, in
# Volta's words; U codes by their second digit's group. Manufacturer codes have the maker's
# subsystems: Volta names its own.
_P_GENERIC = {
    "0": "fuel and air metering, auxiliary emission controls",
    "1": "fuel and air metering",
    "2": "fuel and air metering (injector circuit)",
    "3": "ignition system or misfire",
    "4": "auxiliary emission controls",
    "5": "vehicle speed, idle control and auxiliary inputs",
    "6": "computer and output circuits",
    "7": "transmission",
    "8": "transmission",
    "9": "transmission",
    "A": "hybrid/electric propulsion",
    "B": "hybrid/electric propulsion (battery)",
    "C": "hybrid/electric propulsion",
}
_U_GENERIC = {
    "0": "network electrical",
    "1": "network communication",
    "2": "network communication",
    "3": "network software",
    "4": "network data",
}
_VOLTA_SUBSYSTEMS = {
    "P1B": "high-voltage battery",
    "P1C": "charging",
    "C1A": "tyres",
    "C1B": "brakes and wheels",
    "B1A": "low-voltage electrics and cabin",
    "U1A": "communication between ECUs",
}


@dataclass(frozen=True, slots=True)
class DecodedCode:
    """What a code says by its structure, and its description where one is known."""

    code: str  # as sent
    valid: bool  # follows J2012; if not, only `code` is meaningful
    system: str | None = None  # "powertrain", "chassis", "body", "network"
    origin: Origin | None = None
    subsystem: str | None = None
    failure_type: str | None = None  # the 3-byte form's last byte, hex
    description: str | None = None
    source: str | None = None  # "volta" or "maker": whose description


class Descriptions:
    """Volta's descriptions plus the maker's (theirs win)."""

    def __init__(self, maker: Mapping[str, str] | None = None) -> None:
        self.maker = dict(maker or {})

    def get(self, code: str) -> tuple[str, str] | None:
        """(description, source) of a code, or None."""
        base = code.split("-", 1)[0]
        for key in (code, base):
            if key in self.maker:
                return self.maker[key], "maker"
        if base in DTC_DESCRIPTIONS:
            return DTC_DESCRIPTIONS[base], "volta"
        return None


def _origin(system: str, digit: str, third: str) -> Origin:
    if digit == "1":
        return "manufacturer"
    if digit == "0":
        return "generic"
    if system == "P":  # P2 generic; P3000–P33FF manufacturer, P3400–P3FFF generic
        return "generic" if digit == "2" or third not in "0123" else "manufacturer"
    return "manufacturer" if digit == "2" else "generic"  # B/C/U: 2 maker, 3 reserved (SAE)


def decode(code: object, descriptions: Descriptions | None = None) -> DecodedCode:
    """Decode one reported code; anything that does not follow J2012 comes back raw."""
    raw = str(code)
    m = _CODE.match(raw.strip().upper())
    found = (descriptions or Descriptions()).get(raw.strip().upper()) if m else None
    if m is None:
        return DecodedCode(code=raw, valid=False)
    letter, digit, third, _, ftb = m.groups()
    origin = _origin(letter, digit, third)
    if origin == "generic":
        groups = _P_GENERIC if letter == "P" else _U_GENERIC if letter == "U" else {}
        sub = groups.get(third if letter == "P" else digit)
    else:
        sub = _VOLTA_SUBSYSTEMS.get(letter + digit + third)
    return DecodedCode(
        code=raw,
        valid=True,
        system=SYSTEMS[letter],
        origin=origin,
        subsystem=sub,
        failure_type=ftb,
        description=found[0] if found else None,
        source=found[1] if found else None,
    )


def load_descriptions(path: Path) -> Descriptions:
    """The maker's description file: a JSON object {"P1234": "text", ...} or a CSV with the
    columns code,description. Each code must follow J2012; a bad file is a `ConfigError`
    naming the line or code."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"DTC description file {path}: cannot read it ({exc})") from None
    table: dict[str, str] = {}
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"DTC description file {path}: not JSON ({exc})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"DTC description file {path}: expected an object code → text")
        items = [(str(k), v, f"code {k!r}") for k, v in data.items()]
    else:
        rows = list(csv.reader(io.StringIO(text)))
        if rows and [c.strip().lower() for c in rows[0][:2]] == ["code", "description"]:
            rows = rows[1:]
            start = 2
        else:
            start = 1
        items = []
        for i, row in enumerate(rows, start):
            if not row:
                continue
            if len(row) < 2:
                raise ConfigError(f"DTC description file {path}, line {i}: need code,description")
            items.append((row[0], row[1], f"line {i}"))
    for code, desc, where in items:
        key = code.strip().upper()
        if not _CODE.match(key):
            raise ConfigError(
                f"DTC description file {path}, {where}: {code!r} is not a J2012 code "
                "(a letter P/C/B/U, a digit 0-3, three hex digits, optional -XX)"
            )
        if not isinstance(desc, str) or not desc.strip():
            raise ConfigError(f"DTC description file {path}, {where}: empty description")
        table[key] = desc.strip()
    return Descriptions(table)
