"""Schema migrations of the PostgreSQL places (run by `volta.store.migrations.migrate`)."""
