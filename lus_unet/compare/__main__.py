"""``python -m lus_unet.compare [overrides]``: recipes against the reference U-Net (README)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from lus_unet.compare.plot import plot_curves
from lus_unet.compare.results import check_same_splits, entry_summary, results_markdown
from lus_unet.compare.runner import run_entry
from lus_unet.errors import ConfigError
from lus_unet.utils import CONFIG_DIR, exit_on_user_error, write_json_atomic, write_text_atomic

log = logging.getLogger("lus_unet.compare")


def compare(cfg: DictConfig) -> dict[str, Any]:
    """Train every entry on the same folds and write ``results.json``, ``.md`` and ``curves.png``.

    Returns:
        The results (``results.json``'s content).
    """
    entries = {str(name): list(overlay) for name, overlay in cfg.entries.items()}
    if cfg.reference not in entries:
        raise ConfigError(
            f"compare: reference={cfg.reference!r} is not an entry; entries: {', '.join(entries)}"
        )
    if not cfg.folds:
        raise ConfigError("compare: folds is empty; give at least one fold, e.g. folds=[0]")
    # The reference trains first: its figures are the yardstick, and a broken setup shows early.
    names = [cfg.reference, *(name for name in entries if name != cfg.reference)]
    run_dir = Path(cfg.paths.output_dir)
    fold_metrics = {name: run_entry(cfg, name, entries[name], run_dir / name) for name in names}
    folds = [int(fold) for fold in cfg.folds]
    check_same_splits(run_dir, names, folds)
    results = {
        "reference": cfg.reference,
        "budget": OmegaConf.to_container(cfg.budget, resolve=True),
        "seed": int(cfg.seed),
        "folds": folds,
        "common": [*cfg.common, *cfg.extra],
        "entries": {name: entry_summary(entries[name], fold_metrics[name]) for name in names},
    }
    write_json_atomic(run_dir / "results.json", results)
    write_text_atomic(run_dir / "results.md", results_markdown(results))
    plot_curves(results, run_dir / "curves.png")
    reference = results["entries"][cfg.reference]
    for name, entry in results["entries"].items():
        log.info(
            "%-12s mean Dice %.4f +- %.4f (%+.4f vs %s)",
            name,
            entry["mean"],
            entry["std"],
            entry["mean"] - reference["mean"],
            cfg.reference,
        )
    log.info("Results in %s", run_dir)
    return results


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="compare")
def main(cfg: DictConfig) -> None:
    """Command-line entry point."""
    with exit_on_user_error():
        compare(cfg)


if __name__ == "__main__":
    main()
