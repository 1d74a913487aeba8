"""Benchmarks: timing and quality measurements of the pipeline's building blocks."""
