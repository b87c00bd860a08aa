"""Benchmarks: `python -m bench` runs them and prints a markdown table (see README, Performance)."""
