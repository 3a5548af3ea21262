"""Schema migrations of the diagnostics state on PostgreSQL (run by
`volta.store.migrations.migrate`)."""
