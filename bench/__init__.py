"""Benchmarks: they measure and print; they assert nothing. `python -m bench` runs them."""
