"""Schema migrations of the PostgreSQL registry (run by `volta.store.migrations.migrate`)."""
