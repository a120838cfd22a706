"""Blocking I/O behind small interfaces: swarm, recipe repo, recordings, abra layout."""
