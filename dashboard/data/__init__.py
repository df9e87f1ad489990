"""Read-only data access: the replica router and the one query module."""
