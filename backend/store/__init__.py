"""The backend's SQLite store: one file, WAL mode, migrations applied on start."""
