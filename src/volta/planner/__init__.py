"""Trip planning with charging stops (issue 19; what is built: docs/planner.md).

- `chargers`: `Station`, the charging sites a planner may use, and the power rule for files
  without a kW column; `charger_files` loads AFDC CSV, OCPI / OpenChargeMap JSON and OSM GeoJSON.
"""
