"""Geography: the car road network and distances on the Earth.

- `distance`: the Earth's radius and great-circle (haversine) distance.
- `graph`: `RoadGraph`, a directed road graph with its chargers, and fastest-time `Route`s.
- `osm`: `load_roads`, which builds a `RoadGraph` from an OpenStreetMap extract (default: the
  shipped Helsinki extract), and the speed-limit rules it applies.

The simulator drives on it; the map, places and (later) the trip planner read it.
"""
