"""Evasion evaluation: attack the test graphs a victim classifies correctly.

For every budget b: ``n_success`` = attacked graphs misclassified after the attack's edits within
b (structure-derived features re-computed), ``asr = n_success / n_attacked``,
``adv_acc = clean_acc · (1 − asr)`` (exact when every correct graph is attacked, an estimate
when a seeded sample of ``max_graphs`` is), mean edits actually used, seconds and victim queries
per attacked graph (a ranked attack's one-off cost is shared by all budgets and included in
each; a budget-specific attack — PRBCD, genetic — solves every budget of the run, and each record
carries the cost of all those solves).

**Transfer mode** (``surrogate``): importance, gradients and queries all go to the surrogate —
the attack's context holds no handle on the victim, which is only scored afterwards (one batched
forward per budget). The attacker cannot see whether the victim is fooled, so it stops spending
a graph's budget only when the surrogate is fooled by a probability margin ``transfer_margin``
(κ, :func:`attacks.base.stop_mask`; default :data:`DEFAULT_TRANSFER_MARGIN`, chosen by the sweep
in README). Records carry ``surrogate`` and ``params.transfer_margin``.

**Monotone in the budget.** An attacker allowed b edits may use fewer, so at budget b a graph
counts as fooled when an edit set the attack produced within b fools it: the budgets of the run
are evaluated in increasing order, and a graph the attacker sees fooled at a smaller budget keeps
that adversarial graph (its edits, and the graph saved by ``keep_adversarial``) at every larger
budget. What the attacker sees is the victim's prediction for white-box and query attacks, and
the *surrogate's* (fooled by the margin κ) in transfer mode. Ranked
attacks thus count the prefixes of all budgets ≤ b, budget-specific attacks (PRBCD, genetic)
the solutions of all budgets ≤ b. ``asr_full_prefix`` keeps the plain success of the budget's
own edits, so the difference is visible.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
from torch import Tensor
from torch_geometric.data import Batch, Data

from .budget import Budget
from .stats import wilson
from .constraints import ConstraintState, check_applicable, parse_constraints, unnoticeable_tests
from .data import GraphDataset
from .device import synchronize
from .edits import apply_edits
from .enforce import check_edits
from .errors import CamaError
from .featurize import Featurizer
from .model_api import call_model, model_device
from .progress import progress_bar
from .environment import hardware, packages
from .records import SAMPLE_FROM, SCHEMA, now, run_config, run_id, versions
from .relaxation import Relaxation, probe_relaxation

MAX_CHUNK_NODES = 200_000
#: κ of transfer mode: stop on a graph once the surrogate's probability margin is below −κ
#: (1.0 = never: spend the whole budget). Chosen by the sweep of benchmarks/transfer_margin.py.
DEFAULT_TRANSFER_MARGIN = 1.0


@dataclass
class AttackOutcome:
    """Records (one per budget), the adversarial graphs when kept, and per-graph outcomes:
    ``graph_index`` = dataset index of every attacked graph (in attack order), ``fooled[str(b)]``
    = whether it counts as fooled at budget b (monotone rule), ``flips[str(b)]`` = edge flips used."""

    records: list[dict]
    adversarial: dict[str, list[Data]] = field(default_factory=dict)  # budget label → graphs
    graph_index: list[int] = field(default_factory=list)
    fooled: dict[str, list[bool]] = field(default_factory=dict)
    flips: dict[str, list[int]] = field(default_factory=dict)


@torch.no_grad()
def predict(model: torch.nn.Module, graphs: list[Data], device: torch.device, batch_size: int = 512) -> torch.Tensor:
    """Predicted class of every graph (batched)."""
    preds = []
    for i in range(0, len(graphs), batch_size):
        b = Batch.from_data_list(graphs[i:i + batch_size]).to(device)
        logits = call_model(model, b.x, b.edge_index, b.batch)
        check_logits(logits, b.num_graphs)
        preds.append(logits.argmax(-1).cpu())
    return torch.cat(preds) if preds else torch.zeros(0, dtype=torch.long)


def check_logits(logits, num_graphs: int, num_classes: int | None = None) -> None:
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2 or logits.size(0) != num_graphs or (
            num_classes is not None and logits.size(1) != num_classes):
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        want = f"[{num_graphs}, {num_classes if num_classes is not None else 'num_classes'}]"
        raise CamaError(f"Model output has shape {shape}, expected {want} (one row of logits per graph); "
                        "pool node embeddings per graph (e.g. global_mean_pool(h, batch)) before the head.")
    if not torch.isfinite(logits).all():
        raise CamaError("Model output contains NaN or inf on clean graphs; check the model and its weights.")


def _chunks(graphs: list[Data], max_nodes: int):
    chunk, n = [], 0
    for g in graphs:
        if chunk and n + g.num_nodes > max_nodes:
            yield chunk
            chunk, n = [], 0
        chunk.append(g)
        n += g.num_nodes
    if chunk:
        yield chunk


def split_adversarial(adv: Batch) -> list[Data]:
    return [Data(x=d.x.cpu(), edge_index=d.edge_index.cpu(), y=d.y.cpu()) for d in adv.to_data_list()]


def seeded_sample(n: int, k: int, seed: int) -> list[int]:
    """``k`` of the positions ``0..n-1``, drawn by a permutation seeded by ``seed``, in increasing order."""
    gen = torch.Generator().manual_seed(seed)
    return torch.sort(torch.randperm(n, generator=gen)[:k])[0].tolist()


def check_max_graphs(max_graphs: int | None) -> int | None:
    """The one meaning of a sample size everywhere: ``None`` or 0 = every correct test graph, N > 0 = a
    seeded sample of at most N; anything else is refused."""
    if max_graphs is None or max_graphs == 0:
        return None
    if isinstance(max_graphs, bool) or not isinstance(max_graphs, int) or max_graphs < 0:
        raise CamaError(f"max_graphs must be a positive integer (or 0 for every graph), got {max_graphs!r}.")
    return max_graphs


def evaluate_attack(model: torch.nn.Module, dataset: GraphDataset, test_idx, attack, budgets: list[Budget], *,
                    victim_name: str, victim_seed: int, seed: int = 0, surrogate: torch.nn.Module | None = None,
                    surrogate_name: str | None = None, max_graphs: int | None = None, keep_adversarial: bool = False,
                    cam_layer: str | None = None, progress: bool = False,
                    transfer_margin: float = DEFAULT_TRANSFER_MARGIN, constraints=(), protocol: str = "seeds",
                    sample_from: str = "correct") -> AttackOutcome:
    """Run ``attack`` on the correctly classified graphs of ``dataset[test_idx]`` for all ``budgets``
    (under the domain ``constraints`` of :mod:`cama.constraints`, e.g. ``"valence,connected"``);
    ``victim_seed`` is the victim's fold under ``protocol="cv10"`` (:func:`cama.records.run_config`).

    ``max_graphs`` attacks a sample seeded by ``seed``: of ``max_graphs`` correctly classified test
    graphs (``sample_from="correct"``), or of ``max_graphs`` test graphs of which the correctly
    classified ones are attacked (``"test"``: the same graphs for every victim of the split, recorded
    as ``sampled_ids``, so two victims' per-graph outcomes pair)."""
    from attacks.base import AttackContext, AttackResult, stop_mask

    max_graphs = check_max_graphs(max_graphs)
    if sample_from not in SAMPLE_FROM:
        raise CamaError(f"sample_from must be one of {', '.join(SAMPLE_FROM)}, got {sample_from!r}.")
    constraints = parse_constraints(constraints)
    check_applicable(constraints, dataset)
    tests = unnoticeable_tests(dataset)

    if surrogate is not None and not 0 <= transfer_margin:
        raise CamaError(f"transfer_margin must be ≥ 0 (a probability margin; 1 = never stop early), got {transfer_margin}.")
    kappa = transfer_margin if surrogate is not None else 0.0

    device = model_device(model)
    model.eval()
    if surrogate is not None:
        surrogate.eval()
    test = dataset[test_idx]
    if not test:
        raise CamaError("The test split is empty; use a larger dataset or another split.")
    preds = predict(model, test, device)
    labels = torch.cat([g.y.view(-1) for g in test])
    correct = (preds == labels).nonzero(as_tuple=True)[0].tolist()
    clean_acc, n_correct = len(correct) / len(test), len(correct)
    test_ids = test_idx.tolist() if isinstance(test_idx, torch.Tensor) else list(test_idx)
    sampled_ids = None
    if sample_from == "test" and max_graphs is not None and len(test) > max_graphs:
        drawn = seeded_sample(len(test), max_graphs, seed)
        sampled_ids = sorted(int(test_ids[i]) for i in drawn)
        correct = sorted(set(correct) & set(drawn))
    elif max_graphs is not None and len(correct) > max_graphs:
        correct = [correct[i] for i in seeded_sample(len(correct), max_graphs, seed)]
    targets, target_ids = [test[i] for i in correct], [int(test_ids[i]) for i in correct]
    fooled: dict[str, list[bool]] = {str(b): [] for b in budgets}
    notice: dict[str, dict[str, list]] = {str(b): {} for b in budgets}
    used_flips: dict[str, list[int]] = {str(b): [] for b in budgets}
    featurizer = Featurizer.from_config(dataset.featurizer.to_config())
    relaxation = probe_relaxation(surrogate or model, test) if attack.needs_edge_weight else Relaxation("n/a")
    attack.stats = {}
    epsilon = attack.param("epsilon") if "epsilon" in attack.defaults else None
    stats = {b: {"success_full_prefix": 0, "feats": 0, "eval_s": 0.0, "queries": 0}
             for b in budgets}
    attack_s, attack_queries = 0.0, 0
    adversarial: dict[str, list[Data]] = {str(b): [] for b in budgets} if keep_adversarial else {}
    chunks = list(_chunks(targets, MAX_CHUNK_NODES))
    chunk_ids = _split_like(target_ids, chunks)
    with progress_bar(len(chunks), f"{attack.name} on {len(targets)} graphs", enabled=progress) as advance:
        for chunk, ids in zip(chunks, chunk_ids):
            advance()
            batch = Batch.from_data_list(chunk).to(device)
            attacker = model if surrogate is None else surrogate  # the only model the attack may touch
            state = ConstraintState.build(batch, constraints, dataset, ids)
            ctx = AttackContext(model=attacker, batch=batch, featurizer=featurizer, seed=seed, victim=attacker,
                                cam_layer=cam_layer, stop_margin=kappa, constraints=state)
            t0 = time.perf_counter()
            try:
                result = attack.run(ctx, budgets)
            except CamaError:
                raise
            except Exception as exc:
                if attack.external is None:
                    raise
                raise CamaError(f"Attack '{attack.name}' ({attack.external['file']}) raised "
                                f"{type(exc).__name__}: {str(exc)[:300]}") from exc
            if model.training:  # dropout/batch-norm statistics would make the scores below random
                raise CamaError(f"Attack '{attack.name}' left the victim in training mode; an attack must not "
                                "call model.train().")
            if constraints:  # one place: every attack's output obeys the constraints
                result = AttackResult(ranked=None if result.ranked is None else ctx.enforce(result.ranked),
                                      per_budget={b: ctx.enforce(e) for b, e in result.per_budget.items()})
            synchronize(device)
            attack_s += time.perf_counter() - t0
            attack_queries += int(ctx.queries.sum())
            # budgets in increasing order: a graph fooled (as the attacker sees it) at a smaller budget keeps
            # that adversarial graph at every larger budget (monotone evaluation, module docstring)
            locked = torch.zeros(batch.num_graphs, dtype=torch.bool, device=device)
            locked_wrong = torch.zeros_like(locked)
            locked_flips = torch.zeros(batch.num_graphs, dtype=torch.long, device=device)
            locked_feats = torch.zeros_like(locked_flips)
            locked_graphs: list[Data | None] = [None] * batch.num_graphs
            locked_notice: dict[str, Tensor] = {}
            for b in sorted(budgets, key=lambda b: b.value):
                t0 = time.perf_counter()
                s_lim, f_lim = attack.limits(ctx, b)
                edits = result.ranked if result.ranked is not None else result.per_budget[b]
                edits = edits.prefix(batch, s_lim, f_lim)
                check_edits(attack.name, batch, edits, s_lim, f_lim, featurizer, epsilon)
                adv = apply_edits(batch, edits, featurizer)
                with torch.no_grad():
                    wrong = call_model(model, adv.x, adv.edge_index, adv.batch).argmax(-1) != batch.y
                    seen = wrong if surrogate is None else stop_mask(
                        call_model(surrogate, adv.x, adv.edge_index, adv.batch), batch.y, kappa)
                synchronize(device)
                st = stats[b]
                st["eval_s"] += time.perf_counter() - t0
                nf, nx = edits.counts(batch.num_graphs, batch.batch)
                measured = state.measure(batch, adv, edits.flips)
                for key, val in measured.items():
                    val = torch.where(locked, locked_notice[key], val) if key in locked_notice else val
                    notice[str(b)].setdefault(key, []).extend(val.tolist())
                st["success_full_prefix"] += int(wrong.sum())
                fooled[str(b)] += torch.where(locked, locked_wrong, wrong).tolist()
                used_flips[str(b)] += torch.where(locked, locked_flips, nf).tolist()
                st["feats"] += int(torch.where(locked, locked_feats, nx).sum())
                st["queries"] += batch.num_graphs
                graphs = split_adversarial(adv) if keep_adversarial else None
                new = seen & ~locked
                locked_wrong = torch.where(new, wrong, locked_wrong)
                locked_flips = torch.where(new, nf, locked_flips)
                locked_feats = torch.where(new, nx, locked_feats)
                locked_notice = {k: torch.where(new, v, locked_notice[k]) if k in locked_notice else v
                                 for k, v in measured.items()}
                if keep_adversarial:
                    for g in new.nonzero(as_tuple=True)[0].tolist():
                        locked_graphs[g] = graphs[g]
                    adversarial[str(b)].extend(locked_graphs[g] or graphs[g] for g in range(batch.num_graphs))
                locked |= new
    n_att = len(targets)
    params = run_params(attack, kappa if surrogate is not None else None, constraints)
    records = []
    for b in budgets:
        st = stats[b]
        n_success, flips = sum(fooled[str(b)]), sum(used_flips[str(b)])
        asr = n_success / n_att if n_att else 0.0
        rec = {"schema": SCHEMA} | run_config(dataset.name, victim_name, victim_seed, attack.name, params, b, seed,
                                              surrogate_name, max_graphs, protocol, sample_from) | {
               "targets": sorted(attack.targets),
               "knowledge": attack.knowledge, "relaxation": relaxation.status, "attack_stats": dict(attack.stats),
               "external": attack.external,
               "n_test": len(test), "n_correct": n_correct, "n_attacked": n_att, "n_success": n_success,
               "attacked_ids": sorted(target_ids),
               "fooled_ids": sorted(i for i, f in zip(target_ids, fooled[str(b)]) if f),
               "sampled": sampled_ids is not None or n_att < n_correct,
               **({"sampled_ids": sampled_ids} if sampled_ids is not None else {}), "clean_acc": clean_acc, "adv_acc": clean_acc * (1 - asr), "asr": asr,
               "asr_ci": list(wilson(n_success, n_att)),
               "asr_full_prefix": st["success_full_prefix"] / n_att if n_att else 0.0,
               "mean_edge_flips": flips / n_att if n_att else 0.0,
               "mean_feature_edits": st["feats"] / n_att if n_att else 0.0,
               "seconds_per_graph": (attack_s + st["eval_s"]) / n_att if n_att else 0.0,
               **noticeability(notice[str(b)], fooled[str(b)], tests, _validity_check(dataset)),
               "queries_per_graph": (attack_queries + st["queries"]) / n_att if n_att else 0.0,
               "device": str(device), "versions": versions(), "packages": packages(),
               "hardware": hardware(), "created_at": now()}
        rec["run_id"] = run_id(rec)
        records.append(rec)
    return AttackOutcome(records, adversarial, target_ids, fooled, used_flips)


def _split_like(ids: list[int], chunks: list[list]) -> list[list[int]]:
    out, start = [], 0
    for c in chunks:
        out.append(ids[start:start + len(c)])
        start += len(c)
    return out


def _validity_check(dataset) -> str | None:
    mol = dataset.extra.get("molecules")
    return None if mol is None else mol.check


def noticeability(per_graph: dict[str, list], fooled: list[bool], tests: tuple[str, ...],
                  validity_check: str | None = None) -> dict:
    """Record fields: the share of adversarial graphs passing each test (``valence_ok`` only on
    molecules: RDKit-valid, or the observed-degree rule — ``valence_check`` says which), the mean
    QED change over the valid adversarial molecules (RDKit datasets), the share tested by the degree test, the mean Λ, and
    ``asr_unnoticeable`` = the share of attacked graphs fooled by an adversarial graph that passes
    every test of ``tests`` (:func:`cama.constraints.unnoticeable_tests`)."""
    n = len(fooled)
    share = lambda key: (sum(map(bool, per_graph[key])) / n if n else 0.0) if key in per_graph else None
    passes = [f and all(per_graph[f"{t}_ok"][i] for t in tests if f"{t}_ok" in per_graph)
              for i, f in enumerate(fooled)]
    lr = per_graph.get("degree_lr", [])
    return {"noticeability": {"valence_ok": share("valence_ok"), "degree_ok": share("degree_ok"),
                              "degree_tested": share("degree_tested"), "connected_ok": share("connected_ok"),
                              "mean_degree_lr": sum(lr) / len(lr) if lr else 0.0, "tests": list(tests)}
                             | ({"valence_check": validity_check} if validity_check else {})
                             | ({"qed_change": _mean_over_valid(per_graph)} if "qed_change" in per_graph else {}),
            "asr_unnoticeable": sum(passes) / n if n else 0.0}


def _mean_over_valid(per_graph: dict[str, list]) -> float | None:
    """Mean QED change over the adversarial graphs that are valid molecules (None when none is)."""
    vals = [q for q, ok in zip(per_graph["qed_change"], per_graph["valence_ok"]) if ok]
    return sum(vals) / len(vals) if vals else None


def run_params(attack, transfer_margin: float | None, constraints: tuple[str, ...] = ()) -> dict:
    """The ``params`` of a record (and so of its run id): every effective attack parameter, plus
    ``transfer_margin`` in transfer mode (``None`` = white box, where κ does not exist) and the
    active ``constraints`` (only when there are some: unconstrained run ids stay as they were)."""
    params = attack.describe_params()
    if transfer_margin is not None:
        params = params | {"transfer_margin": transfer_margin}
    return params | {"constraints": ",".join(constraints)} if constraints else params
