"""Node featurizers that are re-applied to perturbed graphs.

A :class:`Featurizer` turns a graph's stored node data into the victim's input ``x``.
Three kinds exist:

* ``labels``  – ``x`` is the one-hot node label (optionally preceded by standardised
  continuous node attributes). It does not depend on structure, so re-applying it after an
  edge flip leaves ``x`` unchanged; feature attacks edit ``x`` directly.
* ``degree``  – ``x[n] = onehot(column(deg(n)))`` for featureless datasets such as IMDB-* and
  REDDIT-*. Degrees ``0..max_degree`` get a column each; above it, either every degree shares
  the last column (``degree_bins`` None: ``column = min(deg, max_degree)``) or the degree falls
  into log-spaced shared columns whose lower edges are ``degree_bins`` (``column =
  max_degree + #{b ∈ degree_bins : b ≤ deg}``). :func:`degree_layout` chooses both per dataset.
  Structure-derived, therefore recomputed after every structural perturbation.
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

#: A dataset keeps the exact one-hot degree (one column per degree 0..max) while that costs at
#: most this many columns (IMDB-BINARY: 136, IMDB-MULTI: 89).
EXACT_DEGREE_COLUMNS = 256
#: Above that, degrees up to the 99th percentile of node degrees (at most this value) keep a
#: column each ...
MAX_EXACT_DEGREE = 63


def degree_layout(degrees: Tensor) -> tuple[int, tuple[int, ...] | None]:
    """``(max_degree, degree_bins)`` of the degree featurizer for a dataset's node degrees.

    The rule: if ``max(deg) + 1 ≤`` :data:`EXACT_DEGREE_COLUMNS`, the exact one-hot
    (``max_degree = max(deg)``, no bins). Otherwise one column per degree up to
    ``c = min(q99(deg), MAX_EXACT_DEGREE)``, then shared columns for the degree ranges
    ``[c+1, 2(c+1)), [2(c+1), 4(c+1)), …`` (doubling) whose last one is open-ended, so that
    every degree a perturbation can create has a column. REDDIT-BINARY (max degree 3062,
    q99 = 12) gets 13 + 8 = 21 columns instead of 3063.
    """
    degrees = degrees.long()
    top = int(degrees.max()) if degrees.numel() else 0
    if top + 1 <= EXACT_DEGREE_COLUMNS:
        return top, None
    q99 = int(torch.quantile(degrees.float(), 0.99, interpolation="higher"))
    cap = min(q99, MAX_EXACT_DEGREE)
    bins = [cap + 1]
    while bins[-1] * 2 <= top:
        bins.append(bins[-1] * 2)
    return cap, tuple(bins)


@dataclass(frozen=True)
class Featurizer:
    kind: str
    num_features: int
    max_degree: int | None = None
    onehot: tuple[int, int] | None = None
    continuous: tuple[int, int] | None = None
    degree_bins: tuple[int, ...] | None = None

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
        col = deg.clamp(max=self.max_degree)
        if self.degree_bins:
            bins = torch.tensor(self.degree_bins, device=device)
            col = torch.where(deg > self.max_degree, self.max_degree + torch.bucketize(deg, bins, right=True), col)
        out = torch.zeros(num_nodes, self.num_features, device=device)
        out[torch.arange(num_nodes, device=device), col] = 1.0
        return out

    def describe(self) -> str:
        """Short human description of the feature layout (for tables)."""
        if self.kind == "degree" and self.degree_bins:
            return f"degree (one-hot ≤{self.max_degree} + {len(self.degree_bins)} log bins)"
        return self.kind + ("+attributes" if self.continuous else "")

    def refeaturize(self, data: Any) -> Any:
        """Recompute ``data.x`` in place when it depends on structure; returns ``data``."""
        if self.structural:
            data.x = self(data.x, data.edge_index, data.num_nodes)
        return data

    def to_config(self) -> dict:
        cfg = asdict(self)
        for key in ("onehot", "continuous", "degree_bins"):
            if cfg[key] is not None:
                cfg[key] = list(cfg[key])
        if cfg["degree_bins"] is None:  # keeps the config (and victim keys) of exact layouts unchanged
            del cfg["degree_bins"]
        return cfg

    @classmethod
    def from_config(cls, cfg: dict) -> Featurizer:
        cfg = dict(cfg)
        for key in ("onehot", "continuous", "degree_bins"):
            if cfg.get(key) is not None:
                cfg[key] = tuple(cfg[key])
        return cls(**cfg)


def degree_featurizer(degrees: Tensor) -> Featurizer:
    """The degree featurizer of a dataset whose node degrees are ``degrees``
    (:func:`degree_layout`'s columns)."""
    top, bins = degree_layout(degrees)
    width = top + 1 + len(bins or ())
    return Featurizer("degree", num_features=width, max_degree=top, onehot=(0, width), degree_bins=bins)
