"""Remote commands (issue #7): lock/unlock, climate, charge limit, start/stop charging, flash
lights, wake; validated against the VSS actuators they drive, sent with an id and an expiry,
and tracked queued → delivered → succeeded / failed / expired. See docs/commands.md."""
