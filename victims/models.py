"""Victim graph classifiers: message-passing stack → node embeddings → mean pool → linear head.

With ``F`` the last layer's node embeddings and ``W`` the head's weight, the logits are
``y_g = W · mean_{n∈g} F_n + b``; Graph-CAM ``L_c[n] = ReLU(W_c · F_n)`` is therefore exact.

**Edge-weight contract** (ours, and what a user's model must keep for gradient attacks):
``forward(x, edge_index, batch, edge_weight=None) -> logits [num_graphs, num_classes]`` where
``edge_weight`` w_e ∈ [0, 1] is one weight per directed edge of ``edge_index`` and

* w = 1 is the same graph as the edge being present (all-ones weights ≡ no weights),
* w = 0 is the same graph as the edge being absent (a weight-0 pair changes nothing),
* the output does not depend on the order of the edge list (weights travel with their edges),
* the output is differentiable in w.

Every architecture implements it natively (this is the relaxation PRBCD/GRBCD/GradArgMax optimise):

* GCN: weighted normalisation ``D_w^{-1/2}(A_w + I)D_w^{-1/2}`` (``gcn_norm``);
* GIN: weighted sum ``(1 + ε) h_i + Σ_j w_ij h_j``;
* GraphSAGE: weighted mean ``Σ_j w_ij h_j / Σ_j w_ij`` (0 where the sum is 0, like a node
  without neighbours);
* GAT: ``log w_ij`` added to the attention logits before the softmax, i.e.
  ``α_ij = w_ij exp(e_ij) / Σ_k w_ik exp(e_ik)`` (computed in that form, so that w = 0 has a
  finite gradient); self-loops keep weight 1.

Speed: the graph operator is built once per forward and shared by all layers. For GCN that is
``Â = D^{-1/2}(A+I)D^{-1/2}`` (``gcn_norm``, once instead of once per layer); GCN, GIN and
GraphSAGE then aggregate with one sparse CSR product ``Â·H`` per layer (``torch.sparse.mm``),
about 5× faster than gathering and scattering messages per edge (GraphSAGE's mean folded into
the weights ``1/Σw``). Its backward multiplies by the CSR of the transpose, built once per
forward (torch would re-sort it in every layer), and, when the weights need a gradient, gives
``∂L/∂Â_ij = ⟨∂L/∂Y_i, H_j⟩`` per stored entry, which autograd carries back to ``w``. GAT
goes through PyG's ``GATConv`` (weighted: its attention softmax replaced as above).
"""
from __future__ import annotations

import functools
import warnings
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn
from torch_geometric.nn import GATConv, GCNConv, GINConv, SAGEConv, global_mean_pool
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.utils import add_self_loops, remove_self_loops, scatter
from torch_geometric.utils.sparse import index2ptr

warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
warnings.filterwarnings("ignore", message="Sparse invariant checks are implicitly disabled")


def entry_order(rows: Tensor, cols: Tensor, num_nodes: int) -> Tensor:
    """The permutation that sorts entries by ``(row, col)``: one argsort of ``row·n + col``, in
    int32 when ``n² < 2³¹`` (CPU sorts of int32 keys take half the time of int64 ones; every
    relaxed-graph forward sorts its edge list twice)."""
    keys = rows * num_nodes + cols
    if num_nodes * num_nodes < 2**31:
        keys = keys.int()
    return torch.argsort(keys)


def _csr(rows: Tensor, cols: Tensor, values: Tensor, num_nodes: int) -> Tensor:
    """The ``num_nodes × num_nodes`` CSR matrix with entries ``values`` at ``(rows, cols)``."""
    order = entry_order(rows, cols, num_nodes)
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
    #: GNNGuard-style cleaning threshold τ (victims.defenses; 0 = off, and absent from the dict)
    guard: float = 0.0

    def to_dict(self) -> dict:
        out = asdict(self)
        if not out["guard"]:
            del out["guard"]
        return out


