"""``random-feature``: random nodes get a random different one-hot label (and, for continuous
attributes, a random ±ε shift per attribute)."""
from __future__ import annotations

import torch

from cama.edits import EditList

from .base import Attack, require_editable_features, top_per_graph


class RandomFeature(Attack):
    name = "random-feature"
    description = "random nodes get a random other label / random ±ε attribute shift"
    targets = frozenset({"features"})

    defaults = {"epsilon": 1.0}

    def rank(self, ctx, batch, struct_limit, feat_limit):
        feat = ctx.featurizer
        require_editable_features(feat)
        gen = ctx.generator(5)
        n, dev = batch.num_nodes, batch.x.device
        new = batch.x.clone()
        if feat.onehot is not None:
            a, b = feat.onehot
            k = b - a
            cur = batch.x[:, a:b].argmax(1)
            shift = 1 + (torch.rand(n, generator=gen, device=dev) * max(k - 1, 1)).long()
            cat = (cur + shift) % k if k > 1 else cur
            new[:, a:b] = torch.nn.functional.one_hot(cat, k).to(new.dtype)
        if feat.continuous is not None:
            a, b = feat.continuous
            eps = self.param("epsilon")
            signs = torch.randint(0, 2, (n, b - a), generator=gen, device=dev).to(new.dtype) * 2 - 1
            new[:, a:b] = batch.x[:, a:b] + eps * signs
        order = torch.rand(n, generator=gen, device=dev)
        keep, rank = top_per_graph(batch.batch, order, feat_limit, batch.num_graphs)
        return EditList.empty(batch).with_features(keep, new[keep], rank)
