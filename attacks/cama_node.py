"""``cama-node``: edge flips scored from Graph-CAM node importance.

With ``s`` the (per-graph normalised) importance for the true class and ``o`` for the
runner-up class:

* delete an existing edge (u, v) with score ``s[u] + s[v]`` (cut links between important nodes);
* add an edge between one of the ``anchors`` most important nodes u and any node v of the same
  graph, score ``s[u] + o[v] − s[v]`` (tie u to what speaks for the other class, or to
  unimportant nodes). Candidates: ``anchors × |V_g|`` pairs per graph, never all N² pairs.

``rerank=pool`` (default 32; 0 = off) re-scores the best ``max(pool, rerank_nodes // |V_g|)``
candidates of each graph (``rerank_nodes`` default 4096) by one batched query of the model on all
single-flip copies. ``rounds=r`` (default 8; 0 = one pass) spends
each graph's budget in r chunks, re-computing importance (and the re-ranking) on the perturbed
graph before each chunk; ``adaptive_every=k`` does so every k flips instead.
"""
from __future__ import annotations

import torch

from cama.edits import is_edge, unique_pairs

from .base import Attack
from .candidates import (
    DEFAULT_RERANK,
    DEFAULT_RERANK_NODES,
    anchor_pairs,
    existing_pairs,
    ranked_flips,
    top_nodes,
)


def importance_flip_scores(ctx, batch, method: str, anchors: int, add_weight: float):
    """Candidate pairs and their importance scores (see module docstring)."""
    imp = ctx.importance(method, batch if batch is not ctx.batch else None)
    return flip_scores(batch, imp.scores, imp.other, anchors, add_weight)


def flip_scores(batch, s, o, anchors: int, add_weight: float):
    """Candidates (existing edges + every pair at the ``anchors`` best nodes by ``s``) and their
    scores from node scores ``s`` (true class) and ``o`` (runner-up): see the module docstring."""
    top = top_nodes(batch, s, anchors)
    pairs = unique_pairs(torch.cat([existing_pairs(batch), anchor_pairs(batch, top)]), batch.num_nodes)
    present = is_edge(pairs, batch.edge_index, batch.num_nodes)
    u, v = pairs[:, 0], pairs[:, 1]
    delete = s[u] + s[v]
    add = torch.maximum(s[u] + o[v] - s[v], s[v] + o[u] - s[u])
    return pairs, torch.where(present, delete, add_weight * add)


class CamaNode(Attack):
    name = "cama-node"
    description = "CAMA: delete edges between important nodes, link important nodes to runner-up-class nodes"
    uses_importance = True
    default_rounds = 8

    knowledge = "gradients"
    defaults = {"anchors": 8, "add_weight": 1.0, "rerank": DEFAULT_RERANK, "rerank_nodes": DEFAULT_RERANK_NODES}

    def rank(self, ctx, batch, struct_limit, feat_limit):
        pairs, score = importance_flip_scores(ctx, batch, self.importance_method, self.param("anchors"),
                                              self.param("add_weight"))
        return ranked_flips(ctx, batch, pairs, score, self.describe_params(), struct_limit)
