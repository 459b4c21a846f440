"""Benchmarks that print figures (not timed tests): seed, the bare-stack ceiling, load runs, SQL counts."""
