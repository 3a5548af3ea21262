"""The runners of the driver services: the live processor on the bus, the one analysis it and
the batch recompute share, and their commands (`volta processors`, `volta recompute`)."""
