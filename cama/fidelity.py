"""Fidelity of importance maps: deletion curves.

For a fraction f, every graph g loses all edges incident to its ``k_g = ceil(f·|V_g|)`` most
important nodes (structure-derived features are recomputed); we record the victim's mean
true-class probability. The same with ``k_g`` random nodes (averaged over ``repeats`` seeded
draws) gives the reference curve. A faithful importance map makes the probability drop faster:
``area = mean_f (p_random(f) − p_important(f))`` > 0.
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.data import Batch

from attacks.base import top_per_graph
from cama.budget import graph_sizes
from cama.featurize import Featurizer
from cama.model_api import call_model

FRACTIONS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3)


@torch.no_grad()
def _prob_without_edges_of(model, batch: Batch, featurizer: Featurizer, nodes: Tensor) -> float:
    drop = torch.zeros(batch.num_nodes, dtype=torch.bool, device=batch.x.device)
    drop[nodes] = True
    keep = ~(drop[batch.edge_index[0]] | drop[batch.edge_index[1]])
    ei = batch.edge_index[:, keep]
    x = featurizer(batch.x, ei, batch.num_nodes) if featurizer.structural else batch.x
    probs = call_model(model, x, ei, batch.batch).softmax(-1)
    return float(probs.gather(1, batch.y.view(-1, 1)).mean())


def deletion_curves(model, batch: Batch, featurizer: Featurizer, scores: Tensor,
                    fractions=FRACTIONS, repeats: int = 5, seed: int = 0) -> dict:
    """``{'fractions', 'important', 'random', 'area'}`` for one importance map over ``batch``."""
    nodes, _ = graph_sizes(batch)
    gen = torch.Generator(device=batch.x.device).manual_seed(seed)
    imp_curve, rnd_curve = [], []
    for f in fractions:
        k = torch.clamp(torch.ceil(f * nodes.double()).long(), min=1)
        top, _ = top_per_graph(batch.batch, scores, k, batch.num_graphs)
        imp_curve.append(_prob_without_edges_of(model, batch, featurizer, top))
        rnd = []
        for _ in range(repeats):
            r = torch.rand(batch.num_nodes, generator=gen, device=batch.x.device)
            pick, _ = top_per_graph(batch.batch, r, k, batch.num_graphs)
            rnd.append(_prob_without_edges_of(model, batch, featurizer, pick))
        rnd_curve.append(sum(rnd) / repeats)
    area = sum(r - i for r, i in zip(rnd_curve, imp_curve)) / len(fractions)
    return {"fractions": list(fractions), "important": imp_curve, "random": rnd_curve, "area": area}
