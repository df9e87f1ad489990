"""Reference data shipped with the engine."""
