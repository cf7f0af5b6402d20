"""Candidate edge flips for whole batches (no per-graph Python loops, no N×N matrices).

* :func:`existing_pairs` – current undirected edges (deletion candidates);
* :func:`anchor_pairs` – every pair (anchor, v) with v in the anchor's graph: ``Σ_anchors |V_g|``
  pairs, bounded by choosing few anchors per graph;
* :func:`top_nodes` – the ``k`` best nodes of every graph by a score;
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.data import Batch

from cama.edits import EditList, pair_keys, undirected_edges

from .base import top_per_graph

#: candidates per graph re-scored by one batched victim query in CAMA structure attacks: at least
#: DEFAULT_RERANK, and up to DEFAULT_RERANK_NODES / |V_g| for small graphs (bounded work per graph)
DEFAULT_RERANK = 32
DEFAULT_RERANK_NODES = 4096
#: nodes per batched forward over single-flip copies. Small on purpose: with glibc, every tensor
#: over ~32 MB is a fresh mmap whose pages fault in on first touch and is unmapped on free; chunks
#: of 2M nodes spent as much time in the kernel as computing (DD GCN cama-node: 19.3 s → 8.1 s,
#: NCI1 GAT: 10.9 s → 4.2 s with 20k)
RERANK_CHUNK_NODES = 20_000


def existing_pairs(batch: Batch) -> Tensor:
    return undirected_edges(batch.edge_index)


def top_nodes(batch: Batch, score: Tensor, k: int | Tensor) -> Tensor:
    """Global ids of the ``k`` highest-scoring nodes of every graph (fewer in small graphs)."""
    limit = k if isinstance(k, Tensor) else torch.full((batch.num_graphs,), k, device=score.device, dtype=torch.long)
    idx, _ = top_per_graph(batch.batch, score, limit, batch.num_graphs)
    return idx


def anchor_pairs(batch: Batch, anchors: Tensor) -> Tensor:
    """All pairs (a, v), a ∈ anchors, v ≠ a in a's graph, as [P, 2] with u < v (duplicates removed)."""
    if anchors.numel() == 0:
        return torch.zeros(0, 2, dtype=torch.long, device=batch.x.device)
    ptr = batch.ptr.to(anchors.device)
    g = batch.batch[anchors]
    sizes = ptr[g + 1] - ptr[g]
    rep_anchor = torch.repeat_interleave(anchors, sizes)
    offsets = torch.arange(int(sizes.sum()), device=anchors.device) - torch.repeat_interleave(
        torch.cumsum(sizes, 0) - sizes, sizes)
    other = torch.repeat_interleave(ptr[g], sizes) + offsets
    keep = rep_anchor != other
    u, v = rep_anchor[keep], other[keep]
    keys = torch.unique(pair_keys(u, v, batch.num_nodes))
    n = batch.num_nodes
    return torch.stack([keys // n, keys % n], dim=1)


def random_pairs(batch: Batch, per_graph: Tensor, gen: torch.Generator) -> Tensor:
    """About ``per_graph[g]`` uniformly random distinct pairs u ≠ v inside each graph g."""
    dev = batch.x.device
    ptr = batch.ptr.to(dev)
    sizes = ptr[1:] - ptr[:-1]
    draws = torch.where(sizes > 1, 2 * per_graph + 8, torch.zeros_like(per_graph))
    g = torch.repeat_interleave(torch.arange(batch.num_graphs, device=dev), draws)
    n = sizes[g].double()
    u = ptr[g] + (torch.rand(g.numel(), generator=gen, device=dev) * n).long()
    v = ptr[g] + (torch.rand(g.numel(), generator=gen, device=dev) * n).long()
    keep = u != v
    u, v = u[keep], v[keep]
    keys = pair_keys(u, v, batch.num_nodes)
    # unique, keeping random order: rank by first occurrence
    uniq, inv = torch.unique(keys, return_inverse=True)
    first = torch.full((uniq.numel(),), keys.numel(), dtype=torch.long, device=dev).scatter_reduce(
        0, inv, torch.arange(keys.numel(), device=dev), reduce="amin")
    first = torch.sort(first)[0]
    nn = batch.num_nodes
    return torch.stack([keys[first] // nn, keys[first] % nn], dim=1)


def rerank_by_queries(ctx, batch: Batch, pairs: Tensor, score: Tensor, pool: int,
                      pool_nodes: int = DEFAULT_RERANK_NODES, max_nodes: int = RERANK_CHUNK_NODES) -> Tensor:
    """Re-score the best ``max(pool, pool_nodes // |V_g|)`` pairs of every graph g by the model's
    true-class margin after flipping that pair alone (one batched forward over all single-flip
    copies, chunked to ``max_nodes`` nodes). Pooled pairs rank first (lowest margin first), the
    rest keep their order."""
    from cama.model_api import call_model
    from cama.replicate import GraphSlicer, copy_flips

    from .base import true_class_margin

    if pairs.numel() == 0:  # single-node graphs only: nothing to re-score
        return score
    graph = batch.batch[pairs[:, 0]]
    sizes = (batch.ptr[1:] - batch.ptr[:-1]).to(pairs.device)
    limit = torch.clamp(torch.div(pool_nodes, sizes.clamp(min=1), rounding_mode="floor"), min=pool)
    idx, _ = top_per_graph(graph, score, limit, batch.num_graphs)
    margins = torch.empty(idx.numel(), device=pairs.device)
    cost = torch.cumsum(sizes[graph[idx]], 0)
    start, slicer = 0, GraphSlicer(batch)
    with torch.no_grad():
        while start < idx.numel():
            stop = max(start + 1, int(torch.searchsorted(cost, cost[start] - sizes[graph[idx[start]]] + max_nodes)))
            chunk = idx[start:stop]
            rep = slicer.replicate(graph[chunk])
            ei = copy_flips(rep, torch.arange(chunk.numel(), device=pairs.device), pairs[chunk])
            x = ctx.featurizer(rep.x, ei, rep.x.size(0)) if ctx.featurizer.structural else rep.x
            logits = call_model(ctx.model, x, ei, rep.batch)
            margins[start:stop] = true_class_margin(logits, batch.y[graph[chunk]])
            start = stop
    ctx.queries += torch.bincount(graph[idx], minlength=batch.num_graphs)
    # pooled pairs above all others (lowest margin first); float64 keeps the order of the rest exact
    new = score.double()
    new[idx] = new.max() + 1 + (margins.max() - margins).double()
    return new


def ranked_flips(ctx, batch: Batch, pairs: Tensor, score: Tensor, params: dict, struct_limit: Tensor) -> EditList:
    """The best ``struct_limit[g]`` candidate pairs of every graph g as ranked flips, after
    re-scoring by victim queries (:func:`rerank_by_queries`) when the attack's ``rerank`` pool
    (default DEFAULT_RERANK; 0 = off) is positive."""
    if ctx.constrained:  # drop the candidates the active constraints forbid on the current graph
        ok = ctx.allowed(batch, pairs)
        pairs, score = pairs[ok], score[ok]
    pool = int(params.get("rerank", DEFAULT_RERANK))
    if pool > 0:
        score = rerank_by_queries(ctx, batch, pairs, score, pool, int(params.get("rerank_nodes", DEFAULT_RERANK_NODES)))
    keep, rank = top_per_graph(batch.batch[pairs[:, 0]], score, struct_limit, batch.num_graphs)
    return EditList.from_flips(batch, pairs[keep], rank)
