"""Alembic migrations of the scaleguard schema (run by :mod:`scaleguard.store.migrate`)."""
