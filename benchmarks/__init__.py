"""Benchmarks: time and memory of the pipeline, measured with `make bench`, never in tests."""
