"""The map's areas and street labels read from the shipped Helsinki extract."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from volta.errors import ConfigError
from volta.geo.features import AREA_CLASSES, area_class, load_features
from volta.geo.osm import default_osm_path


def test_the_shipped_extract_has_water_parks_buildings_and_street_names() -> None:
    f = load_features(default_osm_path())
    # 419 closed building ways and 61 outer rings of building multipolygons
    assert len(f["building"]) >= 480
    assert len(f["park"]) > 50
    assert len(f["water"]) > 0
    for cls in AREA_CLASSES:
        for ring in f[cls]:  # type: ignore[literal-required]
            assert len(ring) >= 4 and ring[0] == ring[-1]
            twice_area = sum(a[0] * b[1] - b[0] * a[1] for a, b in itertools.pairwise(ring))
            assert twice_area >= 0  # all counter-clockwise: overlapping rings never cancel
            for lon, lat in ring:
                assert 24.8 < lon < 25.1 and 60.1 < lat < 60.25
                assert round(lon, 6) == lon and round(lat, 6) == lat
    names = [label["name"] for label in f["labels"]]
    assert len(names) > 50 and len(set(names)) == len(names)
    assert "Mannerheimintie" in names
    assert all(-90 <= label["angle"] <= 90 for label in f["labels"])


def test_area_classes_follow_the_tags() -> None:
    assert area_class({"building": "yes"}) == "building"
    assert area_class({"building": "no", "leisure": "park"}) == "park"
    assert area_class({"natural": "water"}) == "water"
    assert area_class({"landuse": "forest"}) == "park"
    assert area_class({"landuse": "residential"}) is None
    assert area_class({"highway": "residential"}) is None


def test_a_missing_extract_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_features(tmp_path / "none.osm.pbf")
