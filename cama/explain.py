"""Drawing a graph with its node importance (networkx layout + matplotlib)."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.utils import to_networkx


def node_names(graph: Data, label_names: list[str] | None, onehot: tuple[int, int] | None) -> dict[int, str]:
    """Node label text: atom/label names where the dataset has them, else the node index."""
    if label_names and onehot is not None:
        a, b = onehot
        cats = graph.x[:, a:b].argmax(1).tolist()
        return {i: label_names[c] if c < len(label_names) else str(c) for i, c in enumerate(cats)}
    return {i: str(i) for i in range(graph.num_nodes)}


def draw_importance(graph: Data, scores: Tensor, path: str | Path, labels: dict[int, str], title: str,
                    highlight: list[int] | None = None, seed: int = 0) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx

    g = to_networkx(Data(edge_index=graph.edge_index.cpu(), num_nodes=graph.num_nodes), to_undirected=True)
    pos = nx.spring_layout(g, seed=seed)
    fig, ax = plt.subplots(figsize=(6, 5))
    vals = scores.detach().cpu().tolist()
    nx.draw_networkx_edges(g, pos, ax=ax, alpha=0.5)
    if highlight:
        sub = g.subgraph(highlight)
        nx.draw_networkx_edges(sub, pos, ax=ax, width=3.0, edge_color="tab:red")
    nodes = nx.draw_networkx_nodes(g, pos, ax=ax, node_color=vals, cmap="viridis", vmin=0, vmax=max(vals + [1e-9]),
                                   node_size=260, edgecolors="black", linewidths=0.5)
    nx.draw_networkx_labels(g, pos, labels=labels, ax=ax, font_size=7, font_color="white")
    fig.colorbar(nodes, ax=ax, label="importance")
    ax.set_title(title)
    ax.axis("off")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def top_nodes_table(scores: Tensor, labels: dict[int, str], k: int = 5) -> list[tuple[int, str, float]]:
    vals, idx = torch.sort(scores.detach().cpu(), descending=True)
    return [(int(i), labels[int(i)], float(v)) for v, i in zip(vals[:k], idx[:k])]
