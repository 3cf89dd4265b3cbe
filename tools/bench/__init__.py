"""Benchmarks: scripts that print their figures and write them to docs/benchmarks/."""
