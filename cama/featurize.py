"""Node featurizers that are re-applied to perturbed graphs.

A :class:`Featurizer` turns a graph's stored node data into the victim's input ``x``.
Three kinds exist:

* ``labels``  – ``x`` is the one-hot node label (optionally preceded by standardised
  continuous node attributes). It does not depend on structure, so re-applying it after an
  edge flip leaves ``x`` unchanged; feature attacks edit ``x`` directly.
* ``degree``  – ``x[n] = onehot(min(deg(n), max_degree))`` with ``max_degree`` fixed per
  dataset (featureless datasets such as IMDB-* and REDDIT-*). Structure-derived, therefore
  recomputed after every structural perturbation.
* ``constant`` – a single feature of 1 per node (for graphs with neither labels nor attributes
  when degree is not wanted).

The layout of ``x`` is described by ``continuous`` (a ``(start, stop)`` slice of continuous
attributes, or None) and ``onehot`` (a ``(start, stop)`` slice holding a one-hot category, or
None), which feature attacks use to keep one-hot features one-hot.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor
from torch_geometric.utils import degree as node_degree

FEATURIZER_KINDS = ("labels", "degree", "constant")


@dataclass(frozen=True)
class Featurizer:
    kind: str
    num_features: int
    max_degree: int | None = None
    onehot: tuple[int, int] | None = None
    continuous: tuple[int, int] | None = None

    @property
    def structural(self) -> bool:
        """True when ``x`` is derived from the structure and must follow edge edits."""
        return self.kind in ("degree", "constant")

    @property
    def editable(self) -> bool:
        """True when node features carry information a feature attack may change."""
        return self.kind == "labels"

    def __call__(self, x: Tensor | None, edge_index: Tensor, num_nodes: int) -> Tensor:
        """Return ``x`` for a (possibly batched) graph with the given structure."""
        if self.kind == "labels":
            assert x is not None and x.size(1) == self.num_features
            return x
        device = edge_index.device
        if self.kind == "constant":
            return torch.ones(num_nodes, 1, device=device)
        deg = node_degree(edge_index[0], num_nodes, dtype=torch.long)
        deg = deg.clamp(max=self.max_degree)
        out = torch.zeros(num_nodes, self.num_features, device=device)
        out[torch.arange(num_nodes, device=device), deg] = 1.0
        return out

    def refeaturize(self, data: Any) -> Any:
        """Recompute ``data.x`` in place when it depends on structure; returns ``data``."""
        if self.structural:
            data.x = self(data.x, data.edge_index, data.num_nodes)
        return data

    def to_config(self) -> dict:
        cfg = asdict(self)
        for key in ("onehot", "continuous"):
            if cfg[key] is not None:
                cfg[key] = list(cfg[key])
        return cfg

    @classmethod
    def from_config(cls, cfg: dict) -> Featurizer:
        cfg = dict(cfg)
        for key in ("onehot", "continuous"):
            if cfg.get(key) is not None:
                cfg[key] = tuple(cfg[key])
        return cls(**cfg)
