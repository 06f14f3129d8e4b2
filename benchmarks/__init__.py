"""Speed and memory measurements; run with ``make bench`` (writes benchmarks/RESULTS.md)."""
