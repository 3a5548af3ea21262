"""Schema migrations of road sensing's state on PostgreSQL (run by
`volta.store.migrations.migrate`)."""
