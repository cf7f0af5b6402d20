"""Stratified, seeded splits.

``stratified_split`` shuffles each class with ``torch.Generator().manual_seed(seed)`` and cuts
it into train/val/test by the given fractions, so every part keeps the class proportions
(up to rounding) and the same seed always gives the same indices.
"""
from __future__ import annotations

import torch
from torch import Tensor

from .errors import CamaError


def _class_permutations(y: Tensor, seed: int) -> list[Tensor]:
    gen = torch.Generator().manual_seed(seed)
    perms = []
    for c in torch.unique(y).tolist():
        idx = (y == c).nonzero(as_tuple=True)[0]
        perms.append(idx[torch.randperm(idx.numel(), generator=gen)])
    return perms


def stratified_split(y: Tensor, seed: int = 0, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
                     ) -> dict[str, Tensor]:
    """Split graph indices into ``{'train', 'val', 'test'}`` stratified by label ``y``."""
    if len(fractions) != 3 or abs(sum(fractions) - 1.0) > 1e-6 or min(fractions) < 0:
        raise CamaError(f"Split fractions must be three non-negative numbers summing to 1, got {fractions}.")
    parts: dict[str, list[Tensor]] = {"train": [], "val": [], "test": []}
    for idx in _class_permutations(y.cpu(), seed):
        n = idx.numel()
        n_val = int(round(fractions[1] * n))
        n_test = int(round(fractions[2] * n))
        n_train = n - n_val - n_test
        parts["train"].append(idx[:n_train])
        parts["val"].append(idx[n_train:n_train + n_val])
        parts["test"].append(idx[n_train + n_val:])
    return {k: torch.sort(torch.cat(v))[0] for k, v in parts.items()}
