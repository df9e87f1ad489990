"""The engine's dataset families, one module each: planner rule and fetch → parse → load step."""
