"""``random-combined``: the structure + features group's floor — ``random``'s uniformly random
edge flips and ``random-feature``'s random label / ±ε attribute changes, under both budgets.

A budget ρ allows ρ·|E_g| flips *and* ρ·|V_g| feature-edited nodes, as for ``cama`` and
``grad-combined``; the flips and the edited nodes are drawn independently (no victim query, no
gradient). On datasets whose features are structure-derived only the flips are drawn.
"""
from __future__ import annotations

from cama.edits import EditList

from .base import Attack
from .random_feature import RandomFeature
from .random_flips import RandomFlips


class RandomCombined(Attack):
    name = "random-combined"
    description = "random edge flips + random feature edits under both budgets"
    targets = frozenset({"structure", "features"})
    defaults = dict(RandomFeature.defaults)

    def limits(self, ctx, budget):
        s, f = super().limits(ctx, budget)
        return s, (f if ctx.featurizer.editable else None)

    def rank(self, ctx, batch, struct_limit, feat_limit):
        flips = RandomFlips().rank(ctx, batch, struct_limit, None)
        if feat_limit is None:
            return flips
        f = RandomFeature(epsilon=self.param("epsilon")).rank(ctx, batch, None, feat_limit)
        return EditList(flips.flips, flips.flip_rank, f.feat_node, f.feat_value, f.feat_rank)
