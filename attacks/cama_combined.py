"""``cama``: CAMA feature and structure attack together, under both budgets.

Structure flips come from ``cama-node`` (or ``cama-subgraph`` with ``structure=subgraph``),
feature edits from ``cama-feature``; a budget ρ allows ρ·|E_g| flips *and* ρ·|V_g| feature-edited
nodes. On datasets whose features are structure-derived only the structure part runs.

**Never weaker than its parts.** An attacker holding both budgets can do whatever either part does
alone, so per budget and per graph the attack returns the first of (joint edits, ``cama-node``'s
flips alone, ``cama-feature``'s edits alone, same importance and budgets) that the model it attacks
misclassifies (in transfer mode: that the surrogate misclassifies by the margin κ of
:func:`attacks.base.stop_mask`), else the one with the lowest true-class
margin. It is therefore a budget-specific attack; the three candidates cost about twice
``cama-node`` + ``cama-feature``, plus three batched queries per budget.
"""
from __future__ import annotations

import torch

from cama.edits import EditList, apply_edits

from .base import Attack, AttackResult
from .cama_feature import CamaFeature
from .cama_node import CamaNode
from .cama_subgraph import CamaSubgraph
from .candidates import DEFAULT_RERANK, DEFAULT_RERANK_NODES


class Cama(Attack):
    name = "cama"
    description = "CAMA features + structure together (cama-feature + cama-node)"
    targets = frozenset({"structure", "features"})
    ranked = False  # per budget and graph the best of three ranked lists (module docstring)
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
        schedule = {"adaptive_every": self.adaptive_every} if self.adaptive_every else {"rounds": self.rounds}
        f_params = {k: p[k] for k in ("epsilon", "rank_by") if k in p}
        return (struct_cls(importance=self.importance_method, **schedule, **s_params),
                CamaFeature(importance=self.importance_method, **f_params))

    def run(self, ctx, budgets):
        self.check_edge_weight(ctx)
        joint = self.run_ranked(ctx, budgets).ranked
        if not ctx.featurizer.editable:
            return AttackResult(ranked=joint)
        struct, feat = self._parts()
        alone = (struct.run(ctx, budgets).ranked, feat.run(ctx, budgets).ranked)
        return AttackResult(per_budget=best_of_three(ctx, budgets, self.limits, joint, *alone))

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


def best_of_three(ctx, budgets, limits, joint: EditList, struct_only: EditList, feat_only: EditList) -> dict:
    """Per budget and per graph, the first of (joint edits, the structure part's flips alone, the
    feature part's edits alone) that the attacker sees fooled, else the one with the lowest
    true-class margin (module docstring): never weaker than either part on any graph."""
    b = ctx.batch
    joint, struct_only, feat_only = (ctx.enforce(e) for e in (joint, struct_only, feat_only))
    out = {}
    for budget in budgets:
        s_lim, f_lim = limits(ctx, budget)
        options = [joint.prefix(b, s_lim, f_lim), struct_only.prefix(b, s_lim, None), feat_only.prefix(b, None, f_lim)]
        judged = [ctx.judge(apply_edits(b, e, ctx.featurizer)) for e in options]
        margin, fooled = torch.stack([m for m, _ in judged]), torch.stack([f for _, f in judged])
        ctx.queries += len(options)
        first = torch.argmax(fooled.int(), 0)  # first fooling option (argmax returns the first max)
        choice = torch.where(fooled.any(0), first, torch.argmin(margin, 0))
        out[budget] = _merge(b, options, choice)
    return out


def _merge(batch, options: list[EditList], choice) -> EditList:
    """Per graph g, the edits of ``options[choice[g]]``."""
    keep_f = [choice[batch.batch[e.flips[:, 0]]] == i for i, e in enumerate(options)]
    keep_x = [choice[batch.batch[e.feat_node]] == i for i, e in enumerate(options)]
    cat = lambda attr, keep: torch.cat([getattr(e, attr)[k] for e, k in zip(options, keep)])
    return EditList(cat("flips", keep_f), cat("flip_rank", keep_f), cat("feat_node", keep_x),
                    cat("feat_value", keep_x), cat("feat_rank", keep_x))
