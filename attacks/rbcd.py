"""``prbcd`` and ``grbcd``: (Projected / Greedy) Randomized Block Coordinate Descent (Geisler et
al., NeurIPS 2021) on a whole PyG ``Batch`` of graphs at once. (Longer than the house's ~300
lines on purpose: both attacks share the block machinery — candidate blocks, projection,
discrete evaluation — and splitting it would scatter one algorithm over modules.)

PyG's ``PRBCDAttack`` / ``GRBCDAttack`` attack one graph per call (``prbcd-pyg`` / ``grbcd-pyg``,
the reference implementations). Here every graph ``g`` of the batch gets its own candidate
block — ``min(block_size, n_g(n_g−1)/2)`` pairs drawn uniformly with replacement from the pairs
*inside* g and made unique, as PyG draws them (never a pair across graphs, never an N × N
matrix) — its own budget ``B_g`` (``ρ·|E_g|``), learning rate, projection and resampling, and
one forward (+ backward) of the victim serves all graphs. The relaxed graph is the victim's own
edge-weight contract (:mod:`victims.models`): a block pair has weight ``p`` when absent from the
clean graph and ``1 − p`` when present, every other edge weight 1. Since the graphs of a batch
do not interact and every loss below is a sum of per-graph terms, each graph's gradient is the
one it would have alone.

**PRBCD** (per budget; PyG's defaults: 125 epochs, resampling during the first 100, lr 1000,
loss = probability margin, ε = 1e-7, 20 final samples):

* ``p ← p + lr_g ∇_p L`` with ``lr_g = B_g / n_g · lr / sqrt(max(0, epoch − 100) + 1)``;
* projection onto ``{p ∈ [ε, 1 − ε] : Σ clip(p, 0, 1) ≤ B_g}`` per graph: the shift μ_g of
  ``clip(p − μ_g, 0, 1)`` found by bisection, vectorised over graphs (``BISECTION_STEPS``);
* every epoch, the top-``B_g`` pairs of each graph are evaluated as a discrete graph and each
  graph keeps its best block (early stopping, PyG's ``with_early_stopping``);
* before epoch 100, each graph keeps the heavier half of its block (at least all pairs with
  ``p > ε``) and redraws the rest; at epoch 100 and at the end it returns to its best block;
* final sampling: the top-``B_g`` pairs, then 19 Bernoulli(p) samples; per graph the sample with
  the highest loss among those within ``B_g`` flips.

**GRBCD** (ranked: PyG's loss = cross entropy, 125 epochs): for ``B_g ≤ 125`` each graph flips
one pair per step (``B_g`` steps), else ``B_g // 125`` (+1 in the first ``B_g mod 125`` steps);
each step draws a fresh block per graph at weight ε, takes one gradient and flips each graph's
highest-gradient pairs. The flips, in greedy order, are a ranked list: a smaller budget is a
prefix. One deviation from PyG, stated: a pair flipped earlier is not a candidate again (PyG may
flip it back, which spends two budget units on no change).

**A graph the attacker sees fooled leaves** (a stated deviation from PyG, which runs every
epoch and step whatever the prediction): PRBCD's per-epoch discrete graph that fools the victim
(:func:`~attacks.base.stop_mask`: misclassified; in transfer mode, the surrogate fooled by the
margin κ) becomes that graph's answer and its pairs leave the block, and a graph fooled at a
smaller budget keeps that answer at the larger ones; GRBCD stops flipping a graph once the flips
so far fool it (one no-grad forward per step, counted as a query). The success criterion is
misclassification and the evaluation is monotone in the budget, so this changes the cost, not
what counts as fooled — except that GRBCD can no longer flip a fooled graph back (its ASR can
only rise). Under domain constraints (:mod:`cama.constraints`) PRBCD keeps every epoch, since
its unfiltered top-B set may lose flips to the filter. ``benchmarks/rbcd_batched.py``: 2–12×
less time than PyG's per-graph attacks, ASR level or higher; about half of the batched time is
the victim's own forward and backward passes, which bounds any batched RBCD's speed-up at
PyG's schedule (PROTEINS GCN: 3.5× GRBCD, 11× PRBCD).

Discrete evaluations (early stopping, final samples, GRBCD's graph between steps) recompute
structure-derived features (IMDB's degree one-hot) exactly as the evaluator does; relaxed
gradient steps use the features of the discrete graph they start from.

**Shared random streams.** One seeded generator serves the batch, so which pairs a graph draws
depends on the graphs before it in the batch (and on the chunking). Its flips therefore differ
with the batch composition, not its distribution: ``benchmarks/rbcd_batched.py`` runs each
cell with two chunk sizes and shows that the ASR stays level.

Chunks: graphs are attacked in chunks of at most ``max_block`` candidate pairs in total
(default 2M), so peak memory is bounded on DD's and REDDIT's big graphs.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.data import Batch

from cama.budget import Budget
from cama.edits import EditList, apply_edits, apply_flips, pair_keys, undirected_edges
from cama.model_api import call_model
from cama.progress import progress_bar
from cama.replicate import select_graphs

from .base import Attack, AttackResult, rank_within_graph, stop_mask

EPS = 1e-7
BISECTION_STEPS = 64
BISECTION_TOLERANCE = 1e-5
DEFAULT_BLOCK = 250_000
MAX_BLOCK_PER_CHUNK = 2_000_000
BITMAP_FACTOR = 16


# --- candidate blocks --------------------------------------------------------------------------

def possible_pairs(sizes: Tensor) -> Tensor:
    """``n(n−1)/2`` per graph (int64)."""
    return sizes * (sizes - 1) // 2


def triu_pairs(lin: Tensor, n: Tensor) -> tuple[Tensor, Tensor]:
    """Row-major linear index into the strict upper triangle of an ``n × n`` matrix → (row, col),
    with ``n`` per element (PyG's ``_linear_to_triu_idx``, vectorised over graph sizes). The row
    from the closed form's float64 square root can be off by one at a row boundary (the rounding of
    ``sqrt`` differs between vectorised and scalar code paths, so it even varies between runs); it
    is corrected with exact integer row starts ``s(r) = r(2n − r − 1)/2``."""
    nn = (n * (n - 1)).double()
    lin_d = lin.double()
    row = (n - 2 - torch.floor(torch.sqrt(-8 * lin_d + 4 * nn - 7) / 2.0 - 0.5)).long()
    row = torch.minimum(torch.clamp(row, min=0), n - 2)

    def start(r: Tensor) -> Tensor:
        return r * (2 * n - r - 1) // 2

    row = torch.where(lin < start(row), row - 1, row)
    row = torch.where(lin >= start(row + 1), row + 1, row)
    col = lin - start(row) + row + 1
    return row, col


class Blocks:
    """Per-graph candidate pairs of one batch: ``graph`` [P], local ``lin`` index [P] (sorted by
    (graph, lin)), global node pairs ``pairs`` [P, 2] with u < v, and ``weight`` [P]."""

    def __init__(self, batch: Batch, graph: Tensor, lin: Tensor, weight: Tensor, pairs: Tensor | None = None):
        self.graph, self.lin, self.weight = graph, lin, weight
        if pairs is None:
            ptr = batch.ptr.to(graph.device)
            row, col = triu_pairs(lin, (ptr[1:] - ptr[:-1])[graph])
            pairs = torch.stack([row, col], 1) + ptr[graph].unsqueeze(1)
        self.pairs = pairs

    @staticmethod
    def draw(batch: Batch, count: Tensor, gen: torch.Generator, keep: Blocks | None = None) -> Blocks:
        """``count[g]`` uniform draws (with replacement) of pairs inside each graph g, made unique,
        united with the pairs of ``keep`` (which keep their weights; new pairs get ``EPS``); sorted
        by (graph, lin). Made unique through a bitmap over all possible pairs of the batch when
        there are at most :data:`BITMAP_FACTOR` × as many as draws (PROTEINS-sized graphs, whose
        blocks cover most of their pairs: no sort), else through ``torch.unique`` — the same pairs."""
        dev = count.device
        ptr = batch.ptr.to(dev)
        possible = possible_pairs(ptr[1:] - ptr[:-1])
        count = torch.where(possible > 0, count, torch.zeros_like(count))
        g = torch.repeat_interleave(torch.arange(count.numel(), device=dev), count)
        lin = (torch.rand(g.numel(), generator=gen, device=dev, dtype=torch.float64) * possible[g]).long()
        lin = torch.minimum(lin, possible[g] - 1)
        ends = torch.cumsum(possible, 0)
        offset = ends - possible
        keys = offset[g] + lin
        if keep is not None:
            keys = torch.cat([offset[keep.graph] + keep.lin, keys])
        total = int(ends[-1]) if ends.numel() else 0
        if total <= BITMAP_FACTOR * max(keys.numel(), 1):
            mark = torch.zeros(total, dtype=torch.bool, device=dev)
            mark[keys] = True
            uniq = mark.nonzero().squeeze(1)
        else:
            uniq = torch.unique(keys)
        w = torch.full((uniq.numel(),), EPS, device=dev)
        if keep is not None and keep.lin.numel():
            w[torch.searchsorted(uniq, offset[keep.graph] + keep.lin)] = keep.weight
        graph = torch.searchsorted(ends, uniq, right=True)
        return Blocks(batch, graph, uniq - offset[graph], w)

    def subset(self, batch: Batch, mask: Tensor) -> Blocks:
        return Blocks(batch, self.graph[mask], self.lin[mask], self.weight[mask], self.pairs[mask])

    @staticmethod
    def cat(batch: Batch, parts: list[Blocks]) -> Blocks:
        """The pairs of all ``parts`` (no order is implied between or within graphs)."""
        return Blocks(batch, *(torch.cat([getattr(b, k) for b in parts]) for k in ("graph", "lin", "weight", "pairs")))


def edge_keys(edge_index: Tensor, num_nodes: int) -> Tensor:
    """Sorted keys of the undirected edges (u < v) of ``edge_index``."""
    e = undirected_edges(edge_index)
    return torch.sort(pair_keys(e[:, 0], e[:, 1], num_nodes))[0]


def directed_order(edge_index: Tensor, n: int) -> tuple[Tensor, Tensor]:
    """(sorted keys ``src·n + dst``, the permutation that sorts them) of a directed edge list."""
    keys = edge_index[0] * n + edge_index[1]
    order = torch.argsort(keys)
    return keys[order], order


def relaxed_graph(edge_index: Tensor, n: int, blocks: Blocks, p: Tensor, present: Tensor,
                  lookup: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
    """Edge list and weights of the relaxed graph: clean edges weight 1, except block pairs that
    are clean edges (weight ``1 − p``); absent block pairs added with weight ``p``; both directions.
    ``lookup``: :func:`directed_order` of ``edge_index`` when already known."""
    ei = edge_index
    w = torch.ones(ei.size(1), device=ei.device, dtype=p.dtype)
    if present.any():
        sorted_keys, order = lookup if lookup is not None else directed_order(ei, n)
        u, v = blocks.pairs[present, 0], blocks.pairs[present, 1]
        fwd = order[torch.searchsorted(sorted_keys, u * n + v)]
        bwd = order[torch.searchsorted(sorted_keys, v * n + u)]
        w = w.index_put((torch.cat([fwd, bwd]),), torch.cat([1 - p[present], 1 - p[present]]))
    add = blocks.pairs[~present]
    ei = torch.cat([ei, add.t(), add.t().flip(0)], 1)
    w = torch.cat([w, p[~present], p[~present]])
    return ei, w


def is_present(blocks: Blocks, keys_sorted: Tensor, num_nodes: int) -> Tensor:
    if keys_sorted.numel() == 0 or blocks.pairs.numel() == 0:
        return torch.zeros(blocks.pairs.size(0), dtype=torch.bool, device=blocks.pairs.device)
    q = pair_keys(blocks.pairs[:, 0], blocks.pairs[:, 1], num_nodes)
    pos = torch.searchsorted(keys_sorted, q).clamp(max=keys_sorted.numel() - 1)
    return keys_sorted[pos] == q


def prob_margin(logits: Tensor, y: Tensor) -> Tensor:
    """Per graph: max_{c≠y} softmax_c − softmax_y (PyG's ``prob_margin`` loss; higher = stronger)."""
    prob = F.softmax(logits, -1)
    true = prob.gather(1, y.view(-1, 1)).squeeze(1)
    other = prob.scatter(1, y.view(-1, 1), float("-inf")).amax(1)
    return other - true


def top_k_per_graph(blocks: Blocks, score: Tensor, k: Tensor, num_graphs: int) -> Tensor:
    """Bool mask of each graph's ``k[g]`` highest-scoring block pairs (ties: the earlier pair).
    When no graph takes more than one (GRBCD's steps below 125 flips), the per-graph maximum and
    the first pair that reaches it come from two scatter reductions instead of two sorts."""
    graph = blocks.graph
    if score.numel() and int(k.max()) <= 1:
        best = torch.full((num_graphs,), float("-inf"), device=score.device, dtype=score.dtype)
        best = best.scatter_reduce(0, graph, score, reduce="amax")
        idx = torch.arange(score.numel(), device=score.device)
        at_best = torch.where(score == best[graph], idx, torch.full_like(idx, score.numel()))
        first = torch.full((num_graphs,), score.numel(), device=score.device).scatter_reduce(0, graph, at_best, reduce="amin")
        return (idx == first[graph]) & (k[graph] > 0)
    rank = rank_within_graph(graph, score, num_graphs)
    return rank < k[graph]


def top_k_weights(blocks: Blocks, weight: Tensor, k: Tensor, num_graphs: int) -> Tensor:
    """:func:`top_k_per_graph` for scores in [0, 1] (relaxed weights): one sort of the float64 key
    ``graph + (1 − w) / 2`` orders graphs, and within each graph the weights descending."""
    if weight.numel() == 0:
        return torch.zeros_like(weight, dtype=torch.bool)
    order = torch.argsort(blocks.graph.double() + (1 - weight.double().clamp(0, 1)) / 2)
    g = blocks.graph[order]
    counts = torch.bincount(g, minlength=num_graphs)
    pos = torch.arange(order.numel(), device=weight.device) - (torch.cumsum(counts, 0) - counts)[g]
    mask = torch.empty_like(weight, dtype=torch.bool)
    mask[order] = pos < k[g]
    return mask


# --- the attacks -------------------------------------------------------------------------------

class _BatchedRBCD(Attack):
    needs_edge_weight = True
    knowledge = "gradients"
    defaults = {"epochs": 125, "block_size": DEFAULT_BLOCK, "max_block": MAX_BLOCK_PER_CHUNK}

    def _epochs(self) -> int:
        return self.param("epochs")

    def _block_size(self) -> int:
        return self.param("block_size")

    def _sizes(self, ctx, budget: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Per graph: possible pairs ``n(n−1)/2``, the budget capped by them, and the block size
        ``min(block_size, possible)`` (0 without budget)."""
        b = ctx.batch
        possible = possible_pairs((b.ptr[1:] - b.ptr[:-1]).to(ctx.device))
        budget = torch.minimum(budget.to(ctx.device), possible)
        block = torch.where(budget > 0, torch.minimum(possible, torch.full_like(possible, self._block_size())),
                            torch.zeros_like(possible))
        return possible, budget, block

    @staticmethod
    def _allowed(ctx, blocks: Blocks) -> Blocks:
        """The block pairs the active constraints allow as single flips on the clean graph."""
        return blocks if not ctx.constrained else blocks.subset(ctx.batch, ctx.allowed(ctx.batch, blocks.pairs))

    def _features(self, ctx, batch: Batch, edge_index: Tensor) -> Tensor:
        return ctx.featurizer(batch.x, edge_index, batch.num_nodes) if ctx.featurizer.structural else batch.x

    def _chunks(self, ctx, ids: Tensor):
        """Chunks of the graphs ``ids`` whose blocks hold at most ``max_block`` pairs in all."""
        b = ctx.batch
        sizes = (b.ptr[1:] - b.ptr[:-1]).to(ctx.device)[ids]
        cost = torch.minimum(possible_pairs(sizes), torch.full_like(sizes, self._block_size())).tolist()
        cap = self.param("max_block")
        start, acc = 0, 0
        for i, c in enumerate(cost):
            if i > start and acc + c > cap:
                yield ids[start:i]
                start, acc = i, 0
            acc += c
        if start < len(cost):
            yield ids[start:]

    def _over_chunks(self, ctx, limit: Tensor, solve, ids: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Run ``solve(sub_ctx, sub_limit) -> (flips [F, 2] sub-batch ids, rank [F])`` per chunk of
        the graphs ``ids`` (default all); flips come back in ``ctx.batch``'s node ids."""
        b = ctx.batch
        if ids is None:
            ids = torch.arange(b.num_graphs, device=ctx.device)
        flips = [torch.zeros(0, 2, dtype=torch.long, device=ctx.device)]
        ranks = [torch.zeros(0, dtype=torch.long, device=ctx.device)]
        chunks = list(self._chunks(ctx, ids)) if ids.numel() else []
        whole = len(chunks) == 1 and ids.numel() == b.num_graphs
        with progress_bar(len(chunks), self.name, enabled=len(chunks) > 1) as advance:
            for part in chunks:
                sub = ctx if whole else ctx.restrict(select_graphs(b, part), part)
                f, r = solve(sub, limit[part])
                if sub is not ctx:
                    ctx.queries[part] += sub.queries
                    g = sub.batch.batch[f[:, 0]] if f.numel() else f.new_zeros(0)
                    f = f + (b.ptr.to(ctx.device)[part] - sub.batch.ptr.to(ctx.device)[:-1])[g].unsqueeze(1)
                flips.append(f)
                ranks.append(r)
                advance()
        return torch.cat(flips), torch.cat(ranks)


class PRBCD(_BatchedRBCD):
    name = "prbcd"
    description = "PRBCD (Geisler et al. 2021) on a whole batch: per-graph blocks, budgets and projections"
    ranked = False

    defaults = _BatchedRBCD.defaults | {"epochs_resampling": 100, "lr": 1000.0, "final_samples": 20}

    def attack_budget(self, ctx, struct_limit, feat_limit):
        return EditList.from_flips(ctx.batch, *self._over_chunks(ctx, struct_limit, self._solve))

    def run(self, ctx, budgets: list[Budget]) -> AttackResult:
        """Every budget in increasing order; a graph the attacker sees done (:func:`stop_mask` of
        its discrete solution) keeps that solution at every larger budget instead of being attacked
        again — what the monotone evaluation would count for it anyway, so only the cost changes."""
        self.check_edge_weight(ctx)
        b = ctx.batch
        alive = torch.ones(b.num_graphs, dtype=torch.bool, device=ctx.device)
        kept_f = torch.zeros(0, 2, dtype=torch.long, device=ctx.device)
        kept_r = torch.zeros(0, dtype=torch.long, device=ctx.device)
        out = {}
        order = sorted(budgets, key=lambda x: x.value)
        for i, budget in enumerate(order):
            s_lim, _ = self.limits(ctx, budget)
            f, r = self._over_chunks(ctx, s_lim, self._solve, alive.nonzero(as_tuple=True)[0])
            edits = EditList.from_flips(b, torch.cat([kept_f, f]), torch.cat([kept_r, r]))
            out[budget] = edits
            if i + 1 < len(order) and alive.any():
                _, done = ctx.judge(apply_edits(b, ctx.enforce(edits), ctx.featurizer))
                ctx.queries += alive.long()
                newly = done & alive
                keep = newly[b.batch[f[:, 0]]] if f.numel() else torch.zeros(0, dtype=torch.bool, device=ctx.device)
                kept_f, kept_r = torch.cat([kept_f, f[keep]]), torch.cat([kept_r, r[keep]])
                alive &= ~done
        return AttackResult(per_budget={x: out[x] for x in budgets})

    def _solve(self, ctx, budget: Tensor) -> tuple[Tensor, Tensor]:
        b, dev = ctx.batch, ctx.device
        G = b.num_graphs
        sizes = (b.ptr[1:] - b.ptr[:-1]).to(dev)
        _, budget, block = self._sizes(ctx, budget)
        epochs, resampling, lr0 = self._epochs(), self.param("epochs_resampling"), self.param("lr")
        gen = ctx.generator(11)
        keys = edge_keys(b.edge_index, b.num_nodes)
        lookup = directed_order(b.edge_index, b.num_nodes)
        x = b.x
        blocks = self._allowed(ctx, Blocks.draw(b, block, gen))
        best = blocks
        best_metric = torch.full((G,), float("-inf"), device=dev)
        active = budget > 0
        done_pairs = torch.zeros(0, 2, dtype=torch.long, device=dev)  # flips of graphs that left early
        for epoch in range(epochs):
            if not active.any():
                break
            present = is_present(blocks, keys, b.num_nodes)
            p = blocks.weight.clone().requires_grad_(True)
            with torch.enable_grad():
                ei, w = relaxed_graph(b.edge_index, b.num_nodes, blocks, p, present, lookup)
                loss = prob_margin(call_model(ctx.model, x, ei, b.batch, w), b.y)
                grad, = torch.autograd.grad(loss.sum(), p)
            ctx.queries += active.long()
            lr = budget.double() / sizes.clamp(min=1).double() * lr0 / math.sqrt(max(0, epoch - resampling) + 1)
            blocks.weight = project(blocks.weight + lr[blocks.graph].float() * grad, blocks.graph, budget, G)
            # early stopping: the discrete top-B graph of this block, per graph
            chosen = top_k_weights(blocks, blocks.weight, budget, G)
            metric, done = self._discrete_metric(ctx, blocks, chosen)
            if ctx.constrained:  # the unfiltered top-B set may lose flips to the constraints: no early exit
                done = torch.zeros_like(done)
            ctx.queries += active.long()
            better = (metric > best_metric) & active
            if better.any():
                best_metric = torch.where(better, metric, best_metric)
                best = Blocks.cat(b, [best.subset(b, ~better[best.graph]), blocks.subset(b, better[blocks.graph])])
            done &= active
            if done.any():  # seen fooled: this discrete graph is the graph's answer; it leaves the optimisation
                done_pairs = torch.cat([done_pairs, blocks.pairs[chosen & done[blocks.graph]]])
                active &= ~done
                block = torch.where(done, torch.zeros_like(block), block)
                blocks, best = (x_.subset(b, active[x_.graph]) for x_ in (blocks, best))
            if epoch < resampling - 1:
                blocks = self._allowed(ctx, self._resample(b, blocks, block, gen))
            elif epoch == resampling - 1:
                blocks = Blocks(b, best.graph, best.lin, best.weight.clone(), best.pairs)
        flips = self._final_sample(ctx, best, torch.where(active, budget, torch.zeros_like(budget)), gen)
        flips = torch.cat([done_pairs, flips])
        graph = b.batch[flips[:, 0]] if flips.numel() else flips.new_zeros(0)
        return flips, rank_within_graph(graph, -torch.arange(graph.numel(), device=dev).double(), G)

    @torch.no_grad()
    def _discrete_metric(self, ctx, blocks: Blocks, chosen: Tensor) -> tuple[Tensor, Tensor]:
        """Per graph, the loss of the discrete graph with the ``chosen`` flips, and whether the
        attacker sees it done (:func:`stop_mask` at the context's margin)."""
        b = ctx.batch
        ei = apply_flips(b.edge_index, blocks.pairs[chosen], b.num_nodes)
        logits = call_model(ctx.model, self._features(ctx, b, ei), ei, b.batch)
        return prob_margin(logits, b.y), stop_mask(logits, b.y, ctx.stop_margin)

    @staticmethod
    def _resample(batch: Batch, blocks: Blocks, block: Tensor, gen: torch.Generator) -> Blocks:
        """Keep each graph's heavier half (at least every pair above ε), redraw the rest."""
        G = block.numel()
        size = torch.bincount(blocks.graph, minlength=G)
        heavy = torch.bincount(blocks.graph[blocks.weight > EPS], minlength=G)
        keep_n = torch.maximum(heavy, size - size // 2)
        keep_n = torch.minimum(keep_n, size)
        keep = top_k_weights(blocks, blocks.weight, keep_n, G)
        kept = blocks.subset(batch, keep)
        return Blocks.draw(batch, torch.clamp(block - keep_n, min=0), gen, keep=kept)

    @torch.no_grad()
    def _final_sample(self, ctx, blocks: Blocks, budget: Tensor, gen) -> Tensor:
        """The flips of the best sample per graph (PyG's final sampling; module docstring)."""
        b = ctx.batch
        G = b.num_graphs
        if not bool((budget > 0).any()):
            return torch.zeros(0, 2, dtype=torch.long, device=ctx.device)
        w = torch.where(blocks.weight <= EPS, torch.zeros_like(blocks.weight), blocks.weight)
        best_metric = torch.full((G,), float("-inf"), device=ctx.device)
        best_choice = torch.zeros_like(w, dtype=torch.bool)
        for i in range(self.param("final_samples")):
            if i == 0:
                choice = top_k_weights(blocks, w, budget, G)
            else:
                choice = torch.bernoulli(w, generator=gen).bool()
            used = torch.bincount(blocks.graph[choice], minlength=G)
            ok = used <= budget
            metric, _ = self._discrete_metric(ctx, blocks, choice & ok[blocks.graph])
            ctx.queries += (budget > 0).long()
            better = ok & (metric > best_metric)
            best_metric = torch.where(better, metric, best_metric)
            upd = better[blocks.graph]
            best_choice = torch.where(upd, choice, best_choice)
        return blocks.pairs[best_choice]


def project(values: Tensor, graph: Tensor, budget: Tensor, num_graphs: int) -> Tensor:
    """Per graph g, the projection of ``values`` onto ``{Σ clip(v, 0, 1) ≤ B_g}``: ``clip(v − μ_g)``
    with μ_g = 0 when the sum already fits, else found by bisection on ``[min(v) − 1, max(v)]``
    (only over-budget graphs, all at once, until every interval is below PyG's 1e-5); finally clipped
    to ``[ε, 1 − ε]`` as in PyG.

    A value ``v ≤ lo_g`` adds exactly 0 to its graph's sum at every later midpoint (the lower end
    only rises), so it leaves the bisection once the lower end passes it: the sums, and so μ, are
    bit for bit those over all values, while the bisection soon runs on the few values near μ_g
    (after a gradient step two thirds of a block are ≤ 0 and under 1 % end above μ_g). On CUDA
    the values are kept (each compaction would be one more host round trip per step)."""
    if values.numel() == 0:
        return values
    b = budget.to(values.dtype)
    mass = torch.zeros(num_graphs, device=values.device).index_add_(0, graph, values.clamp(0, 1))
    over = mass > b
    if over.any():
        sel = over[graph].nonzero(as_tuple=True)[0]
        v, g = values[sel], graph[sel]
        lo = torch.full((num_graphs,), float("inf"), device=values.device).scatter_reduce(0, g, v - 1, reduce="amin")
        hi = torch.full((num_graphs,), float("-inf"), device=values.device).scatter_reduce(0, g, v, reduce="amax")
        lo, hi = torch.where(over, lo, 0.0), torch.where(over, hi, 0.0)
        for _ in range(BISECTION_STEPS):
            mid = (lo + hi) / 2
            s = torch.zeros(num_graphs, device=values.device).index_add_(0, g, (v - mid[g]).clamp(0, 1))
            too_much = s > b
            lo = torch.where(too_much, mid, lo)
            hi = torch.where(too_much, hi, mid)
            if float((hi - lo).max()) < BISECTION_TOLERANCE:
                break
            if not v.is_cuda:  # a compaction is a host round trip: worth it on the CPU only
                live = v > lo[g]
                if int(live.sum()) < 0.7 * v.numel():  # drop the values that can only add 0 from now on
                    v, g = v[live], g[live]
        mu = torch.where(over, hi, torch.zeros_like(hi))  # hi: the feasible side
        values = values - mu[graph]
    return values.clamp(EPS, 1 - EPS)


class GRBCD(_BatchedRBCD):
    name = "grbcd"
    description = "GRBCD (greedy RBCD) on a whole batch; greedy order = ranked list"

    def rank(self, ctx, batch, struct_limit, feat_limit):
        return EditList.from_flips(ctx.batch, *self._over_chunks(ctx, struct_limit, self._solve))

    def _solve(self, ctx, budget: Tensor) -> tuple[Tensor, Tensor]:
        b, dev = ctx.batch, ctx.device
        G = b.num_graphs
        _, budget, block = self._sizes(ctx, budget)
        epochs = self._epochs()
        step = torch.div(budget, epochs, rounding_mode="floor")
        extra = budget % epochs
        steps = torch.where(step > 0, torch.full_like(budget, epochs), budget)
        gen = ctx.generator(13)
        edge_index = b.edge_index
        flips = []
        flipped_keys = torch.zeros(0, dtype=torch.long, device=dev)
        done = torch.zeros(G, dtype=torch.bool, device=dev)
        for t in range(int(steps.max()) if G else 0):
            active = (steps > t) & ~done
            x = self._features(ctx, b, edge_index)
            if t > 0:  # graphs the attacker sees fooled by the flips so far take no more
                with torch.no_grad():
                    done |= stop_mask(call_model(ctx.model, x, edge_index, b.batch), b.y, ctx.stop_margin) & active
                ctx.queries += active.long()
                active &= ~done
            if not active.any():
                break
            k = torch.where(step > 0, step + (t < extra).long(), torch.ones_like(step)) * active.long()
            blocks = Blocks.draw(b, torch.where(active, block, torch.zeros_like(block)), gen)
            if blocks.lin.numel() == 0:
                break
            keys = edge_keys(edge_index, b.num_nodes)
            present = is_present(blocks, keys, b.num_nodes)
            p = torch.full_like(blocks.weight, EPS).requires_grad_(True)
            with torch.enable_grad():
                ei, w = relaxed_graph(edge_index, b.num_nodes, blocks, p, present)
                loss = F.cross_entropy(call_model(ctx.model, x, ei, b.batch, w), b.y, reduction="sum")
                grad, = torch.autograd.grad(loss, p)
            ctx.queries += active.long()
            pk = pair_keys(blocks.pairs[:, 0], blocks.pairs[:, 1], b.num_nodes)
            if flipped_keys.numel():  # a pair flipped before is no candidate again
                done_keys = torch.sort(flipped_keys)[0]
                hit = done_keys[torch.searchsorted(done_keys, pk).clamp(max=done_keys.numel() - 1)] == pk
                grad = torch.where(hit, torch.full_like(grad, float("-inf")), grad)
            if ctx.constrained:  # single flips the constraints allow on the current graph
                current = Batch(x=x, edge_index=edge_index, batch=b.batch, ptr=b.ptr)
                grad = torch.where(ctx.allowed(current, blocks.pairs), grad, torch.full_like(grad, float("-inf")))
            chosen = top_k_per_graph(blocks, grad, k, G) & torch.isfinite(grad)
            idx = chosen.nonzero(as_tuple=True)[0]
            if idx.numel() == 0:
                continue
            idx = idx[torch.argsort(grad[idx], descending=True, stable=True)]  # within a step: best first
            new = blocks.pairs[idx]
            flips.append(new)
            flipped_keys = torch.cat([flipped_keys, pk[idx]])
            edge_index = apply_flips(edge_index, new, b.num_nodes)
        if not flips:
            return torch.zeros(0, 2, dtype=torch.long, device=dev), torch.zeros(0, dtype=torch.long, device=dev)
        flips_t = torch.cat(flips)  # greedy order
        graph = b.batch[flips_t[:, 0]]
        return flips_t, rank_within_graph(graph, -torch.arange(flips_t.size(0), device=dev).double(), G)
