"""Many perturbed copies of graphs in one batch (for batched candidate evaluation).

:class:`GraphSlicer` (and :func:`replicate`) builds, without Python loops over graphs, a batch
whose copy ``c`` is graph ``graph_ids[c]`` of the source batch; :func:`copy_flips` applies one set
of flips per copy; :func:`select_graphs` turns a selection into a regular ``Batch``. Used to
score candidate flips and genetic populations with one forward pass, to re-score only the
graphs still under attack, and to cut training mini-batches out of one collated training set.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch_geometric.data import Batch

from .batching import set_graph_slices
from .edits import apply_flips


@dataclass
class Replicas:
    x: Tensor
    edge_index: Tensor
    batch: Tensor        # copy id per node
    node_offset: Tensor  # [C] new id of a copy's first node
    graph_ids: Tensor    # [C] source graph of each copy
    src_ptr: Tensor      # source batch ptr
    node_counts: Tensor  # [C] nodes per copy
    edge_counts: Tensor  # [C] directed edges per copy

    def map_nodes(self, copy: Tensor, nodes: Tensor) -> Tensor:
        """Global source node ids → ids inside the given copies."""
        return nodes - self.src_ptr[self.graph_ids[copy]] + self.node_offset[copy]


def _ranges(starts: Tensor, lengths: Tensor) -> Tensor:
    total = int(lengths.sum())
    base = torch.repeat_interleave(starts, lengths)
    local = torch.arange(total, device=starts.device) - torch.repeat_interleave(torch.cumsum(lengths, 0) - lengths,
                                                                                lengths)
    return base + local


class GraphSlicer:
    """Cuts copies of a batch's graphs out of it, without Python loops over graphs.

    The node and edge pointers of the source batch are computed once, so a training loop can
    cut many mini-batches out of one collated set at the cost of a few gathers each.
    """

    def __init__(self, batch: Batch):
        self.batch = batch
        self.ptr = batch.ptr.to(batch.x.device)
        # edges grouped by graph (sorted by the graph of their source node); collated and edited
        # batches already are, so the sort is skipped for them
        eg = batch.batch[batch.edge_index[0]]
        if bool((eg[1:] >= eg[:-1]).all()):
            self.edge_index = batch.edge_index
        else:
            order = torch.argsort(eg, stable=True)
            self.edge_index, eg = batch.edge_index[:, order], eg[order]
        self.edge_counts = torch.bincount(eg, minlength=batch.num_graphs)
        self.edge_ptr = torch.cumsum(self.edge_counts, 0) - self.edge_counts

    def replicate(self, graph_ids: Tensor) -> Replicas:
        """Copy ``c`` of the result is graph ``graph_ids[c]`` of the source batch."""
        dev, ptr = self.ptr.device, self.ptr
        n_c = (ptr[1:] - ptr[:-1])[graph_ids]
        node_src = _ranges(ptr[graph_ids], n_c)
        node_offset = torch.cumsum(n_c, 0) - n_c
        copies = torch.arange(graph_ids.numel(), device=dev)
        m_c = self.edge_counts[graph_ids]
        e_src = _ranges(self.edge_ptr[graph_ids], m_c)
        shift = torch.repeat_interleave(node_offset - ptr[graph_ids], m_c)
        edge_index = self.edge_index[:, e_src] + shift
        return Replicas(self.batch.x[node_src], edge_index, torch.repeat_interleave(copies, n_c), node_offset,
                        graph_ids, ptr, n_c, m_c)

    def select(self, graph_ids: Tensor) -> Batch:
        """The sub-batch of graphs ``graph_ids`` (in that order) as a regular PyG ``Batch``
        carrying ``x``, ``edge_index`` and ``y``."""
        rep = self.replicate(graph_ids)
        n_c, m_c = rep.node_counts, rep.edge_counts
        ptr = torch.cat([n_c.new_zeros(1), torch.cumsum(n_c, 0)])
        sub = Batch(x=rep.x, edge_index=rep.edge_index, y=self.batch.y[graph_ids.to(self.batch.y.device)],
                    batch=rep.batch, ptr=ptr)
        ones = torch.ones_like(n_c)
        return set_graph_slices(sub, {"x": n_c, "edge_index": m_c, "y": ones},
                                {"x": 0 * n_c, "edge_index": ptr[:-1], "y": 0 * n_c})


def replicate(batch: Batch, graph_ids: Tensor) -> Replicas:
    """Copy ``c`` of the result is graph ``graph_ids[c]`` of ``batch`` (see :class:`GraphSlicer`)."""
    return GraphSlicer(batch).replicate(graph_ids)


def select_graphs(batch: Batch, graph_ids: Tensor) -> Batch:
    """The sub-batch of graphs ``graph_ids`` (in that order) as a regular PyG ``Batch``."""
    return GraphSlicer(batch).select(graph_ids)


def copy_flips(rep: Replicas, copy: Tensor, flips: Tensor) -> Tensor:
    """Edge index of the replicas after flipping ``flips[i]`` (source ids) inside copy ``copy[i]``."""
    mapped = torch.stack([rep.map_nodes(copy, flips[:, 0]), rep.map_nodes(copy, flips[:, 1])], dim=1)
    return apply_flips(rep.edge_index, mapped, rep.x.size(0))
