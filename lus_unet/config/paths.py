"""The schema of ``paths``: where an entry point keeps generated data and writes its output."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CachePaths:
    """``paths`` of the data checker: generated data sets and preprocessing caches."""

    cache_dir: str


@dataclass
class OutputPaths(CachePaths):
    """``paths`` of a comparison: also the folder its results go to."""

    output_dir: str


@dataclass
class TrainPaths(OutputPaths):
    """``paths`` of a training run: also the predictable run folders of the paper's stages."""

    paper_dir: str
