"""Benchmarks: one command each, printing a table. Figures are recorded in docs/benchmarks.md."""
