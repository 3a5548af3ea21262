"""Battery health: usable capacity from ΔEnergy/ΔSoC, state of health, trend, projected range."""
