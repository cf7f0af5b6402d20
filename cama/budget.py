"""Budget semantics (the contract every attack keeps).

For graph g with ``|E_g|`` undirected edges and ``|V_g|`` nodes:

* structure ratio ρ → at most ``max(1, round(ρ·|E_g|))`` undirected edge flips;
* structure count k → at most ``k`` flips;
* feature ratio ρ   → at most ``max(1, round(ρ·|V_g|))`` nodes whose features change;
* feature count k   → at most ``k`` such nodes.

Continuous attributes additionally stay within an L∞ ball of radius ε (feature-std units),
an attack parameter. A budget list is served by prefixes of one ranked edit list.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor
from torch_geometric.utils import scatter

from .errors import CamaError

BUDGET_KINDS = ("ratio", "count")


@dataclass(frozen=True)
class Budget:
    kind: str    # "ratio" or "count"
    value: float

    def __str__(self) -> str:
        return f"{self.value:g}" if self.kind == "ratio" else f"{int(self.value)}"

    def _limit(self, sizes: Tensor) -> Tensor:
        if self.kind == "count":
            return torch.full_like(sizes, int(self.value))
        return torch.clamp(torch.round(self.value * sizes.double()).long(), min=1)

    def structure_limit(self, num_edges: Tensor) -> Tensor:
        """Allowed undirected flips per graph (``num_edges`` counts undirected edges)."""
        return self._limit(num_edges)

    def feature_limit(self, num_nodes: Tensor) -> Tensor:
        """Allowed feature-edited nodes per graph."""
        return self._limit(num_nodes)


def parse_budgets(text: str | list, kind: str = "ratio") -> list[Budget]:
    """Parse ``"0.05,0.1,0.2"`` (or a list) into sorted, validated budgets."""
    if kind not in BUDGET_KINDS:
        raise CamaError(f"Unknown budget kind '{kind}'; use one of: {', '.join(BUDGET_KINDS)}.")
    items = text if isinstance(text, (list, tuple)) else [t for t in str(text).split(",") if t.strip()]
    if not items:
        raise CamaError("No budget given; pass e.g. -b 0.05,0.1,0.2.")
    out = []
    for item in items:
        try:
            value = float(item)
        except (TypeError, ValueError):
            raise CamaError(f"Budget {item!r} is not a number; pass e.g. -b 0.05,0.1,0.2.") from None
        if not math.isfinite(value):
            raise CamaError(f"Budget {item!r} is not a finite number; pass e.g. -b 0.05,0.1,0.2.")
        if kind == "ratio" and not (0 < value <= 1):
            raise CamaError(f"Budget ratio {value:g} is out of range; ratios must satisfy 0 < ρ ≤ 1 "
                            "(use --budget-kind count for absolute numbers of edits).")
        if kind == "count" and (value < 1 or value != int(value)):
            raise CamaError(f"Budget count {value:g} must be a positive integer.")
        out.append(Budget(kind, value))
    return sorted(set(out), key=lambda b: b.value)


def graph_sizes(batch) -> tuple[Tensor, Tensor]:
    """(nodes per graph, undirected edges per graph) of a batch, on its device."""
    g = batch.num_graphs
    nodes = scatter(torch.ones_like(batch.batch), batch.batch, dim=0, dim_size=g, reduce="sum")
    edges = scatter(torch.ones_like(batch.edge_index[0]), batch.batch[batch.edge_index[0]], dim=0, dim_size=g,
                    reduce="sum") // 2
    return nodes, edges
