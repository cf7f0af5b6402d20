"""Calling any model that follows the cama contract.

Accepted forwards: ``forward(x, edge_index, batch, edge_weight=None)`` or
``forward(x, edge_index, batch)``. :func:`call_model` detects which (once per model, cached on it)
and raises a clear error when an attack needs edge weights the model cannot take.
"""
from __future__ import annotations

import inspect

import torch
from torch import Tensor

from .errors import CamaError


def accepts_edge_weight(model: torch.nn.Module) -> bool:
    """True when ``model.forward`` takes an ``edge_weight`` argument (or ``**kwargs``)."""
    cached = getattr(model, "_cama_accepts_edge_weight", None)
    if cached is not None:
        return cached
    try:
        params = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        params = {}
    ok = "edge_weight" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())
    return remember_on_model(model, "_cama_accepts_edge_weight", ok)


def remember_on_model(model: torch.nn.Module, name: str, value):
    """Caches ``value`` as attribute ``name`` of ``model`` (bypassing ``nn.Module.__setattr__``,
    so it is neither a parameter nor a submodule) and returns it. Models that refuse attributes
    (e.g. scripted modules, ``__slots__``) simply go uncached."""
    try:
        object.__setattr__(model, name, value)
    except (AttributeError, TypeError, RuntimeError):
        pass
    return value


def call_model(model: torch.nn.Module, x: Tensor, edge_index: Tensor, batch: Tensor,
               edge_weight: Tensor | None = None) -> Tensor:
    """Logits ``[num_graphs, num_classes]`` of ``model`` on a batched graph."""
    if edge_weight is None:
        return model(x, edge_index, batch)
    if not accepts_edge_weight(model):
        raise CamaError(f"{type(model).__name__}.forward takes no edge_weight, so gradient attacks on edges "
                        "cannot run on it; add `edge_weight=None` to its forward or choose another attack.")
    return model(x, edge_index, batch, edge_weight=edge_weight)


def model_device(model: torch.nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    for b in model.buffers():
        return b.device
    return torch.device("cpu")
