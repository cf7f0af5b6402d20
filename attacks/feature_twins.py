"""``feature-rank-random`` and ``feature-rank-degree``: ``cama-feature`` without Graph-CAM.

The same edit per node (the first-order best label switch, the ε sign step on attributes) and
the same selection rule (``rank_by``: score, gain, or score × gain) as ``cama-feature``; only the
node score ``s`` that Graph-CAM importance provides comes from elsewhere, scaled like importance
to [0, 1] per graph (top node 1):

* ``feature-rank-random``: ``s`` uniform random per node;
* ``feature-rank-degree``: ``s`` = node degree (random tie-breaks) ÷ the graph's largest.

They measure what Graph-CAM adds to the feature attack at the same cost (one gradient).
"""
from __future__ import annotations

import torch
from torch_geometric.utils import degree, scatter

from .cama_feature import CamaFeature


def _per_graph_max_scaled(score: torch.Tensor, graph: torch.Tensor, num_graphs: int) -> torch.Tensor:
    top = scatter(score, graph, dim=0, dim_size=num_graphs, reduce="max").clamp(min=1e-12)
    return score / top[graph]


class FeatureRankRandom(CamaFeature):
    name = "feature-rank-random"
    description = "cama-feature's selection with random node scores instead of Graph-CAM (ablation)"
    uses_importance = False

    def node_scores(self, ctx, batch):
        gen = ctx.generator(23 + batch.num_nodes)
        s = torch.rand(batch.num_nodes, generator=gen, device=batch.x.device)
        return _per_graph_max_scaled(s, batch.batch, batch.num_graphs)


class FeatureRankDegree(CamaFeature):
    name = "feature-rank-degree"
    description = "cama-feature's selection with degree node scores instead of Graph-CAM (ablation)"
    uses_importance = False

    def node_scores(self, ctx, batch):
        gen = ctx.generator(29 + batch.num_nodes)
        deg = degree(batch.edge_index[0], batch.num_nodes) + 0.01 * torch.rand(batch.num_nodes, generator=gen,
                                                                              device=batch.x.device)
        return _per_graph_max_scaled(deg, batch.batch, batch.num_graphs)
