"""Places (geofences), nearest-road addresses and charging tariffs."""
