"""Vehicle models: what an EV of a given model is, and how it uses energy.

- `model`: `VehicleModel`, typed parameters from public test data, and `load_model` /
  `list_models` for the TOML files shipped in `models/` (or any model file by path);
  `ModelError` when a model is unknown or its file is invalid.
- `physics`: pure numpy functions over arrays of vehicles: road load, motor and regeneration,
  HVAC, battery (open-circuit voltage, internal losses, ageing) and the charging curve.

The simulator drives these models; the driver services and (later) the trip planner read them.
"""
