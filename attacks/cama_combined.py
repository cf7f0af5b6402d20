"""``cama``: CAMA feature and structure attack together, under both budgets.

Structure flips come from ``cama-node`` (or ``cama-subgraph`` with ``structure=subgraph``),
feature edits from ``cama-feature``; a budget ρ allows ρ·|E_g| flips *and* ρ·|V_g| feature-edited
nodes. On datasets whose features are structure-derived only the structure part runs.
"""
from __future__ import annotations

from cama.edits import EditList, apply_edits

from .base import Attack
from .candidates import DEFAULT_RERANK, DEFAULT_RERANK_NODES
from .cama_feature import CamaFeature
from .cama_node import CamaNode
from .cama_subgraph import CamaSubgraph


class Cama(Attack):
    name = "cama"
    description = "CAMA features + structure together (cama-feature + cama-node)"
    targets = frozenset({"structure", "features"})
    uses_importance = True
    default_rounds = 8

    knowledge = "gradients"
    defaults = {"structure": "node", "epsilon": 1.0, "rank_by": "product", "anchors": 8, "add_weight": 1.0,
                "rerank": DEFAULT_RERANK, "rerank_nodes": DEFAULT_RERANK_NODES}
    choices = {"structure": ("node", "subgraph"), "rank_by": ("importance", "gain", "product")}

    def _parts(self):
        p = self.params
        struct_cls = CamaSubgraph if p.get("structure", "node") == "subgraph" else CamaNode
        s_params = {k: p[k] for k in ("anchors", "rerank", "rerank_nodes") if k in p}
        if struct_cls is CamaNode and "add_weight" in p:
            s_params["add_weight"] = p["add_weight"]
        f_params = {k: p[k] for k in ("epsilon", "rank_by") if k in p}
        return (struct_cls(importance=self.importance_method, **s_params),
                CamaFeature(importance=self.importance_method, **f_params))

    def limits(self, ctx, budget):
        s, f = super().limits(ctx, budget)
        return s, (f if ctx.featurizer.editable else None)

    def rank(self, ctx, batch, struct_limit, feat_limit):
        """Features first; the structure part is then scored on the feature-attacked graph (largest
        feature budget), so the flips push in the same direction as the feature edits."""
        struct, feat = self._parts()
        if feat_limit is None or batch is not ctx.batch:
            return struct.rank(ctx, batch, struct_limit, None)
        f = feat.rank(ctx, batch, None, feat_limit)
        attacked = apply_edits(batch, f, ctx.featurizer)
        edits = struct.rank(ctx, attacked, struct_limit, None)
        return EditList(edits.flips, edits.flip_rank, f.feat_node, f.feat_value, f.feat_rank)
