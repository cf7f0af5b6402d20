"""The attack interface.

An attack receives an :class:`AttackContext` (victim, clean ``Batch`` of test graphs on the
victim's device, featurizer, lazily computed importance, seeded generator, query counter) and
a list of budgets, and returns an :class:`AttackResult` that yields, per budget, the edits to
apply. *Ranked* attacks produce one ranked :class:`~cama.edits.EditList` for the largest
budget; every smaller budget is a prefix of it. Budget-specific attacks (PRBCD, GRBCD,
genetic) solve each budget separately (``ranked = False``).

Adding an attack = one file defining a subclass + one line in ``attacks.ATTACKS``.

(Longer than the house's ~300 lines on purpose: the context, the threat model, typed
parameters and the adaptive re-scoring loop are the one interface every attack shares.)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch
from torch import Tensor
from torch_geometric.data import Batch

from cama.budget import Budget, graph_sizes
from cama.constraints import ConstraintState
from cama.edits import EditList, apply_edits, dedupe_flips, rank_within_graph
from cama.errors import CamaError
from cama.featurize import Featurizer
from cama.importance import NodeImportance, node_importance
from cama.model_api import call_model
from cama.replicate import select_graphs


@dataclass
class AttackContext:
    """Everything an attack may use. ``model`` computes gradients/importance (the surrogate in
    transfer mode); ``victim`` is what query attacks query (the victim itself in white-box mode,
    the surrogate in transfer mode: the attacker never sees the victim, which is only scored
    afterwards). ``stop_margin`` κ: when the attacker may stop spending budget on a graph
    (:meth:`judge`)."""

    model: torch.nn.Module
    batch: Batch
    featurizer: Featurizer
    seed: int = 0
    victim: torch.nn.Module | None = None
    cam_layer: str | None = None
    queries: Tensor | None = None  # [G] victim/surrogate forward passes per graph
    stop_margin: float = 0.0
    #: active domain constraints of this batch (:mod:`cama.constraints`), None = unconstrained
    constraints: ConstraintState | None = None
    _importance: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.victim is None:
            self.victim = self.model
        if self.queries is None:
            self.queries = torch.zeros(self.batch.num_graphs, dtype=torch.long, device=self.batch.x.device)
        self.nodes, self.edges = graph_sizes(self.batch)

    @property
    def device(self) -> torch.device:
        return self.batch.x.device

    def restrict(self, batch: Batch, ids: Tensor) -> AttackContext:
        """A context for ``batch`` = graphs ``ids`` of this context's batch (e.g. the graphs still
        under attack, possibly edited) with the same models, featurizer, seed and constraints, and
        its own query counter and importance cache."""
        sub = None if self.constraints is None else self.constraints.select(ids)
        return AttackContext(model=self.model, batch=batch, featurizer=self.featurizer, seed=self.seed,
                             victim=self.victim, cam_layer=self.cam_layer, stop_margin=self.stop_margin,
                             constraints=sub)

    @property
    def constrained(self) -> bool:
        return self.constraints is not None and bool(self.constraints.names)

    def allowed(self, batch: Batch, pairs: Tensor) -> Tensor:
        """Bool per candidate pair of ``batch`` (this context's graphs, possibly edited): may it
        be flipped alone under the active constraints? (All True when unconstrained.)"""
        if not self.constrained:
            return torch.ones(pairs.size(0), dtype=torch.bool, device=pairs.device)
        return self.constraints.allowed(batch.edge_index, pairs, batch.x if self.featurizer.editable else None)

    def enforce(self, edits: EditList) -> EditList:
        """``edits`` on this context's clean batch, filtered by the active constraints."""
        return self.constraints.enforce(self.batch, edits) if self.constrained else edits

    def generator(self, salt: int = 0) -> torch.Generator:
        gen = torch.Generator(device=self.device)
        gen.manual_seed(self.seed * 1_000_003 + salt)
        return gen

    def importance(self, method: str = "gradcam", batch: Batch | None = None) -> NodeImportance:
        """Node importance for the true class and the runner-up class (cached for the clean batch)."""
        if batch is not None:
            self.queries += 1
            return node_importance(self.model, batch, method, target="true", cam_layer=self.cam_layer)
        if method not in self._importance:
            self.queries += 1
            self._importance[method] = node_importance(self.model, self.batch, method, target="true",
                                                       cam_layer=self.cam_layer)
        return self._importance[method]

    @torch.no_grad()
    def margins(self, batch: Batch, model: torch.nn.Module | None = None) -> Tensor:
        """True-class margin ``y_true − max_{c≠true} y_c`` per graph (negative = misclassified)."""
        logits = call_model(model or self.victim, batch.x, batch.edge_index, batch.batch)
        return true_class_margin(logits, batch.y)

    @torch.no_grad()
    def judge(self, batch: Batch) -> tuple[Tensor, Tensor]:
        """``(margin, done)`` per graph under ``model``: the true-class logit margin, and whether
        the attacker may stop spending budget on the graph (:func:`stop_mask`)."""
        logits = call_model(self.model, batch.x, batch.edge_index, batch.batch)
        return true_class_margin(logits, batch.y), stop_mask(logits, batch.y, self.stop_margin)


def stop_mask(logits: Tensor, y: Tensor, kappa: float) -> Tensor:
    """Whether an attacker who sees ``logits`` is done with each graph. ``κ = 0`` (white box, the
    attacker sees the victim): as soon as it is misclassified. ``κ > 0`` (transfer mode, the
    attacker sees a surrogate): only once the surrogate's probability margin
    ``p_true − max_{c≠true} p_c`` is below ``−κ`` — a barely fooled surrogate says little about
    the victim, so the attack keeps spending its budget; ``κ ≥ 1`` never stops early."""
    if kappa <= 0:
        return true_class_margin(logits, y) < 0
    return true_class_margin(logits.softmax(-1), y) < -kappa


def features_not_editable(featurizer: Featurizer) -> str | None:
    """Why node features cannot be attacked (structure-derived), or None when they can."""
    if featurizer.editable:
        return None
    return (f"Feature attacks need node features, but this dataset's features are derived from structure "
            f"({featurizer.kind}); use a structure attack (e.g. cama-node) instead.")


def require_editable_features(featurizer: Featurizer) -> None:
    reason = features_not_editable(featurizer)
    if reason:
        raise CamaError(reason)


def true_class_margin(logits: Tensor, y: Tensor) -> Tensor:
    true = logits.gather(1, y.view(-1, 1)).squeeze(1)
    other = logits.clone()
    other.scatter_(1, y.view(-1, 1), float("-inf"))
    return true - other.max(1).values


@dataclass
class AttackResult:
    """Per-budget edits. ``ranked`` holds one list served by prefixes; ``per_budget`` one list per budget."""

    ranked: EditList | None = None
    per_budget: dict[Budget, EditList] = field(default_factory=dict)


KNOWLEDGE = ("gradients", "queries", "none")


@dataclass(frozen=True)
class ThreatModel:
    """What an attack uses and what it changes. ``knowledge``: ``gradients`` (white box: the
    model's gradients or weights, e.g. Graph-CAM, PRBCD), ``queries`` (only the victim's output
    scores, e.g. the genetic attack), ``none`` (neither: random, degree). ``targets``:
    ``structure`` and/or ``features``. Records carry both."""

    knowledge: str
    targets: frozenset[str]

    @property
    def target_group(self) -> str:
        """``structure``, ``features`` or ``both`` (the leaderboard's column groups)."""
        return "both" if len(self.targets) == 2 else next(iter(self.targets))


#: One line of help per parameter name (the same name means the same thing in every attack that
#: takes it); ``cama attacks`` prints them and a test checks that no parameter lacks one.
PARAM_HELP = {
    "anchors": "nodes per graph whose pairs are candidates (the most important / highest-degree ones)",
    "add_weight": "weight of edge additions against deletions when candidate flips are scored",
    "rerank": "candidate flips per graph re-scored by querying each single-flip copy (0 = off)",
    "rerank_nodes": "re-score up to this many nodes' worth of copies per graph (more candidates on small graphs)",
    "hops": "radius of the ego-net subgraphs",
    "subgraphs": "ego-nets per graph attacked",
    "mode": "cut the subgraph's edges, rewire it to runner-up nodes, or both",
    "structure": "which CAMA structure attack the combined attack uses (node or subgraph)",
    "epsilon": "L∞ radius of continuous-attribute edits, in feature-std units",
    "steps": "projected-gradient steps on continuous attributes (step 2.5·ε/steps)",
    "chunks": "greedy feature attack: spend the node budget in this many chunks, the gradient re-computed after each",
    "rank_by": "order feature edits by importance, first-order margin gain, or their product",
    "full_pairs": "graphs up to this many nodes take every pair as a candidate",
    "population": "genetic: flip sets per generation",
    "generations": "genetic: generations",
    "mutation": "genetic: probability to mutate each flip",
    "epochs": "optimisation steps (PRBCD epochs; GRBCD greedy steps at most)",
    "epochs_resampling": "PRBCD: epochs with block resampling",
    "lr": "PRBCD: base learning rate (scaled per graph by budget / nodes)",
    "final_samples": "PRBCD: Bernoulli samples drawn at the end",
    "block_size": "candidate pairs per graph and block",
    "max_block": "candidate pairs per batch chunk (memory bound)",
    "rounds": "re-score importance this many times, each after an equal chunk of the budget",
    "adaptive_every": "re-score importance every k flips instead (0 = off)",
}


def _coerce(attack: str, key: str, value, default, choices: tuple | None):
    """``value`` (from a CLI string, TOML or Python) as the type of ``default``, or one clear error."""
    kind = type(default)
    try:
        if kind is bool and isinstance(value, str):
            if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(value)
            out = value.lower() in ("true", "1", "yes")
        elif kind is int and isinstance(value, float) and not value.is_integer():
            raise ValueError(value)
        else:
            out = kind(value)
    except (TypeError, ValueError):
        raise CamaError(f"Attack '{attack}': parameter {key} must be {kind.__name__} (default {default!r}), "
                        f"got {value!r}.") from None
    if choices is not None and out not in choices:
        raise CamaError(f"Attack '{attack}': parameter {key} must be one of {', '.join(map(str, choices))}, "
                        f"got {value!r}.")
    if kind in (int, float) and out < 0:
        raise CamaError(f"Attack '{attack}': parameter {key} must be ≥ 0, got {value!r}.")
    return out


class Attack:
    """Base class. Subclasses set ``name``, ``targets``, ``knowledge``, their parameters'
    ``defaults`` and implement :meth:`rank` (ranked) or :meth:`attack_budget` (``ranked = False``)."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    targets: ClassVar[frozenset[str]] = frozenset({"structure"})  # "structure" and/or "features"
    knowledge: ClassVar[str] = "none"  # see ThreatModel
    ranked: ClassVar[bool] = True
    needs_edge_weight: ClassVar[bool] = False
    #: every parameter the attack takes → its default (the default's type is the parameter's type)
    defaults: ClassVar[dict[str, object]] = {}
    #: allowed values of string parameters
    choices: ClassVar[dict[str, tuple]] = {}
    #: where a user attack came from ({"file", "class", "sha256"}; None for built-in attacks)
    external: ClassVar[dict | None] = None

    #: default number of re-scoring rounds (0 = one pass); CAMA structure attacks use 8. An attack
    #: with ``default_rounds > 0`` takes the ``rounds`` / ``adaptive_every`` schedule.
    default_rounds: ClassVar[int] = 0

    def __init__(self, adaptive_every: int = 0, importance: str = "gradcam", rounds: int | None = None, **params):
        unknown = set(params) - set(self.defaults)
        if unknown:
            raise CamaError(f"Attack '{self.name}' has no parameter(s) {sorted(unknown)}; "
                            f"known: {', '.join(sorted(self.defaults)) or 'none'}.")
        self.params = {k: _coerce(self.name, k, v, self.defaults[k], self.choices.get(k)) for k, v in params.items()}
        self.adaptive_every = _coerce(self.name, "adaptive_every", adaptive_every, 0, None)
        rounds = None if rounds is None else _coerce(self.name, "rounds", rounds, 0, None)
        if self.adaptive_every and rounds is not None and rounds > 1:
            raise CamaError(f"Attack '{self.name}': pass either rounds={rounds} (budget in equal chunks) or "
                            f"adaptive_every={self.adaptive_every} (re-score every k flips), not both.")
        if self.adaptive_every and not self.has_rounds():
            raise CamaError(f"Attack '{self.name}' does not re-score between flips; --adaptive-every applies to "
                            "the CAMA attacks and the importance-free search.")
        self.rounds = 0 if self.adaptive_every else (self.default_rounds if rounds is None else rounds)
        self.importance_method = importance
        #: counters an attack reports in its records (``attack_stats``), e.g. PyG sampling failures
        self.stats: dict[str, int] = {}

    @classmethod
    def has_rounds(cls) -> bool:
        return cls.default_rounds > 0

    @classmethod
    def param_names(cls) -> tuple[str, ...]:
        return tuple(cls.defaults)

    @classmethod
    def threat_model(cls) -> ThreatModel:
        return ThreatModel(cls.knowledge, cls.targets)

    def param(self, key: str):
        """The effective value of parameter ``key`` (given or default)."""
        return self.params.get(key, self.defaults[key])

    def describe_params(self) -> dict:
        """Every effective parameter, defaults included (records and run ids hold them all, so a
        changed default re-runs a cell instead of reusing an old record)."""
        out = dict(self.defaults) | self.params
        if self.uses_importance:
            out["importance"] = self.importance_method
        if self.has_rounds():
            out["rounds"] = self.rounds
            out["adaptive_every"] = self.adaptive_every
        if self.external is not None:  # a changed file is a different attack
            out["source_sha256"] = self.external["sha256"][:16]
        return out

    uses_importance: ClassVar[bool] = False

    def inapplicable(self, featurizer: Featurizer) -> str | None:
        """Why this attack cannot run on data with ``featurizer`` (feature-only attack on
        structure-derived features), or None."""
        return features_not_editable(featurizer) if self.targets == frozenset({"features"}) else None

    # --- limits -------------------------------------------------------------------------
    def limits(self, ctx: AttackContext, budget: Budget) -> tuple[Tensor | None, Tensor | None]:
        s = budget.structure_limit(ctx.edges) if "structure" in self.targets else None
        f = budget.feature_limit(ctx.nodes) if "features" in self.targets else None
        return s, f

    # --- running ------------------------------------------------------------------------
    def check_edge_weight(self, ctx: AttackContext) -> None:
        if self.needs_edge_weight:
            from cama.model_api import accepts_edge_weight
            if not accepts_edge_weight(ctx.model):
                raise CamaError(f"Attack '{self.name}' needs gradients w.r.t. edges, but "
                                f"{type(ctx.model).__name__}.forward takes no edge_weight; add `edge_weight=None` "
                                "to its forward or pick a gradient-free attack.")

    def run(self, ctx: AttackContext, budgets: list[Budget]) -> AttackResult:
        self.check_edge_weight(ctx)
        if not self.ranked:
            return AttackResult(per_budget={b: self.attack_budget(ctx, *self.limits(ctx, b)) for b in budgets})
        return self.run_ranked(ctx, budgets)

    def run_ranked(self, ctx: AttackContext, budgets: list[Budget]) -> AttackResult:
        """One ranked edit list for the largest budget (:meth:`rank`, re-scored by the schedule)."""
        s_lim, f_lim = self.limits(ctx, max(budgets, key=lambda b: b.value))
        if (self.adaptive_every > 0 or self.rounds > 1) and "structure" in self.targets:
            return AttackResult(ranked=self._adaptive(ctx, s_lim, f_lim))
        return AttackResult(ranked=self.rank(ctx, ctx.batch, s_lim, f_lim))

    def rank(self, ctx: AttackContext, batch: Batch, struct_limit: Tensor | None, feat_limit: Tensor | None
             ) -> EditList:
        """Ranked edits for ``batch`` with at most the given number per graph."""
        raise NotImplementedError

    def attack_budget(self, ctx: AttackContext, struct_limit: Tensor | None, feat_limit: Tensor | None) -> EditList:
        raise NotImplementedError

    def _adaptive(self, ctx: AttackContext, s_lim: Tensor, f_lim: Tensor | None) -> EditList:
        """Re-score on the perturbed graph every ``adaptive_every`` flips, or in ``rounds`` equal
        chunks of each graph's budget. Chunk i's flips rank after chunk i-1's, so the prefix
        property holds; a pair flipped earlier is never flipped back (a repeat is dropped).

        Before every later chunk the graphs are checked with the edits so far: the flips, and for
        attacks that also edit features the same share ``⌈f·done/s⌉`` of the feature budget ``f``
        as the flips have used of the structure budget ``s`` (what a budget that allows these
        flips would also allow). A graph the attacker sees as done (:meth:`AttackContext.judge`:
        misclassified; in transfer mode, fooled by a margin) then receives no further flips. Only the graphs still under attack are
        re-scored: each chunk runs on the sub-batch of those graphs (:func:`select_graphs`), so a
        round costs what is left to attack, not the whole batch."""
        if self.rounds > 1:
            chunk = torch.clamp(torch.div(s_lim + self.rounds - 1, self.rounds, rounding_mode="floor"), min=1)
        else:
            chunk = torch.full_like(s_lim, self.adaptive_every)
        first = self.rank(ctx, ctx.batch, torch.minimum(s_lim, chunk), f_lim)
        flips, keys = [first.flips], [first.flip_rank]
        done = chunk.clone()
        ptr = ctx.batch.ptr.to(ctx.device)
        while True:
            active = (s_lim > done).nonzero(as_tuple=True)[0]
            if active.numel() == 0:
                break
            so_far = EditList.from_flips(ctx.batch, torch.cat(flips), torch.cat(keys))
            if f_lim is not None and first.feat_node.numel():
                # the feature edits that go with the flips so far: the same share of the feature budget
                share = torch.div(f_lim * torch.minimum(done, s_lim) + s_lim - 1, s_lim.clamp(min=1), rounding_mode="floor")
                keep = first.feat_rank < share[ctx.batch.batch[first.feat_node]]
                so_far = so_far.with_features(first.feat_node[keep], first.feat_value[keep], first.feat_rank[keep])
            current = select_graphs(apply_edits(ctx.batch, ctx.enforce(so_far), ctx.featurizer), active)
            _, fooled = ctx.judge(current)
            ctx.queries[active] += 1
            done[active[fooled]] = s_lim[active[fooled]]
            alive = (~fooled).nonzero(as_tuple=True)[0]
            if alive.numel() == 0:
                break
            ids = active[alive]
            sub = ctx.restrict(select_graphs(current, alive), ids)
            nxt = self.rank(sub, sub.batch, torch.minimum(s_lim - done, chunk)[ids], None)
            ctx.queries[ids] += sub.queries
            g_sub = sub.batch.batch[nxt.flips[:, 0]]
            flips.append(nxt.flips + (ptr[ids] - sub.batch.ptr[:-1])[g_sub].unsqueeze(1))
            keys.append(nxt.flip_rank + done[ids][g_sub])
            done[ids] += chunk[ids]
        all_flips, all_keys = torch.cat(flips), torch.cat(keys)
        keep = dedupe_flips(all_flips, all_keys.double(), ctx.batch.num_nodes)
        all_flips, all_keys = all_flips[keep], all_keys[keep]
        graph = ctx.batch.batch[all_flips[:, 0]]
        rank = rank_within_graph(graph, -all_keys.double(), ctx.batch.num_graphs)
        return EditList(all_flips, rank, first.feat_node, first.feat_value, first.feat_rank)


def top_per_graph(graph: Tensor, score: Tensor, limit: Tensor, num_graphs: int) -> tuple[Tensor, Tensor]:
    """Indices of the best ``limit[g]`` items of each graph g, and their ranks."""
    rank = rank_within_graph(graph, score, num_graphs)
    keep = (rank < limit[graph]).nonzero(as_tuple=True)[0]
    return keep, rank[keep]
