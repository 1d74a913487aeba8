"""The learning curves of a comparison: validation Dice per epoch, every entry and fold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def plot_curves(results: dict[str, Any], path: Path) -> None:
    """Draw each fold's val Dice per epoch (thin) and the entry's mean over folds (bold).

    Args:
        results: the comparison's results (``results.json``'s content).
        path: the PNG to write.
    """
    # Imported here: matplotlib is an optional extra ([compare]) and slow to import.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 5), dpi=120)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, (name, entry) in enumerate(results["entries"].items()):
        colour = colours[index % len(colours)]
        curves = list(entry["history"].values())
        for curve in curves:
            axes.plot(np.arange(1, len(curve) + 1), curve, color=colour, alpha=0.25, lw=0.8)
        length = min(len(curve) for curve in curves)
        mean = np.mean([curve[:length] for curve in curves], axis=0)
        label = f"{name} (best-epoch mean {entry['mean']:.3f})"
        axes.plot(np.arange(1, length + 1), mean, color=colour, lw=2.0, label=label)
    axes.set_xlabel("epoch")
    axes.set_ylabel("validation Dice")
    axes.set_ylim(0.0, 1.0)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right")
    axes.set_title("Validation Dice per epoch (thin: folds, bold: mean over folds)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