class _Aggregate(torch.autograd.Function):
    """``Y = A_t · H`` for a CSR operator ``A_t`` (row = target node) whose stored values are
    ``values``. Backward: ``∂L/∂H = A_tᵀ · ∂L/∂Y`` with the CSR of ``A_tᵀ`` that the operator
    builds once, on first use (torch's own backward re-sorts ``A_tᵀ`` in every layer of every
    step), and, when ``values`` needs a gradient, ``∂L/∂A_t[i, j] = ⟨∂L/∂Y_i, H_j⟩``."""

    @staticmethod
    def forward(ctx, h: Tensor, values: Tensor, adj_t: Tensor) -> Tensor:
        ctx.adj_t = adj_t
        ctx.save_for_backward(h)
        return torch.sparse.mm(adj_t, h)

    @staticmethod
    def backward(ctx, grad: Tensor):
        adj_t = ctx.adj_t
        grad_h = torch.sparse.mm(adj_t.cama_transpose(), grad) if ctx.needs_input_grad[0] else None
        grad_values = None
        if ctx.needs_input_grad[1]:
            h, = ctx.saved_tensors
            # ⟨∂L/∂Y_i, H_j⟩ at the stored entries (i, j), in CSR order: a sampled dense product,
            # never the E × hidden gather
            grad_values = torch.sparse.sampled_addmm(adj_t, grad.contiguous(), h.t().contiguous(), beta=0.0).values()
        return grad_h, grad_values, None


class _OperatorAggregation:
    """Mixin for PyG convolutions: when given the classifier's CSR operator, aggregate with
    :class:`_Aggregate` — a weighted sum whose weights already hold the edge weights and GCN's
    normalisation or GraphSAGE's ``1/Σw`` mean; any other sparse input goes to PyG's own aggregation."""

    def message_and_aggregate(self, adj_t, x):
        if hasattr(adj_t, "cama_transpose"):
            return _Aggregate.apply(x[0] if isinstance(x, tuple) else x, adj_t.cama_values, adj_t)
        return super().message_and_aggregate(adj_t, x)


class _GCNConv(_OperatorAggregation, GCNConv):
    pass


class _GINConv(_OperatorAggregation, GINConv):
    pass


class _SAGEConv(_OperatorAggregation, SAGEConv):
    pass


#: exponents of weighted attention are clipped here (only weight-0 candidates whose logit exceeds
#: every present edge's by more than this are affected, and only in their gradient)
_MAX_EXPONENT = 30.0


class _GATConv(GATConv):
    """PyG's ``GATConv``; with ``edge_weight``, attention ``α_ij ∝ w_ij exp(e_ij)`` — ``log w``
    added to the logits before the softmax — over the edges plus self-loops of weight 1."""

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None = None) -> Tensor:
        if edge_weight is None:
            return super().forward(x, edge_index)
        edge_index, edge_weight = remove_self_loops(edge_index, edge_weight)
        edge_index, edge_weight = add_self_loops(edge_index, edge_weight, fill_value=1.0, num_nodes=x.size(0))
        loops, self.add_self_loops = self.add_self_loops, False
        try:  # the weights reach edge_update as edge_attr (this conv has no edge features)
            return super().forward(x, edge_index, edge_attr=edge_weight)
        finally:
            self.add_self_loops = loops

    def edge_update(self, alpha_j, alpha_i, edge_attr, index, ptr, dim_size):
        if edge_attr is None or self.lin_edge is not None:
            return super().edge_update(alpha_j, alpha_i, edge_attr, index, ptr, dim_size)
        e = torch.nn.functional.leaky_relu(alpha_j if alpha_i is None else alpha_j + alpha_i, self.negative_slope)
        w = edge_attr.view(-1, 1)
        with torch.no_grad():  # a shift per target node (softmax is shift-invariant): the largest present logit
            top = scatter(torch.where(w > 0, e, torch.full_like(e, float("-inf"))), index, 0, dim_size, "max")
            top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
        num = w * torch.exp(torch.clamp(e - top[index], max=_MAX_EXPONENT))
        den = scatter(num, index, 0, dim_size, "sum")
        alpha = num / den.clamp_min(torch.finfo(num.dtype).tiny)[index]
        return torch.nn.functional.dropout(alpha, p=self.dropout, training=self.training)


