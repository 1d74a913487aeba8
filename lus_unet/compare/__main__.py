"""``python -m lus_unet.compare [overrides]``: recipes against the reference U-Net (README)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from lus_unet.compare.plot import plot_curves
from lus_unet.compare.results import check_same_splits, entry_summary, results_markdown
from lus_unet.compare.runner import fold_config, run_entry
from lus_unet.config.compare import CompareConfig
from lus_unet.config.train import check_train_config
from lus_unet.config.validate import validate
from lus_unet.folds import parse_fold_spec
from lus_unet.run_folder import FOLD_PREFIX
from lus_unet.utils import command, write_json_atomic, write_text_atomic

log = logging.getLogger("lus_unet.compare")


def compare(cfg: DictConfig) -> dict[str, Any]:
    """Train every entry on the same folds and write ``results.json``, ``.md`` and ``curves.png``.

    Returns:
        The results (``results.json``'s content).
    """
    validate(cfg, CompareConfig)
    entries = {str(name): list(overlay) for name, overlay in cfg.entries.items()}
    run_dir = Path(cfg.paths.output_dir)
    check_entries(cfg, entries, run_dir)
    # The reference trains first: its figures are the yardstick.
    names = [cfg.reference, *(name for name in entries if name != cfg.reference)]
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


def check_entries(cfg: DictConfig, entries: dict[str, list[str]], run_dir: Path) -> None:
    """Check the train config of every entry's every fold, so that none fails after hours.

    Args:
        cfg: the comparison's configuration.
        entries: entry name -> its overlay.
        run_dir: the comparison's folder.
    """
    for name, overlay in entries.items():
        for fold in cfg.folds:
            fold_dir = run_dir / name / f"{FOLD_PREFIX}{int(fold)}"
            train_cfg = fold_config(cfg, overlay, int(fold), fold_dir)
            check_train_config(train_cfg)
            parse_fold_spec(train_cfg.fold, train_cfg.data.n_folds)


main = command(compare, "compare")

if __name__ == "__main__":
    main()
