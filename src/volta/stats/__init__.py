"""Statistics: distance, energy, efficiency and charging per day, week or month."""
