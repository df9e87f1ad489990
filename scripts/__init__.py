"""Tools: operator and developer scripts, benchmarks and drills (a package so lint-imports checks them)."""
