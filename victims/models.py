"""Victim graph classifiers: message-passing stack → node embeddings → mean pool → linear head.

With ``F`` the last layer's node embeddings and ``W`` the head's weight, the logits are
``y_g = W · mean_{n∈g} F_n + b``; Graph-CAM ``L_c[n] = ReLU(W_c · F_n)`` is therefore exact.

Contract (for ours and for a user's model): ``forward(x, edge_index, batch, edge_weight=None)
-> logits [num_graphs, num_classes]``. ``edge_weight`` is a differentiable weight per edge:
GCN consumes it natively; the other convolutions receive it through PyG's explain edge masks
(``set_masks(..., apply_sigmoid=False)``), which scale every message by its edge's weight.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn
from torch_geometric.explain.algorithm.utils import clear_masks, set_masks
from torch_geometric.nn import GATConv, GCNConv, GINConv, SAGEConv, global_mean_pool


@dataclass(frozen=True)
class VictimConfig:
    arch: str
    in_channels: int
    num_classes: int
    hidden: int = 64
    num_layers: int = 3
    dropout: float = 0.5
    heads: int = 4

    def to_dict(self) -> dict:
        return asdict(self)


def _make_conv(arch: str, in_ch: int, out_ch: int, heads: int) -> nn.Module:
    if arch == "gcn":
        return GCNConv(in_ch, out_ch)
    if arch == "gin":
        mlp = nn.Sequential(nn.Linear(in_ch, out_ch), nn.BatchNorm1d(out_ch), nn.ReLU(), nn.Linear(out_ch, out_ch))
        return GINConv(mlp, train_eps=True)
    if arch == "graphsage":
        return SAGEConv(in_ch, out_ch, aggr="mean")
    if arch == "gat":
        return GATConv(in_ch, out_ch // heads, heads=heads)
    raise ValueError(arch)


class GraphClassifier(nn.Module):
    """A GNN graph classifier with mean pooling and a linear head (see module docstring)."""

    def __init__(self, config: VictimConfig):
        super().__init__()
        self.config = config
        dims = [config.in_channels] + [config.hidden] * config.num_layers
        self.convs = nn.ModuleList(_make_conv(config.arch, dims[i], dims[i + 1], config.heads)
                                   for i in range(config.num_layers))
        self.norms = nn.ModuleList(nn.BatchNorm1d(config.hidden) for _ in range(config.num_layers))
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden, config.num_classes)

    @property
    def native_edge_weight(self) -> bool:
        return self.config.arch == "gcn"

    def node_embeddings(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None = None) -> list[Tensor]:
        """Node embeddings after every message-passing layer (post-activation), last one pooled."""
        masked = edge_weight is not None and not self.native_edge_weight
        if masked:
            set_masks(self, edge_weight, edge_index, apply_sigmoid=False)
        try:
            out, h = [], x
            for conv, norm in zip(self.convs, self.norms):
                if self.native_edge_weight:
                    h = conv(h, edge_index, edge_weight)
                else:
                    h = conv(h, edge_index)
                h = torch.relu(norm(h))
                out.append(h)
            return out
        finally:
            if masked:
                clear_masks(self)

    def readout(self, embedding: Tensor, batch: Tensor | None) -> Tensor:
        """Logits from last-layer node embeddings: linear head on the per-graph mean."""
        if batch is None:
            batch = embedding.new_zeros(embedding.size(0), dtype=torch.long)
        return self.head(self.dropout(global_mean_pool(embedding, batch)))

    def forward_with_embeddings(self, x: Tensor, edge_index: Tensor, batch: Tensor | None = None,
                                edge_weight: Tensor | None = None) -> tuple[Tensor, list[Tensor]]:
        embs = self.node_embeddings(x, edge_index, edge_weight)
        return self.readout(embs[-1], batch), embs

    def forward(self, x: Tensor, edge_index: Tensor, batch: Tensor | None = None,
                edge_weight: Tensor | None = None) -> Tensor:
        return self.forward_with_embeddings(x, edge_index, batch, edge_weight)[0]
