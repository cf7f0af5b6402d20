"""Many perturbed copies of graphs in one batch (for batched candidate evaluation).

:func:`replicate` builds, without Python loops over graphs, a batch whose copy ``c`` is graph
``graph_ids[c]`` of the source batch; :func:`copy_flips` applies one set of flips per copy;
:func:`select_graphs` turns a selection into a regular ``Batch``. Used to score candidate flips
and genetic populations with one forward pass, and to re-score only the graphs still under attack.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch_geometric.data import Batch

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


def replicate(batch: Batch, graph_ids: Tensor) -> Replicas:
    dev = batch.x.device
    ptr = batch.ptr.to(dev)
    sizes = ptr[1:] - ptr[:-1]
    n_c = sizes[graph_ids]
    node_src = _ranges(ptr[graph_ids], n_c)
    node_offset = torch.cumsum(n_c, 0) - n_c
    copy_of_node = torch.repeat_interleave(torch.arange(graph_ids.numel(), device=dev), n_c)
    # edges grouped by graph (sorted by the graph of their source node); collated and edited
    # batches already are, so the sort is skipped for them
    eg = batch.batch[batch.edge_index[0]]
    if bool((eg[1:] >= eg[:-1]).all()):
        e_sorted = batch.edge_index
    else:
        order = torch.argsort(eg, stable=True)
        e_sorted, eg = batch.edge_index[:, order], eg[order]
    e_counts = torch.bincount(eg, minlength=batch.num_graphs)
    e_ptr = torch.cumsum(e_counts, 0) - e_counts
    m_c = e_counts[graph_ids]
    e_src = _ranges(e_ptr[graph_ids], m_c)
    copy_of_edge = torch.repeat_interleave(torch.arange(graph_ids.numel(), device=dev), m_c)
    shift = (node_offset - ptr[graph_ids])[copy_of_edge]
    edge_index = e_sorted[:, e_src] + shift
    return Replicas(batch.x[node_src], edge_index, copy_of_node, node_offset, graph_ids, ptr, n_c, m_c)


def select_graphs(batch: Batch, graph_ids: Tensor) -> Batch:
    """The sub-batch of graphs ``graph_ids`` (in that order) as a regular PyG ``Batch`` carrying
    ``x``, ``edge_index`` and ``y``, built without a Python loop over graphs."""
    rep = replicate(batch, graph_ids)
    n_c, m_c = rep.node_counts, rep.edge_counts
    ptr = torch.cat([n_c.new_zeros(1), torch.cumsum(n_c, 0)])
    sub = Batch(x=rep.x, edge_index=rep.edge_index, y=batch.y[graph_ids.to(batch.y.device)], batch=rep.batch, ptr=ptr)
    sub._num_graphs = graph_ids.numel()
    zeros = torch.zeros(graph_ids.numel(), dtype=torch.long)
    sub._slice_dict = {"x": ptr.cpu(), "edge_index": torch.cat([m_c.new_zeros(1), torch.cumsum(m_c, 0)]).cpu(),
                       "y": torch.arange(graph_ids.numel() + 1)}
    sub._inc_dict = {"x": zeros, "edge_index": ptr[:-1].cpu(), "y": zeros}
    return sub


def copy_flips(rep: Replicas, copy: Tensor, flips: Tensor) -> Tensor:
    """Edge index of the replicas after flipping ``flips[i]`` (source ids) inside copy ``copy[i]``."""
    mapped = torch.stack([rep.map_nodes(copy, flips[:, 0]), rep.map_nodes(copy, flips[:, 1])], dim=1)
    return apply_flips(rep.edge_index, mapped, rep.x.size(0))
