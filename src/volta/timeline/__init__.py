"""Timeline of a vehicle's states (driving, charging, parked, asleep, offline) and vampire drain."""
