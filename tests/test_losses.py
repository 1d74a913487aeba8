"""Losses: dice_ce is MONAI's DiceCELoss(sigmoid=True), without needing MONAI."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from lus_unet.training.losses import LOSS_NAMES, SegmentationLoss, soft_dice
from lus_unet.utils import PROJECT_ROOT


def batches() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(0)
    logits = 3 * torch.randn(4, 1, 16, 16, generator=generator)
    masks = (torch.rand(4, 1, 16, 16, generator=generator) > 0.7).float()
    masks[1] = 0  # one image without rib
    confident = torch.where(masks > 0, 40.0, -40.0)  # near-perfect predictions
    return {
        "random": (logits, masks),
        "all empty": (logits, torch.zeros_like(masks)),
        "confident": (confident, masks),
        "confident, empty": (torch.full_like(masks, -40.0), torch.zeros_like(masks)),
        "batch of one": (logits[:1], masks[:1]),
    }


@pytest.mark.parametrize("case", batches())
def test_dice_ce_equals_monai_dice_ce_loss(case):
    monai = pytest.importorskip("monai")
    logits, masks = batches()[case]
    ours_in = logits.clone().requires_grad_()
    theirs_in = logits.clone().requires_grad_()
    ours = SegmentationLoss("dice_ce")(ours_in, masks)
    theirs = monai.losses.DiceCELoss(sigmoid=True)(theirs_in, masks)
    assert float(ours) == pytest.approx(float(theirs), abs=1e-6)
    ours.backward()
    theirs.backward()
    assert torch.allclose(ours_in.grad, theirs_in.grad, atol=1e-6)


def test_dice_ce_is_near_zero_for_confident_correct_predictions():
    # Confident, correct predictions cost (almost) nothing, on an image without rib as well:
    # both empty, its Dice is smooth / smooth = 1.
    for case in ("confident", "confident, empty"):
        logits, masks = batches()[case]
        assert float(SegmentationLoss("dice_ce")(logits, masks)) < 1e-5, case


def test_the_other_losses_are_unchanged():
    logits, masks = batches()["random"]
    bce = F.binary_cross_entropy_with_logits(logits, masks)
    batch_dice = 1 - soft_dice(logits, masks)
    probs = torch.sigmoid(logits)
    expected_dice = 1 - (2 * (probs * masks).sum() + 1) / (probs.sum() + masks.sum() + 1)
    assert torch.allclose(batch_dice, expected_dice)
    assert torch.allclose(SegmentationLoss("dice")(logits, masks), batch_dice)
    assert torch.allclose(SegmentationLoss("bce")(logits, masks), bce)
    assert torch.allclose(SegmentationLoss("bce_dice")(logits, masks), batch_dice + bce)
    assert LOSS_NAMES == ("dice", "bce", "bce_dice", "dice_ce")
    with pytest.raises(ValueError, match="unknown loss 'dicece'"):
        SegmentationLoss("dicece")


def test_dice_ce_does_not_need_monai():
    code = (
        "import sys; sys.modules['monai'] = None\n"
        "import torch\n"
        "from lus_unet.training.losses import SegmentationLoss\n"
        "print(float(SegmentationLoss('dice_ce')(torch.zeros(1, 1, 4, 4), torch.ones(1, 1, 4, 4))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    # Dice of 0.5 everywhere against ones: 1 - 2*8/(8+16) = 1/3; BCE = log(2).
    assert float(result.stdout) == pytest.approx(1 / 3 + 0.6931472, abs=1e-5)
