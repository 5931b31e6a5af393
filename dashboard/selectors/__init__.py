"""Reads. Selectors return plain data for the APIs and the realtime layer."""
