"""What the driver-service tests share: the fed fleet-day (`pipeline`), hand-made per-second
histories (`history`) and the HTTP helpers of their route tests (`http`)."""
