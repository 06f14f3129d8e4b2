"""Named, ordered revisions: ``0001_initial``, ``0002_...``; each runs on SQLite and PostgreSQL."""
