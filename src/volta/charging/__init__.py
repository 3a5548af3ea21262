"""Charging sessions: detected from the charging flag and battery power; energy, curve, cost."""
