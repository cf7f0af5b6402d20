"""``cama-grad``: Graph-CAM chooses *where* to flip, the victim's edge-weight gradient *which* flip.

Candidates are ``cama-node``'s: the existing edges and every pair at the ``anchors`` most
important nodes of a graph (Graph-CAM / Grad-CAM for the true class, ``anchors × |V_g|`` pairs,
never all N² pairs). Each candidate is scored by the first-order change of the victim's loss when
it is flipped — with existing edges at weight 1 and candidate additions at weight 0 in one
forward + backward over the whole batch (:func:`attacks.gradargmax.edge_gradient_scores`)::

    score(u, v) = +∂L/∂w_uv  (addition),   −∂L/∂w_uv  (deletion),   L = cross-entropy(true class)

and the best ``rerank`` pairs per graph are re-scored by one batched query on single-flip copies
(:func:`attacks.candidates.rerank_by_queries`). The budget is spent in ``rounds`` chunks, each on
the perturbed graph with fresh importance and gradients (a graph the attacker sees fooled stops).

Cost per round and graph: one pass for Graph-CAM, one for the gradient, ``rerank`` queries, and
one to judge the graph before the next round; the defaults (8 rounds, pool 4) cost 8–27 passes per
graph on the cost grid (a fooled graph stops), GRBCD's range (3–14).
``search-grad`` is the same search with uniformly random anchors (the importance-free ablation).
"""
from __future__ import annotations

import torch

from cama.edits import unique_pairs

from .base import Attack
from .candidates import anchor_pairs, existing_pairs, ranked_flips, top_nodes
from .gradargmax import edge_gradient_scores


class CamaGrad(Attack):
    name = "cama-grad"
    description = "CAMA: Graph-CAM picks anchor nodes, the edge-weight gradient ranks flips at them"
    uses_importance = True
    needs_edge_weight = True
    default_rounds = 8

    knowledge = "gradients"
    defaults = {"anchors": 8, "rerank": 4, "rerank_nodes": 0}

    def anchor_scores(self, ctx, batch):
        return ctx.importance(self.importance_method, batch if batch is not ctx.batch else None).scores

    def rank(self, ctx, batch, struct_limit, feat_limit):
        top = top_nodes(batch, self.anchor_scores(ctx, batch), self.param("anchors"))
        pairs = unique_pairs(torch.cat([existing_pairs(batch), anchor_pairs(batch, top)]), batch.num_nodes)
        pairs = pairs[ctx.allowed(batch, pairs)]
        score = edge_gradient_scores(ctx, batch, pairs)
        return ranked_flips(ctx, batch, pairs, score, self.describe_params(), struct_limit)


class SearchGrad(CamaGrad):
    name = "search-grad"
    description = "cama-grad with random anchor nodes instead of Graph-CAM (ablation)"
    uses_importance = False

    def anchor_scores(self, ctx, batch):
        gen = ctx.generator(23 + batch.num_nodes)
        return torch.rand(batch.num_nodes, generator=gen, device=batch.x.device)
