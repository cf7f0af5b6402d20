"""``grad-combined``: the structure + features group's gradient competitor of ``cama``.

Both budgets, without Graph-CAM: the feature part is ``grad-feature-greedy`` (first-order label
switches / PGD on attributes, the gradient re-computed after each chunk), the structure part is
GRBCD (greedy edge flips by the gradient of the victim's loss w.r.t. edge weights). The joint
edits are the feature part's edits followed by GRBCD run on the feature-attacked graph, so the
flips push in the same direction. Like ``cama`` it is **never weaker than its parts**: per budget
and per graph it returns the first of (joint edits, GRBCD's flips alone, the feature edits
alone) that the attacked model misclassifies, else the one with the lowest true-class margin
(:func:`attacks.cama_combined.best_of_three`). On datasets whose features are structure-derived
only GRBCD runs.
"""
from __future__ import annotations

import torch

from cama.edits import EditList, apply_edits

from .base import Attack, AttackResult
from .cama_combined import best_of_three
from .grad_feature import GradFeatureGreedy
from .rbcd import GRBCD


class GradCombined(Attack):
    name = "grad-combined"
    description = "GRBCD + greedy gradient feature attack under both budgets, best of joint and parts per graph"
    targets = frozenset({"structure", "features"})
    knowledge = "gradients"
    ranked = False
    needs_edge_weight = True
    defaults = {"epsilon": 1.0, "steps": 10, "chunks": 8, "epochs": GRBCD.defaults["epochs"]}

    def _parts(self):
        return (GRBCD(epochs=self.param("epochs")),
                GradFeatureGreedy(epsilon=self.param("epsilon"), steps=self.param("steps"), chunks=self.param("chunks")))

    def limits(self, ctx, budget):
        s, f = super().limits(ctx, budget)
        return s, (f if ctx.featurizer.editable else None)

    def run(self, ctx, budgets):
        self.check_edge_weight(ctx)
        struct, feat = self._parts()
        flips = struct.run(ctx, budgets).ranked
        if not ctx.featurizer.editable:
            return AttackResult(ranked=flips)
        s_lim, f_lim = self.limits(ctx, max(budgets, key=lambda b: b.value))
        features = feat.rank(ctx, ctx.batch, None, f_lim)
        attacked = apply_edits(ctx.batch, ctx.enforce(features), ctx.featurizer)
        sub = ctx.restrict(attacked, torch.arange(ctx.batch.num_graphs, device=ctx.device))
        after = struct.rank(sub, attacked, s_lim, None)
        ctx.queries += sub.queries
        joint = EditList(after.flips, after.flip_rank, features.feat_node, features.feat_value, features.feat_rank)
        return AttackResult(per_budget=best_of_three(ctx, budgets, self.limits, joint, flips, features))
