"""Drives: detected from speed, gear and odometer; distance, energy, efficiency per drive."""
