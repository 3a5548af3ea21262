"""The dashboard map draws more than roads: water, parks and buildings under the roads, in their
colours where the shipped extract has them, and street names along the streets once zoomed in
far enough for them to fit."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import SCREENSHOTS, chromium_missing
from .server import Server

if chromium_missing():
    pytest.skip(f"browser tests skipped: {chromium_missing()}", allow_module_level=True)

from playwright.sync_api import Page

from .test_dashboard import sign_in

COLOURS = {"water": (0xAA, 0xD3, 0xDF), "park": (0xC8, 0xE6, 0xB0), "building": (0xD6, 0xD3, 0xCE)}

# In the page: centre the map on a point inside the largest ring of a class, paint now and
# return the colours of the 9x9 device pixels around the centre.
PIXELS_AT_CLASS = """([cls, k]) => {
  const m = window.__voltaMap, f = m.features;
  const area = (r) => { let a = 0; for (let i = 1; i < r.length; i++)
    a += r[i - 1][0] * r[i][1] - r[i][0] * r[i - 1][1]; return Math.abs(a); };
  const ring = [...f[cls]].sort((a, b) => area(b) - area(a))[0];
  const probe = document.createElement("canvas").getContext("2d");
  const p = new Path2D();
  ring.forEach(([lon, lat], i) =>
    i ? p.lineTo(lon * 1e4, lat * 1e4) : p.moveTo(lon * 1e4, lat * 1e4));
  // a point inside: the vertex mean, else the midpoint of a chord between two vertices
  let inside = null;
  const n = ring.length - 1;
  const tries = [[0, 0]].concat([...Array(n).keys()].map((i) => [i, (i + Math.floor(n / 2)) % n]));
  for (const [i, j] of tries) {
    const pt = i === 0 && j === 0
      ? [0, 1].map((c) => ring.slice(0, n).reduce((s, q) => s + q[c], 0) / n)
      : [(ring[i][0] + ring[j][0]) / 2, (ring[i][1] + ring[j][1]) / 2];
    if (probe.isPointInPath(p, pt[0] * 1e4, pt[1] * 1e4)) { inside = pt; break; }
  }
  if (!inside) return null;
  m.view = { x: inside[0] * m.kx, y: -inside[1], k };
  m.paint();
  const W = m.canvas.width, H = m.canvas.height;
  const d = m.ctx.getImageData(Math.floor(W / 2) - 4, Math.floor(H / 2) - 4, 9, 9).data;
  const out = [];
  for (let i = 0; i < d.length; i += 4) out.push([d[i], d[i + 1], d[i + 2]]);
  return out;
}"""


def _map_ready(page: Page, server: Server) -> None:
    console = sign_in(page, server)
    page.wait_for_function("window.__voltaMap && window.__voltaMap.areaPaths !== null")
    assert not console.errors


def test_fleet_map_fills_water_parks_and_buildings_in_their_colours(
    page: Page, server: Server
) -> None:
    _map_ready(page, server)
    for cls, colour in COLOURS.items():
        pixels: list[list[int]] | Any = page.evaluate(PIXELS_AT_CLASS, [cls, 400_000])
        assert pixels, f"no point inside the largest {cls} area"
        hits = sum(1 for px in pixels if tuple(px) == colour)
        assert hits >= len(pixels) // 3, (cls, pixels[:5])
    # Without the layer the same place is the plain background: the colour comes from it.
    page.evaluate("() => { window.__voltaMap.areaPaths = null; }")
    pixels = page.evaluate(PIXELS_AT_CLASS, ["building", 400_000])
    assert not any(tuple(px) == COLOURS["building"] for px in pixels)


def test_street_names_appear_when_zoomed_in_and_do_not_overlap(page: Page, server: Server) -> None:
    _map_ready(page, server)
    fitted: int = page.evaluate(
        "() => { window.__voltaMap.paint(); return window.__voltaMap.labelsDrawn; }"
    )
    label = page.evaluate(
        """() => { const m = window.__voltaMap;
        const l = m.features.labels.find((x) => x.name === 'Mannerheimintie');
        m.view = { x: l.lon * m.kx, y: -l.lat, k: 120000 }; m.paint();
        return { drawn: m.labelsDrawn, attr: m.el.dataset.labels, boxes: m.labelBoxes }; }"""
    )
    assert label["drawn"] >= 3, label
    assert label["attr"] == str(label["drawn"])
    boxes = label["boxes"]
    assert len(boxes) == label["drawn"]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)
    assert label["drawn"] > fitted  # more names fit as the streets get longer on screen
    page.locator("#fleet-map").screenshot(path=str(SCREENSHOTS / "map-features.png"))
