"""Subgraph importance from node scores.

* Ego-net score of node u: ``S_k = (A + I)^k s``, computed with k sparse propagation steps
  (``s ← s + A s``, one ``scatter_add`` over the edges each) for the whole batch at once. It
  is the walk-weighted sum of the scores within u's k-hop neighbourhood.
* Clusters: connected components of the subgraph induced by nodes with normalised score
  ``≥ threshold`` (scipy ``connected_components`` over the batch, one call); a cluster's score
  is the sum of its node scores.
* :func:`top_subgraphs`: per graph, the best ``top`` ego-nets as node sets (PyG
  ``k_hop_subgraph``) with their scores.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch_geometric.utils import k_hop_subgraph, scatter


def ego_scores(scores: Tensor, edge_index: Tensor, k: int = 1) -> Tensor:
    """``(A + I)^k s`` for a (batched) undirected graph, no dense matrix."""
    out = scores.clone()
    src, dst = edge_index
    for _ in range(k):
        out = out + scatter(out[src], dst, dim=0, dim_size=scores.numel(), reduce="sum")
    return out


@dataclass
class Subgraph:
    graph: int          # graph index in the batch
    nodes: Tensor       # global node indices in the batch
    score: float


def top_subgraphs(scores: Tensor, edge_index: Tensor, batch: Tensor, num_graphs: int, k: int = 1,
                  top: int = 1) -> list[list[Subgraph]]:
    """Per graph, the ``top`` ego-nets (radius ``k``) of highest ego score, best first.

    Centres are picked per graph with a scatter-argmax over the whole batch; because graphs in
    a batch are disjoint, one ``k_hop_subgraph`` call per round serves every graph.
    """
    ego = ego_scores(scores, edge_index, k)
    remaining = ego.clone()
    result: list[list[Subgraph]] = [[] for _ in range(num_graphs)]
    n_per_graph = scatter(torch.ones_like(batch), batch, dim=0, dim_size=num_graphs, reduce="sum")
    for _ in range(top):
        best, arg = scatter_max_index(remaining, batch, num_graphs)
        valid = (n_per_graph > 0) & torch.isfinite(best)
        centres = arg[valid]
        if centres.numel() == 0:
            break
        subset, _, _, _ = k_hop_subgraph(centres, k, edge_index, num_nodes=scores.numel())
        owner = batch[subset]
        for g, c in zip(valid.nonzero(as_tuple=True)[0].tolist(), centres.tolist()):
            result[g].append(Subgraph(g, subset[owner == g], float(ego[c])))
        remaining[centres] = float("-inf")
    return result


def scatter_max_index(values: Tensor, batch: Tensor, num_graphs: int) -> tuple[Tensor, Tensor]:
    """Per-graph maximum of ``values`` and the global index of one arg-max node."""
    best = scatter(values, batch, dim=0, dim_size=num_graphs, reduce="max")
    is_best = values == best[batch]
    idx = torch.arange(values.numel(), device=values.device)
    arg = scatter(torch.where(is_best, idx, torch.full_like(idx, -1)), batch, dim=0, dim_size=num_graphs, reduce="max")
    return best, arg


def ego_membership(scores: Tensor, edge_index: Tensor, batch: Tensor, num_graphs: int, k: int = 1,
                   top: int = 1) -> Tensor:
    """Bool mask [N]: node lies in one of its graph's ``top`` best ego-nets (vectorised over graphs)."""
    ego = ego_scores(scores, edge_index, k)
    inside = torch.zeros_like(scores, dtype=torch.bool)
    for _ in range(top):
        _, centres = scatter_max_index(torch.where(inside, torch.full_like(ego, float("-inf")), ego), batch,
                                       num_graphs)
        centres = centres[centres >= 0]
        if centres.numel() == 0:
            break
        subset, _, _, _ = k_hop_subgraph(centres, k, edge_index, num_nodes=scores.numel())
        inside[subset] = True
    return inside
