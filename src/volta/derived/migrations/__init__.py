"""Schema migrations of the PostgreSQL derived store (run by `volta.store.migrations.migrate`)."""
