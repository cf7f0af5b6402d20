"""``gradargmax`` (Dai et al., 2018): one gradient of the loss w.r.t. edge weights, flip the top b.

All existing edges carry weight 1, candidate additions weight 0; with ``L`` the victim's
cross-entropy on the true label, flipping pair e changes L by about ``+∂L/∂w_e`` (addition) or
``−∂L/∂w_e`` (deletion), summed over both directions of the pair. Candidates: all pairs in
graphs with at most ``full_pairs`` nodes, otherwise existing edges plus pairs at ``anchors``
random nodes. One forward and one backward for the whole batch.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from cama.edits import EditList, is_edge, unique_pairs
from cama.model_api import call_model

from .base import Attack, top_per_graph
from .candidates import anchor_pairs, existing_pairs, top_nodes


def edge_gradient_scores(ctx, batch, pairs, loss_fn=None):
    """First-order loss increase of flipping each pair (one forward + backward over the batch)."""
    n = batch.num_nodes
    present = is_edge(pairs, batch.edge_index, n)
    adds = pairs[~present]
    ei = torch.cat([batch.edge_index, adds.t(), adds.t().flip(0)], dim=1)
    w = torch.cat([torch.ones(batch.edge_index.size(1), device=ei.device),
                   torch.zeros(2 * adds.size(0), device=ei.device)]).requires_grad_(True)
    with torch.enable_grad():
        logits = call_model(ctx.model, batch.x, ei, batch.batch, edge_weight=w)
        loss = F.cross_entropy(logits, batch.y, reduction="sum") if loss_fn is None else loss_fn(logits, batch.y)
        grad, = torch.autograd.grad(loss, w)
    ctx.queries += 1
    keys = ei[0] * n + ei[1]
    order = torch.argsort(keys)
    sorted_keys = keys[order]
    def pair_grad(p):
        fwd = p[:, 0] * n + p[:, 1]
        bwd = p[:, 1] * n + p[:, 0]
        gi = lambda k: grad[order[torch.searchsorted(sorted_keys, k).clamp(max=keys.numel() - 1)]]
        return gi(fwd) + gi(bwd)
    g = pair_grad(pairs)
    return torch.where(present, -g, g)


class GradArgMax(Attack):
    name = "gradargmax"
    description = "one edge-weight gradient over existing and candidate edges, flip the top b (Dai et al. 2018)"
    needs_edge_weight = True

    knowledge = "gradients"
    defaults = {"full_pairs": 64, "anchors": 32}

    def rank(self, ctx, batch, struct_limit, feat_limit):
        full, n_anchor = self.param("full_pairs"), self.param("anchors")
        sizes = (batch.ptr[1:] - batch.ptr[:-1]).to(batch.x.device)
        rnd = torch.rand(batch.num_nodes, generator=ctx.generator(3), device=batch.x.device)
        per_graph = torch.where(sizes <= full, sizes, torch.full_like(sizes, n_anchor))
        anchors = top_nodes(batch, rnd, per_graph)
        pairs = unique_pairs(torch.cat([existing_pairs(batch), anchor_pairs(batch, anchors)]), batch.num_nodes)
        pairs = pairs[ctx.allowed(batch, pairs)]
        score = edge_gradient_scores(ctx, batch, pairs)
        keep, rank = top_per_graph(batch.batch[pairs[:, 0]], score, struct_limit, batch.num_graphs)
        return EditList.from_flips(batch, pairs[keep], rank)
