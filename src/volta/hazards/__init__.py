"""Road sensing: hazards found by the fleet's own sensors, confirmed by several distinct cars.

- `model`: the frozen types (`Kind`, `Report`, `Trace`, `Hazard`) and the drop reasons.
- `matching`: `RoadMatcher`, which snaps a position onto a segment of `volta.geo`'s road graph.
- `detect`: per-car detection, pure and incremental: a car's state and samples in, reports and
  its driven trace out.
- `fusion`: `Fusion`, which confirms hazards across distinct cars, locates them, gives them a
  confidence, expires them, and publishes only what identifies no car.
- `sensing`: `RoadSensing`, detection and fusion for a whole fleet.
- `follow`: `HazardFollower`, which feeds it the batches stored on the bus.
- `api`: `GET /v1/hazards?bbox=…`, the published hazards as GeoJSON.

Apart from the bus follower and the API router, no module here reads a clock or does I/O;
docs/hazards.md says what is built and what is not.
"""
