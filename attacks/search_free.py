"""``search-random`` and ``search-degree``: ``cama-node``'s search without Graph-CAM.

The same candidates (existing edges + every pair at the ``anchors`` best nodes of a graph), the
same pair scores, the same query re-ranking (``rerank``) and the same 8-round schedule as
``cama-node`` — only the node scores that choose anchors and order candidates come from
elsewhere:

* ``search-random``: ``s`` and ``o`` uniform random per node (fresh draws every round);
* ``search-degree``: ``s`` = node degree (random tie-breaks), ``o`` = 0 — delete edges between
  hubs, link hubs to low-degree nodes.

They measure what importance adds to the search at equal victim queries: they use victim queries
only (``knowledge = queries``), no gradients.
"""
from __future__ import annotations

import torch
from torch_geometric.utils import degree

from .cama_node import CamaNode, flip_scores
from .candidates import ranked_flips


class SearchRandom(CamaNode):
    name = "search-random"
    description = "cama-node's query search with random node scores instead of Graph-CAM (ablation)"
    uses_importance = False
    knowledge = "queries"

    def node_scores(self, ctx, batch):
        gen = ctx.generator(17 + batch.num_nodes)
        return (torch.rand(batch.num_nodes, generator=gen, device=batch.x.device),
                torch.rand(batch.num_nodes, generator=gen, device=batch.x.device))

    def rank(self, ctx, batch, struct_limit, feat_limit):
        s, o = self.node_scores(ctx, batch)
        pairs, score = flip_scores(batch, s, o, self.param("anchors"), self.param("add_weight"))
        return ranked_flips(ctx, batch, pairs, score, self.describe_params(), struct_limit)


class SearchDegree(SearchRandom):
    name = "search-degree"
    description = "cama-node's query search with degree node scores instead of Graph-CAM (ablation)"

    def node_scores(self, ctx, batch):
        gen = ctx.generator(19 + batch.num_nodes)
        deg = degree(batch.edge_index[0], batch.num_nodes)
        return deg + 0.01 * torch.rand(batch.num_nodes, generator=gen, device=deg.device), torch.zeros_like(deg)
