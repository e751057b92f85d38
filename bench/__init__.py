"""Benchmarks: one module per area (`python -m bench.<name>`), all of them
with `python -m bench.run`. Shared machinery is in bench/common.py."""
