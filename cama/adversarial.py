"""Saving adversarial graphs for defence work.

``save_adversarial(path, graphs_by_key, meta, pairing)`` writes plain tensors (loadable with
``torch.load(path, weights_only=True)``): per key (``attack@budget``, e.g. ``cama-node@0.1``)
the concatenated ``x``, ``edge_index`` (local ids), ``y``, the node/edge pointers and, so that
every adversarial graph pairs with its original, its ``dataset_index`` and whether it ``fooled``
the victim at that budget. ``meta`` holds the run configuration and the sha256 of the victim
checkpoint. :class:`AdversarialDataset` reads one key back as a PyG ``InMemoryDataset`` whose
graphs carry ``dataset_index`` and ``fooled``::

    ds = AdversarialDataset("adv.pt", budget="cama-node@0.1")
    original = load_dataset("MUTAG")[int(ds[0].dataset_index)]
    loader = DataLoader(ds, batch_size=32)
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch_geometric.data import Data, InMemoryDataset

from .errors import CamaError
from .records import atomic_torch_save

FORMAT = "cama-adversarial/1"


def save_adversarial(path: str | Path, graphs: dict[str, list[Data]], meta: dict,
                     pairing: dict[str, dict[str, list]] | None = None) -> Path:
    """``pairing[key]`` = ``{"dataset_index": [...], "fooled": [...]}`` per graph of ``graphs[key]``."""
    out = {"format": FORMAT, "meta": meta, "budgets": {}}
    for budget, gs in graphs.items():
        nodes = torch.tensor([0] + [g.num_nodes for g in gs]).cumsum(0)
        edges = torch.tensor([0] + [g.edge_index.size(1) for g in gs]).cumsum(0)
        out["budgets"][budget] = {
            "x": torch.cat([g.x for g in gs]) if gs else torch.zeros(0),
            "edge_index": torch.cat([g.edge_index for g in gs], 1) if gs else torch.zeros(2, 0, dtype=torch.long),
            "y": torch.cat([g.y.view(-1) for g in gs]) if gs else torch.zeros(0, dtype=torch.long),
            "node_ptr": nodes, "edge_ptr": edges}
        for field_name, values in (pairing or {}).get(budget, {}).items():
            out["budgets"][budget][field_name] = torch.tensor(values, dtype=torch.long)
    path = Path(path)
    atomic_torch_save(out, path)
    return path


def load_adversarial(path: str | Path, budget: str | None = None) -> list[Data]:
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CamaError(f"Cannot read adversarial file {path} ({type(exc).__name__}).") from exc
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise CamaError(f"{path} is not a cama adversarial-graph file.")
    budgets = blob["budgets"]
    key = budget if budget is not None else list(budgets)[-1]
    if key not in budgets:
        raise CamaError(f"Key {key!r} not in {path}; its keys (attack@budget) are: {', '.join(budgets)}.")
    b = budgets[key]
    graphs = []
    for i in range(b["y"].numel()):
        n0, n1 = int(b["node_ptr"][i]), int(b["node_ptr"][i + 1])
        e0, e1 = int(b["edge_ptr"][i]), int(b["edge_ptr"][i + 1])
        extra = {k: b[k][i:i + 1] for k in ("dataset_index", "fooled") if k in b}
        graphs.append(Data(x=b["x"][n0:n1], edge_index=b["edge_index"][:, e0:e1], y=b["y"][i:i + 1], **extra))
    return graphs


class AdversarialDataset(InMemoryDataset):
    """The adversarial graphs of one budget from a file written by ``cama attack --save-adversarial``."""

    def __init__(self, path: str | Path, budget: str | None = None):
        super().__init__(root=None)
        self.data, self.slices = self.collate(load_adversarial(path, budget))
