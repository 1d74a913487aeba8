"""Evaluation: checkpoint loading, inference, the cases to score, prediction files, reports."""
