"""Calls in progress, polled from the switches themselves (``sources``) and kept in PostgreSQL (``store``), so
that every web worker and host reads the same state. See docs/switches/."""
