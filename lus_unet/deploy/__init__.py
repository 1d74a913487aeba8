"""Deployment: exported graphs with their metadata, and the runtime that predicts with them.

:mod:`~lus_unet.deploy.metadata` (what a file says about itself, torch-free),
:mod:`~lus_unet.deploy.exporter` (torch -> ONNX / TorchScript), :mod:`~lus_unet.deploy.quantize`
(dynamic int8) and :mod:`~lus_unet.deploy.runtime` (onnxruntime without torch, or TorchScript).
"""
