"""``genetic``: black-box evolutionary attack (in the spirit of Dai et al. 2018's GA baseline).

Per graph: a pool of candidate flips (all existing edges plus random non-edges), a population
of ``population`` edit sets of exactly b flips (boolean masks over the pool), fitness = the
victim's true-class margin after the flips (lower is better; victim queries only, each
generation's population evaluated in one batched forward). Next generation: the best half
survive; children take b flips at random from the union of two parents, plus mutation
(each child swaps in random pool flips with probability ``mutation``). Stops after
``generations`` or at the first misclassification. Solved per budget.
"""
from __future__ import annotations

import torch

from cama.edits import EditList, unique_pairs
from cama.model_api import call_model
from cama.progress import progress_bar
from cama.replicate import copy_flips, replicate

from .base import Attack, true_class_margin
from .candidates import random_pairs


class Genetic(Attack):
    name = "genetic"
    description = "black-box genetic algorithm over edge-flip sets, fitness = victim margin"
    ranked = False
    knowledge = "queries"
    defaults = {"population": 16, "generations": 12, "mutation": 0.2}

    def attack_budget(self, ctx, struct_limit, feat_limit):
        b = ctx.batch
        dev = b.x.device
        pop, gens, p_mut = self.param("population"), self.param("generations"), self.param("mutation")
        gen = ctx.generator(7)
        existing = b.edge_index[:, b.edge_index[0] < b.edge_index[1]].t()
        randoms = random_pairs(b, torch.clamp(2 * ctx.edges, min=8), gen)
        cand = unique_pairs(torch.cat([existing, randoms]), b.num_nodes)
        cand = cand[ctx.allowed(b, cand)]  # mutations draw only flips the constraints allow
        out_flips, out_ranks = [], []
        with progress_bar(b.num_graphs, self.name, enabled=b.num_graphs > 5) as advance:
            for gi in range(b.num_graphs):
                lo, hi = int(b.ptr[gi]), int(b.ptr[gi + 1])
                pool = cand[(cand[:, 0] >= lo) & (cand[:, 0] < hi)]
                budget = min(int(struct_limit[gi]), pool.size(0))
                if budget == 0:
                    advance()
                    continue
                best = self._evolve(ctx, gi, pool, budget, pop, gens, p_mut, gen)
                out_flips.append(pool[best])
                out_ranks.append(torch.arange(best.numel(), device=dev))
                advance()
        if not out_flips:
            return EditList.empty(b)
        return EditList.from_flips(b, torch.cat(out_flips), torch.cat(out_ranks))

    def _fitness(self, ctx, gi, pool, masks):
        b = ctx.batch
        rep = replicate(b, torch.full((masks.size(0),), gi, dtype=torch.long, device=b.x.device))
        copy, idx = masks.nonzero(as_tuple=True)
        ei = copy_flips(rep, copy, pool[idx])
        x = ctx.featurizer(rep.x, ei, rep.x.size(0)) if ctx.featurizer.structural else rep.x
        with torch.no_grad():
            logits = call_model(ctx.victim, x, ei, rep.batch)
        ctx.queries[gi] += masks.size(0)
        return true_class_margin(logits, b.y[gi].expand(masks.size(0)))

    def _choose(self, weight, budget, gen):
        """Boolean masks with exactly ``budget`` ones, preferring high ``weight`` (random tie-breaks)."""
        noise = torch.rand(weight.shape, generator=gen, device=weight.device)
        top = torch.topk(weight + noise, budget, dim=1).indices
        return torch.zeros_like(weight, dtype=torch.bool).scatter_(1, top, True)

    def _evolve(self, ctx, gi, pool, budget, pop, gens, p_mut, gen):
        m = pool.size(0)
        dev = pool.device
        masks = self._choose(torch.zeros(pop, m, device=dev), budget, gen)
        fit = self._fitness(ctx, gi, pool, masks)
        for _ in range(gens):
            if float(fit.min()) < 0:
                break
            order = torch.argsort(fit)
            elite = masks[order[: max(2, pop // 2)]]
            n_child = pop - elite.size(0)
            pa = torch.randint(0, elite.size(0), (n_child,), generator=gen, device=dev)
            pb = torch.randint(0, elite.size(0), (n_child,), generator=gen, device=dev)
            union = (elite[pa] | elite[pb]).float()
            mutate = (torch.rand(n_child, m, generator=gen, device=dev) < p_mut / max(budget, 1)).float()
            children = self._choose(union + 2 * mutate, budget, gen)
            child_fit = self._fitness(ctx, gi, pool, children)
            masks = torch.cat([elite, children])
            fit = torch.cat([fit[order[: elite.size(0)]], child_fit])
        return masks[torch.argmin(fit)].nonzero(as_tuple=True)[0]
