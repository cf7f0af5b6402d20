"""Your own attack, run by cama like a built-in one: a file with an ``attacks.base.Attack`` subclass.

``ImportantEdgeCut`` deletes, in every graph, the existing edges whose endpoints are most
important for the true class by Grad-CAM (score s[u]·s[v]), one pass, no victim queries beyond the
importance. It declares its threat model and parameters like every attack; cama checks its edits
(inside one graph, u < v, unique, within each graph's budget) before scoring them.

    cama attack -d MUTAG -m gcn -a examples/custom_attack.py:ImportantEdgeCut -p top=2
    cama bench -d MUTAG -m gcn -a examples/custom_attack.py:ImportantEdgeCut,random --runs runs/mine \
        --leaderboard runs/mine          # its rows are marked "(external)"

In ``bench.toml``:  ``[attacks.edge-cut]`` / ``attack = "examples/custom_attack.py:ImportantEdgeCut"``.
"""
from __future__ import annotations

import torch

from attacks.base import Attack, top_per_graph
from attacks.candidates import existing_pairs
from cama.edits import EditList


class ImportantEdgeCut(Attack):
    name = "important-edge-cut"
    description = "delete the edges between the nodes Grad-CAM finds most important (one pass)"
    targets = frozenset({"structure"})   # what it changes: edge flips, counted against ρ·|E_g|
    knowledge = "gradients"              # Grad-CAM needs the model's gradients
    uses_importance = True
    defaults = {"top": 0}                # keep only edges among each graph's `top` best nodes (0 = all)

    def rank(self, ctx, batch, struct_limit, feat_limit):
        s = ctx.importance(self.importance_method).scores      # [N] per-graph normalised node scores
        pairs = existing_pairs(batch)                            # [E, 2] global ids, u < v
        score = s[pairs[:, 0]] * s[pairs[:, 1]]
        if self.param("top"):  # edges among the `top` best nodes of their graph first
            best, _ = top_per_graph(batch.batch, s, torch.full_like(struct_limit, self.param("top")), batch.num_graphs)
            among = torch.isin(pairs[:, 0], best) & torch.isin(pairs[:, 1], best)
            score = torch.where(among, score + 1.0, score)
        keep, rank = top_per_graph(batch.batch[pairs[:, 0]], score, struct_limit, batch.num_graphs)
        return EditList.from_flips(batch, pairs[keep], rank)

