"""FLOP counts of the networks (torch.utils.flop_counter) and the GPUs' peak bf16 throughput."""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

# Dense bf16 tensor-core peaks in TFLOP/s from the vendors' data sheets (no sparsity), matched
# by substring of torch.cuda.get_device_name(), most specific first. The H200 is the H100's
# chip (GH100) with more and faster memory: same peak.
PEAK_BF16_TFLOPS: tuple[tuple[str, float], ...] = (
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H100", 989.4),  # SXM5 / HBM3
    ("H200", 989.4),
    ("GH200", 989.4),
    ("B200", 2250.0),
    ("A100", 312.0),
    ("L40S", 362.1),
    ("A10G", 70.0),
    ("L4", 121.0),
)
# The figure: what a current data-centre GPU sustains on a large bf16 matrix product
# (measured 769-798 TFLOP/s on the lent H100/H200 machines). MFU against it is also reported.
SUSTAINED_BF16_TFLOPS = 790.0


def peak_bf16_tflops(device_name: str) -> float | None:
    """The data-sheet dense bf16 peak of a GPU by name, or None for a GPU not in the table."""
    for key, tflops in PEAK_BF16_TFLOPS:
        if key.lower() in device_name.lower():
            return tflops
    return None


def count_flops(
    net: nn.Module, image_size: int, train: bool, batch_size: int = 1
) -> tuple[int, dict[str, int]]:
    """FLOPs of one forward (``train=False``) or forward + backward pass, on the meta device.

    Counting on meta tensors costs no arithmetic, so full-size networks are free to count.

    Args:
        net: the network (not modified: a meta-device copy is counted).
        image_size: square input side.
        train: include the backward pass (gradients of the trainable parameters and whatever
            activations need them, as autograd really computes them).
        batch_size: images per pass.

    Returns:
        Total FLOPs and the forward FLOPs per top-level child module (``encoder``, ...).
    """
    meta = copy.deepcopy(net).to("meta")  # keeps every parameter's requires_grad
    x = torch.empty(batch_size, 3, image_size, image_size, device="meta")
    with FlopCounterMode(display=False) as counter:
        meta(x)
    root = type(meta).__name__
    by_module = {
        name.removeprefix(f"{root}."): sum(ops.values())
        for name, ops in counter.get_flop_counts().items()
        if name.startswith(f"{root}.") and name.count(".") == 1
    }
    if not train:
        return counter.get_total_flops(), by_module
    with FlopCounterMode(display=False) as counter:
        meta(x).float().sum().backward()
    return counter.get_total_flops(), by_module
