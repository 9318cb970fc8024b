"""Benchmarks run by `make bench`: each `bench_*.py` module has `run() -> str` returning a
Markdown section; `python -m benchmarks` runs them all in one process tree on this machine
and writes benchmarks/results.md."""
