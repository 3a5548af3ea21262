"""The fleet simulator: a physics-based fleet of EVs on real roads, standing in for real cars.

Vehicles of the shipped models (`volta.vehicles`) drive on an OpenStreetMap road graph
(`volta.geo`) following their drivers' daily plans, park, charge at home and at public
stations, age, develop faults and hit potholes, and send the same wire-format v1 telemetry and
command acks real cars would. Everything that truly happened is kept as ground truth, so tests
and benchmarks can check the platform's analytics against it. The same seed gives the same
bytes.

- `fleet`: `Fleet`, the engine: plans, departures, arrivals, charging sessions, ageing, truth.
- `state`: `FleetState`, every vehicle's state (position, drive, charge, battery packs).
- `window`: the numerics of one window (per-second matrices, physics, battery) → `Frame`.
- `trips`, `pool`, `hazards`, `environment`, `faults`, `ledger`: drivers and drive profiles,
  the buffer of drives in progress, potholes, ambient temperature, faults, open drives/charges.
- `signals`: a `Frame` → VSS samples with rates, noise and connectivity gaps → `Batch`es.
- `truth`: ground-truth records and their Parquet files.
- `commands`: the car side of remote commands; `senders`: file, HTTP, MQTT, in-process.
- `ecus`: each car's updatable ECUs (A/B slots, hardware variants) and their `Vehicle.OTA`
  signals; `updates`: the car side of over-the-air updates (python-tuf's real client) with
  injected failures (an image failing on one variant, power lost mid-install, slow links).
- `run`, `fleet_cli`, `cycle_cli`, `cli`: paced runs and the `volta simulate` / `sim-cycle`
  commands.

Only the CLI and `volta demo` import this package; the platform never depends on it.
"""
