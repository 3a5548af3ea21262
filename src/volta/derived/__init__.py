"""What the driver services share: the signals they read, columnar samples, their result
store, the incremental runner on the bus and the batch recompute."""
