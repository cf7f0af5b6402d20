"""Graph-CAM node importance for whole batches.

Let ``F ∈ R^{N×K}`` be node embeddings of one message-passing layer and ``y_g^c`` graph g's
logit for class c. For every node n of graph g, with target class ``c = c_g``:

* ``cam``:         ``L[n] = ReLU(Σ_k W[c,k] F[n,k])`` – last layer, mean pool + linear head ``W``;
* ``gradcam``:     ``α_g[k] = mean_{m∈g} ∂y_g^c/∂F[m,k]`` (per graph), ``L[n] = ReLU(Σ_k α_g[k] F[n,k])``;
* ``gradcam-avg``: Grad-CAM of every message-passing layer, each normalised, then averaged.

For mean pool + linear head ``∂y_g^c/∂F[m,k] = W[c,k]/|V_g|``, hence Grad-CAM = CAM/|V_g|
exactly (a free test). Scores are computed for all graphs of a ``Batch`` with one forward and
one backward per class set (true/target class; runner-up class when asked), and stay on the
model's device. Normalisation (``normalize=True``): each graph's scores are divided by that
graph's maximum, so they lie in [0, 1] with the top node at 1 (all-zero maps stay zero).

Models that do not follow the victim layout are handled through forward hooks on a named
layer (``cam_layer``) or, by default, on the last ``MessagePassing`` module found; ``cam``
then falls back to ``gradcam`` (CAM needs a known mean-pool + linear head).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor
from torch_geometric.data import Batch
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import scatter

from .errors import CamaError
from .model_api import call_model

METHODS = ("cam", "gradcam", "gradcam-avg")


@dataclass
class NodeImportance:
    """Per-node scores aligned with ``batch.x`` (all tensors on the model's device)."""

    scores: Tensor              # [N] importance for the target class (normalised if asked)
    target: Tensor              # [G] target class per graph
    logits: Tensor              # [G, C] clean logits (detached)
    other: Tensor | None = None  # [N] importance for the runner-up class
    runner_up: Tensor | None = None  # [G] runner-up class per graph
    method: str = "gradcam"
    notes: list[str] = field(default_factory=list)


def normalize_per_graph(scores: Tensor, batch: Tensor, num_graphs: int) -> Tensor:
    """Divide each graph's scores by its maximum (graphs with max 0 keep zeros)."""
    peak = scatter(scores, batch, dim=0, dim_size=num_graphs, reduce="max")
    peak = peak.index_select(0, batch)
    return torch.where(peak > 0, scores / peak.clamp(min=1e-30), torch.zeros_like(scores))


def _has_victim_layout(model: torch.nn.Module) -> bool:
    return (all(hasattr(model, name) for name in ("forward_with_embeddings", "node_embeddings", "readout"))
            and isinstance(getattr(model, "head", None), torch.nn.Linear))


def find_cam_layers(model: torch.nn.Module, cam_layer: str | None = None, all_layers: bool = False
                    ) -> list[torch.nn.Module]:
    """The module(s) whose outputs are node embeddings: ``cam_layer`` by name, else MessagePassing modules."""
    if cam_layer is not None:
        try:
            return [model.get_submodule(cam_layer)]
        except AttributeError as exc:
            names = [n for n, m in model.named_modules() if isinstance(m, MessagePassing)]
            raise CamaError(f"Model has no layer named '{cam_layer}'; message-passing layers: {names or 'none'}.") from exc
    layers = [m for m in model.modules() if isinstance(m, MessagePassing)]
    if not layers:
        raise CamaError(f"{type(model).__name__} has no torch_geometric MessagePassing layer, so Graph-CAM cannot find "
                        "node embeddings; pass cam_layer='<name>' (CLI: --cam-layer) naming a layer whose output is [N, K].")
    return layers if all_layers else layers[-1:]


def forward_with_embeddings(model: torch.nn.Module, batch: Batch, all_layers: bool, cam_layer: str | None = None
                            ) -> tuple[Tensor, list[Tensor]]:
    """Logits and node embeddings (last layer, or all layers) in one forward pass."""
    if cam_layer is None and _has_victim_layout(model):
        if all_layers:
            return model.forward_with_embeddings(batch.x, batch.edge_index, batch.batch)
        # Only ∂y/∂F of the last layer is needed: no autograd graph through the convolutions.
        with torch.no_grad():
            last = model.node_embeddings(batch.x, batch.edge_index)[-1]
        last.requires_grad_(True)
        return model.readout(last, batch.batch), [last]
    captured: list[Tensor] = []

    def hook(_module, _inputs, output):
        out = output[0] if isinstance(output, tuple) else output
        captured.append(out)

    handles = [m.register_forward_hook(hook) for m in find_cam_layers(model, cam_layer, all_layers)]
    try:
        logits = call_model(model, batch.x, batch.edge_index, batch.batch)
    finally:
        for h in handles:
            h.remove()
    bad = [e for e in captured if not (isinstance(e, Tensor) and e.dim() == 2 and e.size(0) == batch.num_nodes)]
    if bad or not captured:
        raise CamaError("The CAM layer's output is not a node-embedding matrix [num_nodes, K]; "
                        "choose another layer with cam_layer / --cam-layer.")
    return logits, captured


def _resolve_target(target: str | int | Tensor, logits: Tensor, y: Tensor | None) -> Tensor:
    if isinstance(target, Tensor):
        return target.to(logits.device).view(-1)
    if isinstance(target, int):
        return torch.full((logits.size(0),), target, dtype=torch.long, device=logits.device)
    if target == "true":
        if y is None:
            raise CamaError("target='true' needs graph labels (batch.y); use target='pred'.")
        return y.to(logits.device).view(-1)
    if target == "pred":
        return logits.argmax(-1)
    raise CamaError(f"Unknown target {target!r}; use 'true', 'pred', a class index or a tensor of classes.")


def runner_up_class(logits: Tensor, target: Tensor) -> Tensor:
    """Highest-scoring class other than ``target`` per graph (``target`` itself for 1-class heads)."""
    if logits.size(1) < 2:
        return target.clone()
    masked = logits.detach().clone()
    masked[torch.arange(logits.size(0), device=logits.device), target] = float("-inf")
    return masked.argmax(-1)


def _gradcam_maps(logits: Tensor, embs: list[Tensor], cls: Tensor, batch: Tensor, num_graphs: int,
                  retain: bool) -> list[Tensor]:
    """Unnormalised Grad-CAM map per layer for the class ``cls[g]`` of every graph g."""
    selected = logits.gather(1, cls.view(-1, 1)).sum()
    grads = torch.autograd.grad(selected, embs, retain_graph=retain)
    maps = []
    for emb, grad in zip(embs, grads):
        alpha = scatter(grad, batch, dim=0, dim_size=num_graphs, reduce="mean")  # [G, K]
        maps.append(torch.relu(torch.linalg.vecdot(alpha.index_select(0, batch), emb)).detach())
    return maps


def _scores_for(method: str, model, logits, embs, cls, batch, num_graphs, normalize, retain) -> Tensor:
    if method == "cam":
        w = model.head.weight  # [C, K]
        raw = torch.relu(torch.linalg.vecdot(w[cls].index_select(0, batch), embs[-1])).detach()
        return normalize_per_graph(raw, batch, num_graphs) if normalize else raw
    maps = _gradcam_maps(logits, embs, cls, batch, num_graphs, retain)
    if method == "gradcam":
        return normalize_per_graph(maps[-1], batch, num_graphs) if normalize else maps[-1]
    normed = [normalize_per_graph(m, batch, num_graphs) for m in maps]
    avg = torch.stack(normed).mean(0)
    return normalize_per_graph(avg, batch, num_graphs) if normalize else avg


def node_importance(model: torch.nn.Module, batch: Batch, method: str = "gradcam",
                    target: str | int | Tensor = "true", runner_up: bool = True, normalize: bool = True,
                    cam_layer: str | None = None) -> NodeImportance:
    """Node importance for every graph of ``batch`` (see module docstring for the maths)."""
    if method not in METHODS:
        raise CamaError(f"Unknown importance method '{method}'; choose one of: {', '.join(METHODS)}.")
    notes = []
    if method == "cam" and (cam_layer is not None or not _has_victim_layout(model)):
        notes.append("cam needs a mean-pool + linear head; using gradcam instead")
        method = "gradcam"
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            logits, embs = forward_with_embeddings(model, batch, all_layers=(method == "gradcam-avg"),
                                                   cam_layer=cam_layer)
            num_graphs = logits.size(0)
            bvec = batch.batch
            tgt = _resolve_target(target, logits, getattr(batch, "y", None))
            scores = _scores_for(method, model, logits, embs, tgt, bvec, num_graphs, normalize, retain=runner_up)
            other = ru = None
            if runner_up:
                ru = runner_up_class(logits, tgt)
                other = _scores_for(method, model, logits, embs, ru, bvec, num_graphs, normalize, retain=False)
    finally:
        model.train(was_training)
    return NodeImportance(scores=scores, target=tgt, logits=logits.detach(), other=other, runner_up=ru,
                          method=method, notes=notes)
