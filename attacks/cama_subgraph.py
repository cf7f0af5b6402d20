"""``cama-subgraph``: cut and rewire the most important subgraph.

The top ego-net of every graph (centre = argmax of ``(A+I)^k s``, radius ``hops``) is the
target. Flips, in this order of priority: (1) delete its internal edges, (2) delete its boundary
edges, (3) link its most important nodes to nodes outside it that matter for the runner-up
class (score ``s[u] + o[v] − s[v]``). Within each tier, pairs with more important endpoints go
first. ``mode=cut`` keeps tiers 1–2 only, ``mode=rewire`` tier 3 first. ``rerank`` and
``rounds`` as in ``cama-node`` (defaults 32 and 8).
"""
from __future__ import annotations

import torch

from cama.edits import is_edge, unique_pairs
from cama.subgraphs import ego_membership

from .base import Attack
from .candidates import (
    DEFAULT_RERANK,
    DEFAULT_RERANK_NODES,
    anchor_pairs,
    existing_pairs,
    ranked_flips,
    top_nodes,
)


class CamaSubgraph(Attack):
    name = "cama-subgraph"
    description = "CAMA: cut the most important ego-net's internal/boundary edges, rewire it to runner-up nodes"
    uses_importance = True
    default_rounds = 8

    knowledge = "gradients"
    defaults = {"hops": 1, "subgraphs": 1, "anchors": 4, "mode": "both", "rerank": DEFAULT_RERANK,
                "rerank_nodes": DEFAULT_RERANK_NODES}
    choices = {"mode": ("both", "cut", "rewire")}

    def rank(self, ctx, batch, struct_limit, feat_limit):
        imp = ctx.importance(self.importance_method, batch if batch is not ctx.batch else None)
        s, o = imp.scores, imp.other
        inside = ego_membership(s, batch.edge_index, batch.batch, batch.num_graphs,
                                k=self.param("hops"), top=self.param("subgraphs"))
        anchors = top_nodes(batch, torch.where(inside, s, s - 2.0), self.param("anchors"))
        rewire = anchor_pairs(batch, anchors[inside[anchors]])
        rewire = rewire[inside[rewire[:, 0]] ^ inside[rewire[:, 1]]]
        pairs = unique_pairs(torch.cat([existing_pairs(batch), rewire]), batch.num_nodes)
        u, v = pairs[:, 0], pairs[:, 1]
        present = is_edge(pairs, batch.edge_index, batch.num_nodes)
        n_in = inside[u].long() + inside[v].long()
        mode = self.param("mode")
        cut_tier = torch.where(n_in == 2, 4.0, torch.where(n_in == 1, 2.0, -10.0))
        # u inside or v inside: orient the rewiring score from the inside node
        su, sv = torch.where(inside[u], s[u], s[v]), torch.where(inside[u], s[v], s[u])
        ov = torch.where(inside[u], o[v], o[u])
        rewire_score = su + ov - sv
        rewire_tier = 3.0 if mode == "rewire" else 0.0
        score = torch.where(present, cut_tier + s[u] + s[v], rewire_tier + rewire_score)
        if mode == "cut":
            score = torch.where(present, score, torch.full_like(score, -100.0))
        return ranked_flips(ctx, batch, pairs, score, self.describe_params(), struct_limit)
