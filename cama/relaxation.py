"""Is a model's edge-weight relaxation faithful? (README, "Edge weights")

Gradient attacks (GradArgMax, PRBCD, GRBCD) optimise ``model(x, edge_index, batch, edge_weight)``
over weights w ∈ [0, 1]. They attack the model itself only when

(a) appending node pairs with weight 0 leaves the logits unchanged (w = 0 ≡ absent),
(b) permuting the edge list together with its weights leaves them unchanged,
(c) all-ones weights give the logits of no weights (w = 1 ≡ present).

:func:`probe_relaxation` checks the three on a few real graphs of the dataset (random weight-0
pairs inside each graph, random weights for (b)); the answer is cached on the model object.
Every record says ``relaxation``: ``faithful``, ``unfaithful`` (which check failed) or ``n/a``
(the attack uses no edge weights).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch_geometric.data import Batch

from .model_api import accepts_edge_weight, call_model, model_device, remember_on_model

#: relative tolerance of the checks (float32 sums in another order differ by ~1e-7)
TOLERANCE = 1e-4
PROBE_GRAPHS = 8


@dataclass(frozen=True)
class Relaxation:
    status: str          # "faithful" | "unfaithful" | "n/a"
    reason: str = ""     # which check failed (unfaithful), or why it does not apply

    @property
    def faithful(self) -> bool:
        return self.status == "faithful"


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return bool(torch.allclose(a, b, rtol=TOLERANCE, atol=TOLERANCE * (1 + float(a.abs().max()))))


@torch.no_grad()
def probe_relaxation(model: torch.nn.Module, graphs, seed: int = 0) -> Relaxation:
    """Checks (a)–(c) of the module docstring on the first :data:`PROBE_GRAPHS` of ``graphs``."""
    cached = getattr(model, "_cama_relaxation", None)
    if cached is not None:
        return cached
    if not accepts_edge_weight(model):
        result = Relaxation("n/a", "the model's forward takes no edge_weight")
    else:
        result = _probe(model, graphs, seed)
    return remember_on_model(model, "_cama_relaxation", result)


def _probe(model, graphs, seed: int) -> Relaxation:
    was_training = model.training
    model.eval()
    dev = model_device(model)
    batch = Batch.from_data_list(list(graphs[:PROBE_GRAPHS])).to(dev)
    gen = torch.Generator().manual_seed(seed)
    x, ei, b = batch.x, batch.edge_index, batch.batch
    try:
        plain = call_model(model, x, ei, b)
        ones = call_model(model, x, ei, b, torch.ones(ei.size(1), device=dev))
        if not _close(plain, ones):
            return Relaxation("unfaithful", "(c) all-ones edge weights change the logits (w = 1 must mean present)")
        # (a) weight-0 pairs inside each graph, both directions
        ptr = batch.ptr.cpu()
        sizes = ptr[1:] - ptr[:-1]
        g = torch.repeat_interleave(torch.arange(batch.num_graphs), torch.clamp(sizes, max=6))
        u = ptr[g] + (torch.rand(g.numel(), generator=gen) * sizes[g]).long()
        v = ptr[g] + (torch.rand(g.numel(), generator=gen) * sizes[g]).long()
        keep = u != v
        extra = torch.stack([u[keep], v[keep]]).to(dev)
        if extra.numel():
            ei_a = torch.cat([ei, extra, extra.flip(0)], 1)
            w_a = torch.cat([torch.ones(ei.size(1), device=dev), torch.zeros(2 * extra.size(1), device=dev)])
            if not _close(plain, call_model(model, x, ei_a, b, w_a)):
                return Relaxation("unfaithful", "(a) node pairs with edge weight 0 change the logits "
                                                "(w = 0 must mean absent)")
        # (b) permuting the edge list with its weights
        w = torch.rand(ei.size(1), generator=gen).to(dev)
        perm = torch.randperm(ei.size(1), generator=gen).to(dev)
        if not _close(call_model(model, x, ei, b, w), call_model(model, x, ei[:, perm], b, w[perm])):
            return Relaxation("unfaithful", "(b) permuting the edge list with its weights changes the logits "
                                            "(weights must travel with their edges)")
        return Relaxation("faithful")
    finally:
        model.train(was_training)
