"""Embedded synthetic dataset ``synthetic-motifs`` (no download).

Each graph is a Barabási–Albert base graph (PyG ``BAGraph``) with one class-specific motif
attached by a single edge to a random base node:

* class 0: house (PyG ``HouseMotif``, 5 nodes, 6 edges, contains a triangle)
* class 1: 5-cycle (PyG ``CycleMotif(5)``)
* class 2 (with ``num_classes=3``): 3×3 grid (PyG ``GridMotif``)

Every graph carries ``motif_mask`` (bool per node, True on motif nodes): the ground truth an
importance map should find. Generation is deterministic for a given seed.
"""
from __future__ import annotations

import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.datasets.graph_generator import BAGraph
from torch_geometric.datasets.motif_generator import CycleMotif, GridMotif, HouseMotif
from torch_geometric.utils import coalesce, to_undirected

SYNTHETIC_NAME = "synthetic-motifs"


def make_synthetic_motifs(num_graphs: int = 400, num_classes: int = 2, base_nodes: tuple[int, int] = (15, 25),
                          base_edges: int = 1, seed: int = 0) -> list[Data]:
    """Generate ``num_graphs`` graphs, classes balanced, as a list of ``Data(edge_index, y, motif_mask)``."""
    motifs = [HouseMotif(), CycleMotif(5), GridMotif()][:num_classes]
    gen = torch.Generator().manual_seed(seed)
    graphs = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        np_state = np.random.get_state()
        np.random.seed(seed)
        try:
            for i in range(num_graphs):
                label = i % num_classes
                n_base = int(torch.randint(base_nodes[0], base_nodes[1] + 1, (1,), generator=gen))
                base = BAGraph(num_nodes=n_base, num_edges=base_edges)()
                motif = motifs[label]()
                anchor = int(torch.randint(0, n_base, (1,), generator=gen))
                motif_node = int(torch.randint(0, motif.num_nodes, (1,), generator=gen))
                n = n_base + motif.num_nodes
                link = torch.tensor([[anchor], [n_base + motif_node]])
                edge_index = torch.cat([base.edge_index, motif.edge_index + n_base, link], dim=1)
                edge_index = coalesce(to_undirected(edge_index, num_nodes=n), num_nodes=n)
                mask = torch.zeros(n, dtype=torch.bool)
                mask[n_base:] = True
                graphs.append(Data(edge_index=edge_index, y=torch.tensor([label]), num_nodes=n, motif_mask=mask))
        finally:
            np.random.set_state(np_state)
    perm = torch.randperm(num_graphs, generator=gen).tolist()
    return [graphs[i] for i in perm]
