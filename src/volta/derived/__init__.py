"""What the driver services share: the signals they read, columnar samples and their result
store. The runners that call the services live in `volta.processors`."""
