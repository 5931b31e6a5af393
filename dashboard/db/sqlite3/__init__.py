"""SQLite with an in-process write lock; see ``base``."""
