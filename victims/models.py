"""Victim graph classifiers: message-passing stack → node embeddings → mean pool → linear head.

With ``F`` the last layer's node embeddings and ``W`` the head's weight, the logits are
``y_g = W · mean_{n∈g} F_n + b``; Graph-CAM ``L_c[n] = ReLU(W_c · F_n)`` is therefore exact.

Contract (for ours and for a user's model): ``forward(x, edge_index, batch, edge_weight=None)
-> logits [num_graphs, num_classes]``. ``edge_weight`` is a differentiable weight per edge:
GCN consumes it natively; the other convolutions receive it through PyG's explain edge masks
(``set_masks(..., apply_sigmoid=False)``), which scale every message by its edge's weight.

Speed: the graph operator is built once per forward and shared by all layers. For GCN that is
``Â = D^{-1/2}(A+I)D^{-1/2}`` (``gcn_norm``, once instead of once per layer); GCN, GIN and
GraphSAGE then aggregate with one sparse CSR product ``Â·H`` per layer (``torch.sparse.mm``),
about 5× faster than gathering and scattering messages per edge (GraphSAGE's mean folded into
the weights ``1/deg``). Its backward multiplies by the CSR of the transpose, built once per
forward (torch would re-sort it in every layer). When ``edge_weight`` needs a
gradient (gradient attacks), or for GAT, messages go through the edge-list path instead.
"""
from __future__ import annotations

import functools
import warnings
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn
from torch_geometric.explain.algorithm.utils import clear_masks, set_masks
from torch_geometric.nn import GATConv, GCNConv, GINConv, SAGEConv, global_mean_pool
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.utils.sparse import index2ptr

warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
warnings.filterwarnings("ignore", message="Sparse invariant checks are implicitly disabled")


def _csr(rows: Tensor, cols: Tensor, values: Tensor, num_nodes: int) -> Tensor:
    """The ``num_nodes × num_nodes`` CSR matrix with entries ``values`` at ``(rows, cols)``."""
    order = torch.argsort(rows * num_nodes + cols)
    return torch.sparse_csr_tensor(index2ptr(rows[order], num_nodes), cols[order], values[order],
                                   (num_nodes, num_nodes))


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


class _Aggregate(torch.autograd.Function):
    """``Y = A_t · H`` for a CSR operator ``A_t`` (row = target node). The backward
    ``∂L/∂H = A_tᵀ · ∂L/∂Y`` multiplies by the CSR of ``A_tᵀ`` that the operator builds once, on
    first use (torch's own backward re-sorts ``A_tᵀ`` in every layer of every step)."""

    @staticmethod
    def forward(ctx, h: Tensor, adj_t: Tensor) -> Tensor:
        ctx.adj_t = adj_t
        return torch.sparse.mm(adj_t, h)

    @staticmethod
    def backward(ctx, grad: Tensor):
        return torch.sparse.mm(ctx.adj_t.cama_transpose(), grad), None


class _OperatorAggregation:
    """Mixin for PyG convolutions: when given the classifier's CSR operator, aggregate with
    :class:`_Aggregate` — a weighted sum whose weights already hold GCN's normalisation or
    GraphSAGE's ``1/deg`` mean; any other sparse input goes to PyG's own aggregation."""

    def message_and_aggregate(self, adj_t, x):
        if hasattr(adj_t, "cama_transpose"):
            return _Aggregate.apply(x[0] if isinstance(x, tuple) else x, adj_t)
        return super().message_and_aggregate(adj_t, x)


class _GCNConv(_OperatorAggregation, GCNConv):
    pass


class _GINConv(_OperatorAggregation, GINConv):
    pass


class _SAGEConv(_OperatorAggregation, SAGEConv):
    pass


def _make_conv(arch: str, in_ch: int, out_ch: int, heads: int) -> nn.Module:
    if arch == "gcn":
        return _GCNConv(in_ch, out_ch, normalize=False)  # normalised once per forward (GraphClassifier.operator)
    if arch == "gin":
        mlp = nn.Sequential(nn.Linear(in_ch, out_ch), nn.BatchNorm1d(out_ch), nn.ReLU(), nn.Linear(out_ch, out_ch))
        return _GINConv(mlp, train_eps=True)
    if arch == "graphsage":
        return _SAGEConv(in_ch, out_ch, aggr="mean")
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

    @staticmethod
    def transposed_csr(edge_index: Tensor, num_nodes: int, weight: Tensor | None = None) -> Tensor:
        """``adj_t`` as a CSR matrix: row = target node, column = source node, built with one
        argsort. Repeated edges stay separate entries and are summed by the product, exactly as
        message passing sums repeated messages. ``adj_t.cama_transpose()`` builds (once) the
        CSR of its transpose, for the backward pass."""
        src, dst = edge_index
        values = torch.ones(src.numel(), device=src.device) if weight is None else weight
        adj_t = _csr(dst, src, values, num_nodes)
        adj_t.cama_transpose = functools.cache(lambda: _csr(src, dst, values, num_nodes))
        return adj_t

    def operator(self, edge_index: Tensor, num_nodes: int, edge_weight: Tensor | None = None
                 ) -> tuple[Tensor, Tensor | None]:
        """The message-passing operator every layer uses: ``(adjacency, edge weights)``.

        GCN: the normalised ``Â`` with self-loops. A CSR matrix (row = target node, PyG's
        ``adj_t``) when no gradient w.r.t. the edge weights is needed, else the edge list of
        ``Â`` with its weights. GIN/GraphSAGE without edge weights: the CSR adjacency. GAT,
        and weighted GIN/GraphSAGE (explain masks): the edge list unchanged.
        """
        arch = self.config.arch
        if arch == "gcn":
            edge_index, edge_weight = gcn_norm(edge_index, edge_weight, num_nodes, add_self_loops=True)
            if edge_weight.requires_grad:
                return edge_index, edge_weight
            return self.transposed_csr(edge_index, num_nodes, edge_weight), None
        if arch == "gin" and edge_weight is None:
            return self.transposed_csr(edge_index, num_nodes), None
        if arch == "graphsage" and edge_weight is None:  # mean aggregation: weight 1/in-degree
            deg = torch.bincount(edge_index[1], minlength=num_nodes).clamp(min=1)
            return self.transposed_csr(edge_index, num_nodes, 1.0 / deg[edge_index[1]].float()), None
        return edge_index, edge_weight

    def node_embeddings(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None = None) -> list[Tensor]:
        """Node embeddings after every message-passing layer (post-activation), last one pooled."""
        masked = edge_weight is not None and not self.native_edge_weight
        if masked:
            set_masks(self, edge_weight, edge_index, apply_sigmoid=False)
        try:
            adjacency, weight = self.operator(edge_index, x.size(0), None if masked else edge_weight)
            out, h = [], x
            for conv, norm in zip(self.convs, self.norms):
                h = conv(h, adjacency, weight) if weight is not None else conv(h, adjacency)
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
