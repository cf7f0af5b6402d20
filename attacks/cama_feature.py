"""``cama-feature``: change the node features of the most important nodes.

One forward + backward gives ``g = ∂m/∂x`` with ``m = y_true − y_runner-up`` summed over graphs.
For a one-hot label block the node switches to the category c* = argmin_c (g[n,c] − g[n,cur])
(the first-order best switch); continuous attributes move by ``−ε·sign(g)`` (L∞ ball of radius
ε in feature-std units, attributes being standardised). Nodes are ranked by Graph-CAM
importance ``s`` (``rank_by=importance``), by the first-order margin decrease ``gain``
(``rank_by=gain``), or by ``s·gain`` (``rank_by=product``, default).
"""
from __future__ import annotations

import torch

from cama.edits import EditList
from cama.model_api import call_model

from .base import Attack, require_editable_features, top_per_graph, true_class_margin


def feature_edits(ctx, batch, epsilon: float):
    """Proposed replacement row and first-order margin decrease (gain) for every node."""
    feat = ctx.featurizer
    require_editable_features(feat)
    x = batch.x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        logits = call_model(ctx.model, x, batch.edge_index, batch.batch)
        grad, = torch.autograd.grad(true_class_margin(logits, batch.y).sum(), x)
    ctx.queries += 1
    new = batch.x.detach().clone()
    gain = torch.zeros(x.size(0), device=x.device)
    if feat.onehot is not None:
        a, b = feat.onehot
        block_g = grad[:, a:b]
        cur = batch.x[:, a:b].argmax(1)
        delta = block_g - block_g.gather(1, cur.view(-1, 1))
        delta.scatter_(1, cur.view(-1, 1), float("inf"))
        if ctx.constrained and ctx.constraints.molecular and "valence" in ctx.constraints.names:
            delta = delta.masked_fill(~ctx.constraints.allowed_labels(), float("inf"))  # atoms whose valence fits
        best = delta.argmin(1)
        onehot = torch.zeros_like(block_g)
        onehot[torch.arange(x.size(0), device=x.device), best] = 1.0
        new[:, a:b] = onehot
        gain += -delta.gather(1, best.view(-1, 1)).squeeze(1)
    if feat.continuous is not None and epsilon > 0:
        a, b = feat.continuous
        new[:, a:b] = batch.x[:, a:b] - epsilon * torch.sign(grad[:, a:b])
        gain += epsilon * grad[:, a:b].abs().sum(1)
    return new, gain


class CamaFeature(Attack):
    name = "cama-feature"
    description = "CAMA: switch the label / shift the attributes of the most important nodes"
    targets = frozenset({"features"})
    uses_importance = True

    knowledge = "gradients"
    defaults = {"epsilon": 1.0, "rank_by": "product"}
    choices = {"rank_by": ("importance", "gain", "product")}

    def node_scores(self, ctx, batch):
        """Per node, the score that chooses which nodes to edit: Graph-CAM importance in [0, 1]."""
        return ctx.importance(self.importance_method).scores

    def rank(self, ctx, batch, struct_limit, feat_limit):
        new, gain = feature_edits(ctx, batch, self.param("epsilon"))
        s = self.node_scores(ctx, batch)
        score = {"importance": s + 1e-3 * gain, "gain": gain,
                 "product": s * gain.clamp(min=0) + 1e-6 * s}[self.param("rank_by")]
        score = torch.where(torch.isfinite(gain), score, torch.full_like(score, float("-inf")))
        keep, rank = top_per_graph(batch.batch, score, feat_limit, batch.num_graphs)
        ok = torch.isfinite(score[keep])  # no allowed switch (constraints): no edit
        return EditList.empty(batch).with_features(keep[ok], new[keep[ok]], rank[ok])
