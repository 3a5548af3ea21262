"""What the driver-service tests share: the fed fleet-day (`pipeline`)."""
