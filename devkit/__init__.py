"""What tests, benchmarks and drills share: throwaway PostgreSQL clusters, the engine as a process.

Tests (`tests/`) and tools (`scripts/`) both import from here; neither imports the other. The
cluster modules (`pgcluster`, `pgfaults`, `pgbackup`, `net`) use the standard library only, so
`scripts/devdb.py` runs before the project's virtualenv exists.
"""
