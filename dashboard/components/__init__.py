"""Layout builders shared by the pages: charts, tables, exports, states, inputs."""
