"""``degree``: flips at the highest-degree nodes.

Candidates: every existing edge (deletion) and every pair among the ``anchors`` highest-degree
nodes of a graph (addition); score = deg(u) + deg(v), ties broken at random.
"""
from __future__ import annotations

import torch
from torch_geometric.utils import degree

from cama.edits import EditList, unique_pairs

from .base import Attack, top_per_graph
from .candidates import anchor_pairs, existing_pairs, top_nodes


class DegreeFlips(Attack):
    name = "degree"
    description = "delete/add edges between the highest-degree nodes"

    defaults = {"anchors": 8}

    def rank(self, ctx, batch, struct_limit, feat_limit):
        n = batch.num_nodes
        deg = degree(batch.edge_index[0], n)
        gen = ctx.generator(2)
        top = top_nodes(batch, deg + 0.01 * torch.rand(n, generator=gen, device=deg.device),
                        self.param("anchors"))
        is_top = torch.zeros(n, dtype=torch.bool, device=deg.device)
        is_top[top] = True
        adds = anchor_pairs(batch, top)
        adds = adds[is_top[adds[:, 0]] & is_top[adds[:, 1]]]
        pairs = torch.cat([existing_pairs(batch), adds])
        pairs = unique_pairs(pairs, n)
        pairs = pairs[ctx.allowed(batch, pairs)]
        score = deg[pairs[:, 0]] + deg[pairs[:, 1]] + 0.01 * torch.rand(pairs.size(0), generator=gen, device=deg.device)
        graph = batch.batch[pairs[:, 0]]
        keep, rank = top_per_graph(graph, score, struct_limit, batch.num_graphs)
        return EditList.from_flips(batch, pairs[keep], rank)
