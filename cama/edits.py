"""Ranked edit lists and their application to a batch.

An :class:`EditList` holds, for every graph of a clean ``Batch``, ranked edge flips (unordered
node pairs, global node ids, ``u < v``) and ranked feature edits (node, new feature row).
Applying a budget keeps, per graph, the flips with rank < structure limit and the feature edits
with rank < feature limit. Flips are applied as a symmetric difference with the clean edge set
(vectorised for the whole batch), so the result is undirected, loop-free and duplicate-free by
construction; structure-derived features are then recomputed by the featurizer.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch_geometric.data import Batch
from torch_geometric.utils import scatter

from .batching import set_graph_slices
from .featurize import Featurizer


def _empty_long(device, *shape) -> Tensor:
    return torch.zeros(*shape, dtype=torch.long, device=device)


@dataclass
class EditList:
    flips: Tensor        # [F, 2] global node ids, u < v
    flip_rank: Tensor    # [F] rank within the flip's graph, 0 = first
    feat_node: Tensor    # [K] global node ids
    feat_value: Tensor   # [K, d] replacement feature rows
    feat_rank: Tensor    # [K] rank within the node's graph

    @classmethod
    def empty(cls, batch: Batch) -> EditList:
        dev = batch.x.device
        return cls(_empty_long(dev, 0, 2), _empty_long(dev, 0), _empty_long(dev, 0),
                   batch.x.new_zeros(0, batch.x.size(1)), _empty_long(dev, 0))

    @classmethod
    def from_flips(cls, batch: Batch, flips: Tensor, rank: Tensor) -> EditList:
        e = cls.empty(batch)
        e.flips, e.flip_rank = flips, rank
        return e

    def with_features(self, node: Tensor, value: Tensor, rank: Tensor) -> EditList:
        return EditList(self.flips, self.flip_rank, node, value, rank)

    def prefix(self, batch: Batch, struct_limit: Tensor | None, feat_limit: Tensor | None) -> EditList:
        """The edits allowed by per-graph limits (None = no edits of that kind)."""
        b = batch.batch
        if struct_limit is None:
            keep_f = torch.zeros_like(self.flip_rank, dtype=torch.bool)
        else:
            keep_f = self.flip_rank < struct_limit[b[self.flips[:, 0]]]
        if feat_limit is None:
            keep_x = torch.zeros_like(self.feat_rank, dtype=torch.bool)
        else:
            keep_x = self.feat_rank < feat_limit[b[self.feat_node]]
        return EditList(self.flips[keep_f], self.flip_rank[keep_f], self.feat_node[keep_x],
                        self.feat_value[keep_x], self.feat_rank[keep_x])

    def counts(self, num_graphs: int, batch_vec: Tensor) -> tuple[Tensor, Tensor]:
        """(flips per graph, feature-edited nodes per graph)."""
        f = scatter(torch.ones_like(self.flip_rank), batch_vec[self.flips[:, 0]], dim=0, dim_size=num_graphs,
                    reduce="sum")
        x = scatter(torch.ones_like(self.feat_rank), batch_vec[self.feat_node], dim=0, dim_size=num_graphs,
                    reduce="sum")
        return f, x

    def to(self, device) -> EditList:
        return EditList(*(t.to(device) for t in (self.flips, self.flip_rank, self.feat_node, self.feat_value,
                                                 self.feat_rank)))


def pair_keys(u: Tensor, v: Tensor, num_nodes: int) -> Tensor:
    """Unique integer key of the unordered pair {u, v}."""
    lo, hi = torch.minimum(u, v), torch.maximum(u, v)
    return lo * num_nodes + hi


def unique_pairs(pairs: Tensor, num_nodes: int) -> Tensor:
    """Distinct unordered pairs as [P, 2] rows (u < v), sorted lexicographically.

    Same result as ``torch.unique(pairs, dim=0)`` for rows with u < v, through one integer key
    per pair (``torch.unique(dim=0)`` runs per-row comparisons on the CPU, ~50× slower)."""
    if pairs.numel() == 0:
        return pairs.reshape(0, 2)
    keys = torch.unique(pair_keys(pairs[:, 0], pairs[:, 1], num_nodes))
    return torch.stack([keys // num_nodes, keys % num_nodes], dim=1)


def undirected_edges(edge_index: Tensor) -> Tensor:
    """Edges with u < v, one per undirected edge: [E_u, 2]."""
    mask = edge_index[0] < edge_index[1]
    return edge_index[:, mask].t()


def dedupe_flips(flips: Tensor, rank_key: Tensor, num_nodes: int) -> Tensor:
    """Indices of ``flips`` keeping, for every unordered pair, the entry with the smallest ``rank_key``."""
    if flips.numel() == 0:
        return torch.zeros(0, dtype=torch.long, device=flips.device)
    keys = pair_keys(flips[:, 0], flips[:, 1], num_nodes)
    order = torch.argsort(rank_key, stable=True)
    k_sorted = keys[order]
    uniq, inv = torch.unique(k_sorted, return_inverse=True)
    pos = torch.arange(k_sorted.numel(), device=flips.device)
    first = torch.full((uniq.numel(),), k_sorted.numel(), device=flips.device, dtype=torch.long)
    first = first.scatter_reduce(0, inv, pos, reduce="amin")
    return order[first]


def apply_flips(edge_index: Tensor, flips: Tensor, num_nodes: int) -> Tensor:
    """Symmetric difference of an undirected ``edge_index`` with unordered ``flips``; sorted, coalesced."""
    if flips.numel() == 0:
        return edge_index
    both = torch.cat([flips, flips.flip(1)], dim=0).t()
    keys = torch.cat([edge_index[0] * num_nodes + edge_index[1], both[0] * num_nodes + both[1]])
    uniq, counts = torch.unique(keys, return_counts=True)
    kept = uniq[counts % 2 == 1]
    return torch.stack([kept // num_nodes, kept % num_nodes])


def apply_edits(batch: Batch, edits: EditList, featurizer: Featurizer) -> Batch:
    """A new ``Batch`` with ``edits`` applied (call :meth:`EditList.prefix` first for a budget)."""
    n = batch.num_nodes
    edge_index = apply_flips(batch.edge_index, edits.flips, n)
    x = batch.x
    if edits.feat_node.numel():
        x = x.clone()
        x[edits.feat_node] = edits.feat_value.to(x.dtype)
    if featurizer.structural:
        x = featurizer(x, edge_index, n)
    adv = batch.clone()
    adv.edge_index = edge_index
    adv.x = x
    # keep Batch.to_data_list()/index_select valid: recompute the per-graph edge slices
    per_graph = scatter(torch.ones_like(edge_index[0]), batch.batch[edge_index[0]], dim=0,
                        dim_size=batch.num_graphs, reduce="sum")
    stale = tuple(k for k in adv._slice_dict if k.startswith("edge_") and k != "edge_index")
    return set_graph_slices(adv, {"edge_index": per_graph}, drop=stale)


def rank_within_graph(graph: Tensor, score: Tensor, num_graphs: int) -> Tensor:
    """Rank (0 = highest score) of every item among the items of its graph; ties keep input order."""
    if graph.numel() == 0:
        return graph.clone()
    order = torch.argsort(score, descending=True, stable=True)
    order = order[torch.argsort(graph[order], stable=True)]
    g_sorted = graph[order]
    counts = torch.bincount(g_sorted, minlength=num_graphs)
    starts = torch.cumsum(counts, 0) - counts
    pos = torch.arange(order.numel(), device=graph.device) - starts[g_sorted]
    rank = torch.empty_like(pos)
    rank[order] = pos
    return rank


def is_edge(pairs: Tensor, edge_index: Tensor, num_nodes: int) -> Tensor:
    """Bool per pair: is {u, v} an edge of the undirected ``edge_index``?"""
    if pairs.numel() == 0:
        return torch.zeros(0, dtype=torch.bool, device=pairs.device)
    e = undirected_edges(edge_index)
    ekeys = torch.sort(pair_keys(e[:, 0], e[:, 1], num_nodes))[0]
    q = pair_keys(pairs[:, 0], pairs[:, 1], num_nodes)
    if ekeys.numel() == 0:
        return torch.zeros_like(q, dtype=torch.bool)
    pos = torch.searchsorted(ekeys, q).clamp(max=ekeys.numel() - 1)
    return ekeys[pos] == q
