"""The road graph built from OpenStreetMap: connectivity, one-ways, limits, chargers, routing."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from itertools import pairwise
from pathlib import Path

import numpy as np
import osmium
import pytest

from volta.errors import ConfigError
from volta.geo.distance import haversine_m
from volta.geo.graph import RoadGraph
from volta.geo.osm import load_roads, parse_maxspeed


@cache
def helsinki() -> RoadGraph:
    return load_roads()


def test_helsinki_graph_is_one_strongly_connected_component() -> None:
    g = helsinki()
    assert g.n_nodes > 1000 and g.n_edges > 2000
    rng = np.random.default_rng(0)
    for a, b in rng.integers(g.n_nodes, size=(40, 2)).tolist():
        r = g.route(a, b)
        assert r is not None
        assert r.nodes[0] == a and r.nodes[-1] == b
        assert r.length_m == pytest.approx(g.length_m[r.edges].sum())


def test_route_follows_existing_directed_edges_only() -> None:
    g = helsinki()
    rng = np.random.default_rng(1)
    for a, b in rng.integers(g.n_nodes, size=(30, 2)).tolist():
        r = g.route(a, b)
        assert r is not None
        assert np.array_equal(g.src[r.edges], r.nodes[:-1])
        assert np.array_equal(g.dst[r.edges], r.nodes[1:])


class _OneWays(osmium.SimpleHandler):
    def __init__(self) -> None:
        super().__init__()
        self.forward: dict[int, list[int]] = {}

    def way(self, w: osmium.osm.Way) -> None:
        if w.tags.get("highway") and w.tags.get("oneway") == "yes":
            self.forward[w.id] = [n.ref for n in w.nodes]


def test_one_way_edges_only_run_in_the_ways_direction() -> None:
    g = helsinki()
    h = _OneWays()
    h.apply_file(str(files("volta").joinpath("data", "osm", "helsinki.osm.pbf")))
    checked = 0
    for e in range(g.n_edges):
        nodes = h.forward.get(int(g.osm_way[e]))
        if nodes is None:
            continue
        pairs = set(pairwise(nodes))
        assert (int(g.osm_node[g.src[e]]), int(g.osm_node[g.dst[e]])) in pairs
        checked += 1
    assert checked > 100


def test_chargers_are_snapped_to_graph_nodes_nearby() -> None:
    g = helsinki()
    assert len(g.chargers) == 4
    for c in g.chargers:
        assert 0 <= c.node < g.n_nodes
        assert float(haversine_m(c.lat, c.lon, g.lat[c.node], g.lon[c.node])) < 300


@pytest.mark.parametrize(
    ("tag", "kmh"),
    [
        ("50", 50.0),
        ("30 mph", 48.28),
        ("FI:urban", 50.0),
        ("DE:zone30", 30.0),
        ("RU:zone:20", 20.0),
        ("50;30", 30.0),
        ("walk", 7.0),
        ("signals", 50.0),
        ("", None),
        ("fast", None),
        ("20 knots", 37.04),
    ],
)
def test_maxspeed_tags_are_read_in_kmh(tag: str, kmh: float | None) -> None:
    got = parse_maxspeed(tag)
    assert got == (pytest.approx(kmh, abs=0.01) if kmh is not None else None)


_HW = '<tag k="highway" v="{}"/>'
_OSM = (
    "<?xml version='1.0' encoding='UTF-8'?>\n<osm version=\"0.6\" generator=\"test\">\n{nodes}\n"
    + '<way id="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/>'
    + _HW.format("primary")
    + '<tag k="maxspeed" v="30 mph"/></way>\n'
    + '<way id="2"><nd ref="3"/><nd ref="4"/>'
    + _HW.format("residential")
    + '<tag k="oneway" v="-1"/></way>\n'
    + '<way id="3"><nd ref="1"/><nd ref="4"/>'
    + _HW.format("secondary")
    + '<tag k="junction" v="roundabout"/></way>\n'
    + '<way id="4"><nd ref="2"/><nd ref="5"/>'
    + _HW.format("footway")
    + "</way>\n"
    + '<way id="5"><nd ref="3"/><nd ref="6"/>'
    + _HW.format("service")
    + '<tag k="access" v="private"/></way>\n'
    + '<way id="6"><nd ref="5"/><nd ref="6"/><nd ref="7"/><nd ref="5"/>'
    + '<tag k="amenity" v="charging_station"/>'
    + '<tag k="socket:type2_combo:output" v="150 kW"/></way>\n'
    + "</osm>\n"
)


def test_small_osm_file_honours_oneway_minus_one_roundabouts_units_and_access(
    tmp_path: Path,
) -> None:
    coords = {
        1: (60.0, 24.0),
        2: (60.0, 24.001),
        3: (60.001, 24.001),
        4: (60.001, 24.0),
        5: (60.0005, 24.002),
        6: (60.0006, 24.002),
        7: (60.0006, 24.0021),
    }
    nodes = "\n".join(f' <node id="{i}" lat="{la}" lon="{lo}"/>' for i, (la, lo) in coords.items())
    path = tmp_path / "tiny.osm"
    path.write_text(_OSM.format(nodes=nodes))
    g = load_roads(path)
    edges = {
        (int(g.osm_node[s]), int(g.osm_node[d])): float(v)
        for s, d, v in zip(g.src, g.dst, g.speed_mps, strict=True)
    }
    # the primary is two-way at 30 mph; oneway=-1 runs 4 -> 3 only; the roundabout 1 -> 4 only
    assert edges[(1, 2)] == pytest.approx(30 * 1.609344 / 3.6)
    assert (2, 1) in edges and (3, 2) in edges
    assert (4, 3) in edges and (3, 4) not in edges
    assert (1, 4) in edges and (4, 1) not in edges
    assert 5 not in g.osm_node and 6 not in g.osm_node  # footway and private service excluded
    assert len(g.chargers) == 1 and g.chargers[0].dc and g.chargers[0].power_kw == 150.0


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_roads(tmp_path / "nowhere.osm.pbf")
