"""Parameter table per group: ``python -m lus_unet.summary model=vunet finetune=encoder_frozen``.

Takes every ``model`` option as an override (``model.norm=instance``, ``model.encoder=vgg16_bn``,
``model=reference``) and prints the options it built above the table.
"""

from __future__ import annotations

import logging
from typing import Any

from omegaconf import DictConfig, OmegaConf

from lus_unet.config.model import SummaryConfig
from lus_unet.config.validate import validate
from lus_unet.models import build_model, freeze_groups, group_counts
from lus_unet.models.groups import GroupCount
from lus_unet.utils import command

log = logging.getLogger(__name__)


def summary_table(counts: list[GroupCount]) -> str:
    """A fixed-width table: per group total / trainable / frozen parameters, then the totals."""
    rows = [(c.name, c.total, c.trainable, c.frozen) for c in counts]
    total = GroupCount("total", sum(c.total for c in counts), sum(c.trainable for c in counts))
    header = f"{'group':<12}{'total':>14}{'trainable':>14}{'frozen':>14}"
    lines = [header, "-" * len(header)]
    lines += [f"{name:<12}{t:>14,}{tr:>14,}{fr:>14,}" for name, t, tr, fr in rows]
    lines += [
        "-" * len(header),
        f"{'total':<12}{total.total:>14,}{total.trainable:>14,}{total.frozen:>14,}",
    ]
    return "\n".join(lines)


def options_line(options: dict[str, Any]) -> str:
    """The model's options as ``key=value`` pairs (lists as ``[a,b]``), name excluded."""

    def show(value: Any) -> str:
        if isinstance(value, list | tuple):
            return "[" + ",".join(str(v) for v in value) + "]"
        return str(value)

    return " ".join(f"{key}={show(value)}" for key, value in options.items() if key != "name")


def summarize(cfg: DictConfig) -> str:
    """Build the configured model without pre-trained weights, freeze it, and tabulate it.

    Args:
        cfg: the summary configuration (``conf/summary.yaml``).
    """
    validate(cfg, SummaryConfig)
    options = OmegaConf.to_container(cfg.model, resolve=True)
    shown = options_line(options)
    if "encoder_weights" in options:
        options["encoder_weights"] = None  # counting needs no download
    model = build_model(**options)
    freeze_groups(model, cfg.finetune.freeze)
    title = f"{cfg.model.name} (finetune={cfg.finetune.name})"
    return f"{title}\n{shown}\n{summary_table(group_counts(model))}"


def print_summary(cfg: DictConfig) -> None:
    """Print the table of :func:`summarize` on standard output."""
    print(summarize(cfg))


main = command(print_summary, "summary")


if __name__ == "__main__":
    main()
