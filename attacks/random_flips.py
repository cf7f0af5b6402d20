"""``random``: uniformly random edge flips (pairs drawn uniformly inside each graph)."""
from __future__ import annotations

import torch

from cama.edits import EditList

from .base import Attack, top_per_graph
from .candidates import random_pairs


class RandomFlips(Attack):
    name = "random"
    description = "uniformly random edge flips (add or delete) inside each graph"

    def rank(self, ctx, batch, struct_limit, feat_limit):
        pairs = random_pairs(batch, struct_limit, ctx.generator(1))
        pairs = pairs[ctx.allowed(batch, pairs)]
        graph = batch.batch[pairs[:, 0]]
        order = torch.arange(pairs.size(0), 0, -1, device=pairs.device).double()  # draw order
        keep, rank = top_per_graph(graph, order, struct_limit, batch.num_graphs)
        return EditList.from_flips(batch, pairs[keep], rank)