def _make_conv(arch: str, in_ch: int, out_ch: int, heads: int) -> nn.Module:
    if arch == "gcn":
        return _GCNConv(in_ch, out_ch, normalize=False)  # normalised once per forward (GraphClassifier.operator)
    if arch == "gin":
        mlp = nn.Sequential(nn.Linear(in_ch, out_ch), nn.BatchNorm1d(out_ch), nn.ReLU(), nn.Linear(out_ch, out_ch))
        return _GINConv(mlp, train_eps=True)
    if arch == "graphsage":
        return _SAGEConv(in_ch, out_ch, aggr="mean")
    if arch == "gat":
        return _GATConv(in_ch, out_ch // heads, heads=heads)
    raise ValueError(arch)


def guard_weights(h: Tensor, edge_index: Tensor, edge_weight: Tensor | None, tau: float) -> Tensor:
    """GNNGuard-style cleaning (:mod:`victims.defenses`): ``w'_ij = w_ij · s_ij · 1[s_ij ≥ τ]`` with
    ``s_ij = max(0, cos(h_i, h_j))`` of the endpoints' current embeddings."""
    src, dst = edge_index
    sim = torch.nn.functional.cosine_similarity(h[src], h[dst], dim=1, eps=1e-8).clamp(min=0)
    gate = torch.where(sim >= tau, sim, torch.zeros_like(sim))
    return gate if edge_weight is None else gate * edge_weight


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

    @staticmethod
    def transposed_csr(edge_index: Tensor, num_nodes: int, weight: Tensor | None = None,
                       dtype: torch.dtype = torch.float32) -> Tensor:
        """``adj_t`` as a CSR matrix: row = target node, column = source node, built with one
        argsort; entry ``(dst_e, src_e)`` holds ``weight[e]`` (sorted together, so a weight never
        lands on another edge). Repeated edges stay separate entries and are summed by the
        product, exactly as message passing sums repeated messages. ``adj_t.cama_transpose()``
        builds (once) the CSR of its transpose, for the backward pass; ``adj_t.cama_values`` are
        the stored values, differentiable w.r.t. ``weight``."""
        src, dst = edge_index
        values = torch.ones(src.numel(), device=src.device, dtype=dtype) if weight is None else weight
        order = entry_order(dst, src, num_nodes)
        rows, cols, sorted_values = dst[order], src[order], values[order]
        plain = sorted_values.detach()
        adj_t = torch.sparse_csr_tensor(index2ptr(rows, num_nodes), cols, plain, (num_nodes, num_nodes))
        adj_t.cama_values, adj_t.cama_rows, adj_t.cama_cols = sorted_values, rows, cols
        adj_t.cama_transpose = functools.cache(lambda: _csr(cols, rows, plain, num_nodes))
        return adj_t

    def operator(self, edge_index: Tensor, num_nodes: int, edge_weight: Tensor | None = None,
                 dtype: torch.dtype = torch.float32) -> tuple[Tensor, Tensor | None]:
        """The message-passing operator every layer uses: ``(adjacency, edge weights)``.

        GCN: the CSR of the normalised ``Â`` with self-loops (weighted ``gcn_norm``); GIN: the
        CSR of ``A_w``; GraphSAGE: the CSR of ``A_w`` with rows divided by ``Σ_j w_ij`` (the
        weighted mean). GAT: the edge list and its weights, unchanged.
        """
        arch = self.config.arch
        if arch == "gcn":
            edge_index, edge_weight = gcn_norm(edge_index, edge_weight, num_nodes, add_self_loops=True, dtype=dtype)
            return self.transposed_csr(edge_index, num_nodes, edge_weight), None
        if arch == "gin":
            return self.transposed_csr(edge_index, num_nodes, edge_weight, dtype), None
        if arch == "graphsage":  # mean aggregation: weight w_ij / Σ_j w_ij
            if edge_weight is None:
                deg = torch.bincount(edge_index[1], minlength=num_nodes).clamp(min=1)
                return self.transposed_csr(edge_index, num_nodes, 1.0 / deg[edge_index[1]].to(dtype)), None
            total = scatter(edge_weight, edge_index[1], 0, num_nodes, "sum")
            total = torch.where(total > 0, total, torch.ones_like(total))
            return self.transposed_csr(edge_index, num_nodes, edge_weight / total[edge_index[1]]), None
        return edge_index, edge_weight

    def node_embeddings(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None = None) -> list[Tensor]:
        """Node embeddings after every message-passing layer (post-activation), last one pooled."""
        adjacency, weight = self.operator(edge_index, x.size(0), edge_weight, x.dtype)
        out, h = [], x
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            if i > 0 and self.config.guard > 0:  # structure cleaning on learned embeddings (victims.defenses)
                gated = guard_weights(h, edge_index, edge_weight, self.config.guard)
                adjacency, weight = self.operator(edge_index, x.size(0), gated, x.dtype)
            h = conv(h, adjacency, weight) if weight is not None else conv(h, adjacency)
            h = torch.relu(norm(h))
            out.append(h)
        return out

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
