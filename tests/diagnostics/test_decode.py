"""Trouble codes decoded by the SAE J2012 / ISO 15031-6 structure, with Volta's and the
maker's descriptions; codes that do not follow the structure are kept raw."""

from __future__ import annotations

from pathlib import Path

import pytest

from volta.diagnostics import CELL_IMBALANCE, DTC_DESCRIPTIONS, LOW_VOLTAGE_BATTERY_WEAK
from volta.diagnostics.decode import Descriptions, decode, load_descriptions
from volta.errors import ConfigError


def test_the_old_module_names_still_import() -> None:
    assert DTC_DESCRIPTIONS[LOW_VOLTAGE_BATTERY_WEAK].startswith("12 V battery weak")


def test_a_volta_code_is_decoded_with_system_origin_subsystem_and_description() -> None:
    d = decode(CELL_IMBALANCE)
    assert (d.valid, d.system, d.origin, d.subsystem) == (
        True,
        "powertrain",
        "manufacturer",
        "high-voltage battery",
    )
    assert d.description == DTC_DESCRIPTIONS[CELL_IMBALANCE] and d.source == "volta"


@pytest.mark.parametrize(
    ("code", "system", "origin", "subsystem"),
    [
        ("P0A80", "powertrain", "generic", "hybrid/electric propulsion"),
        ("P0300", "powertrain", "generic", "ignition system or misfire"),
        ("P2A00", "powertrain", "generic", "hybrid/electric propulsion"),
        ("P3000", "powertrain", "manufacturer", None),
        ("P3400", "powertrain", "generic", "auxiliary emission controls"),
        ("U0100", "network", "generic", "network electrical"),
        ("U1A40", "network", "manufacturer", "communication between ECUs"),
        ("B2100", "body", "manufacturer", None),
        ("C3100", "chassis", "generic", None),
    ],
)
def test_the_structure_says_who_defined_a_code_and_its_group(
    code: str, system: str, origin: str, subsystem: str | None
) -> None:
    d = decode(code)
    assert (d.valid, d.system, d.origin, d.subsystem) == (True, system, origin, subsystem)


def test_the_three_byte_form_keeps_its_failure_type_and_the_base_description() -> None:
    d = decode("P1B10-1C")
    assert d.valid and d.failure_type == "1C"
    assert d.description == DTC_DESCRIPTIONS[CELL_IMBALANCE]


@pytest.mark.parametrize("raw", ["X1234", "P0A8", "P4A80", "hello", "", "P0A80-", "p0a8g", "42"])
def test_a_code_off_the_structure_is_kept_raw_not_dropped(raw: str) -> None:
    d = decode(raw)
    assert d.valid is False and d.code == raw and d.system is None


def test_the_maker_file_adds_codes_and_overrides_volta(tmp_path: Path) -> None:
    f = tmp_path / "codes.json"
    f.write_text('{"P1B10": "Cell drift (maker)", "p1d00": "Inverter coolant low"}')
    desc = load_descriptions(f)
    assert decode("P1B10", desc).description == "Cell drift (maker)"
    assert decode("P1B10", desc).source == "maker"
    assert decode("P1D00", desc).description == "Inverter coolant low"
    assert decode("C1A00", desc).source == "volta"  # the rest stays Volta's
    csv = tmp_path / "codes.csv"
    csv.write_text('code,description\nU2000,"Gateway, lost"\n')
    assert decode("U2000", load_descriptions(csv)).description == "Gateway, lost"


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("bad.json", "{not json", "not JSON"),
        ("list.json", "[1, 2]", "expected an object"),
        ("code.json", '{"X999": "x"}', "'X999' is not a J2012 code"),
        ("empty.json", '{"P1000": " "}', "empty description"),
        ("short.csv", "code,description\nP1000\n", "line 2: need code,description"),
        ("bad.csv", "P1000,ok\nZZZ,bad\n", "line 2: 'ZZZ' is not a J2012 code"),
    ],
)
def test_a_bad_description_file_is_a_config_error_naming_the_place(
    tmp_path: Path, name: str, text: str, reason: str
) -> None:
    f = tmp_path / name
    f.write_text(text)
    with pytest.raises(ConfigError, match=reason):
        load_descriptions(f)
    with pytest.raises(ConfigError, match="cannot read"):
        load_descriptions(tmp_path / "missing.json")


def test_descriptions_without_a_maker_file_are_volta_s() -> None:
    assert Descriptions().get("C1A00") == (DTC_DESCRIPTIONS["C1A00"], "volta")
    assert Descriptions().get("P0001") is None
