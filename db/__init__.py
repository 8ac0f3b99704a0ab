"""Persistence of queue, history and job output (SQLite, WAL)."""
