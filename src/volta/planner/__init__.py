"""Trip planning with charging stops (issue 19; what is built and what is not: docs/planner.md).

- `chargers`: `Station`, the charging sites a planner may use, and the power rule for files
  without a kW column; `charger_files` loads AFDC CSV, OCPI / OpenChargeMap JSON and OSM GeoJSON.
- `network`: `RoadNetwork`, the planar road graph the planner searches (from `volta.geo` or
  `roads_bin`'s projected city graphs), fastest trees and sums along them, snapping.
- `energy`: edge energy from the vehicle physics, `ChargeCurve` from the model's DC curve.
- `plan`: `TripRequest`, `Plan` (legs, stops, SoC profile) and the errors when no plan exists.
- `search`: the fast planner (charger graph + label-setting over (stop, SoC));
  `exact`: the baseline Dijkstra over (road node, SoC).
"""
