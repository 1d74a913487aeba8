"""Summary statistics of per-case metrics over a set of cases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def summarize(cases: Sequence[Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """Per metric: mean, sd (sample, n-1; 0 for one case), median, min, max and n.

    Metrics are summarised over the cases that report them (n says how many), in the
    order they first appear. Raises on a non-finite value rather than let it poison a
    mean (``case_metrics`` never returns one).

    Args:
        cases: per-case metric dicts, e.g. from :func:`~lus_unet.metrics.case.case_metrics`.
    """
    keys = list(dict.fromkeys(k for case in cases for k in case))
    summary: dict[str, dict[str, float]] = {}
    for key in keys:
        values = np.asarray([case[key] for case in cases if key in case], dtype=np.float64)
        if not np.isfinite(values).all():
            raise ValueError(f"metric {key!r} has a non-finite value")
        n = values.size
        summary[key] = {
            "mean": float(values.mean()),
            "sd": float(values.std(ddof=1)) if n > 1 else 0.0,
            "median": float(np.median(values)),
            "min": float(values.min()),
            "max": float(values.max()),
            "n": n,
        }
    return summary
