"""Evaluation: per-case metrics that measure the defects Dice hides, and their summaries."""
