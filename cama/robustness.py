"""One-call robustness report for any GNN graph classifier (RobustBench-style).

``evaluate_robustness(model, dataset, attacks="all", budgets=(0.05, 0.1, 0.2))`` measures clean
accuracy on the seeded stratified test split and, for every applicable attack × budget, the
accuracy under attack and the attack success rate. Attacks that cannot run on the model are
skipped with the reason (feature attacks on structure-derived features; gradient attacks on a
forward without ``edge_weight``; importance attacks without a reachable message-passing layer).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import pandas as pd
import torch
from torch_geometric.data import Batch

from .budget import parse_budgets
from .data import GraphDataset, load_dataset
from .device import resolve_device
from .errors import CamaError
from .evaluate import check_logits, evaluate_attack
from .model_api import accepts_edge_weight, call_model, model_device
from .splits import stratified_split


@dataclass
class RobustnessReport:
    name: str
    dataset: str
    clean_acc: float
    n_test: int
    records: list[dict] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    edge_weights: str = ""  #: the edge-weight probe's verdict (:func:`edge_weight_status`)

    def to_frame(self) -> pd.DataFrame:
        cols = ["attack", "budget_kind", "budget", "adv_acc", "asr", "n_attacked", "mean_edge_flips",
                "mean_feature_edits", "seconds_per_graph", "queries_per_graph"]
        return pd.DataFrame([{c: r[c] for c in cols} for r in self.records], columns=cols)

    def to_markdown(self) -> str:
        df = self.to_frame()
        lines = [f"# Robustness of {self.name} on {self.dataset}", "",
                 f"Clean accuracy: {self.clean_acc:.3f} on {self.n_test} test graphs; {self.seconds:.1f} s in all.", ""]
        if self.edge_weights:
            lines += [f"Edge-weight probe: {self.edge_weights}.", ""]
        if len(df):
            wide = df.pivot_table(index="attack", columns="budget", values=["adv_acc", "asr"], sort=False)
            wide.columns = [f"{v}@{b:g}" for v, b in wide.columns]
            lines.append(wide.to_markdown(floatfmt=".3f"))
        if self.skipped:
            lines += ["", "Skipped:"] + [f"- `{k}`: {v}" for k, v in self.skipped.items()]
        return "\n".join(lines) + "\n"


def check_model_output(model: torch.nn.Module, dataset: GraphDataset, device: torch.device) -> None:
    """One forward on a few real graphs: logits must be [num_graphs, num_classes] and finite."""
    batch = Batch.from_data_list(dataset.graphs[:4]).to(device)
    try:
        with torch.no_grad():
            logits = call_model(model, batch.x, batch.edge_index, batch.batch)
    except CamaError:
        raise
    except Exception as exc:
        raise CamaError(f"The model fails on a batch of {dataset.name} graphs ({type(exc).__name__}: "
                        f"{str(exc)[:200]}); its forward must be (x, edge_index, batch[, edge_weight]).") from exc
    check_logits(logits, batch.num_graphs, dataset.num_classes)


def edge_weight_status(model: torch.nn.Module, dataset: GraphDataset) -> str:
    """One line on whether gradient attacks optimise this very model (:mod:`cama.relaxation`)."""
    from .relaxation import probe_relaxation

    if not accepts_edge_weight(model):
        return "no edge_weight argument: gradient attacks are skipped"
    relaxation = probe_relaxation(model, dataset.graphs)
    if relaxation.faithful:
        return "passed: edge weights are a faithful relaxation, gradient attacks optimise this model"
    return f"failed ({relaxation.reason}): gradient attacks are skipped unless --allow-unfaithful"


def skip_reason(attack, model: torch.nn.Module, dataset: GraphDataset, cam_layer: str | None,
                allow_unfaithful: bool = False) -> str | None:
    from .importance import find_cam_layers
    from .relaxation import probe_relaxation

    reason = attack.inapplicable(dataset.featurizer)
    if reason:
        return reason
    if attack.needs_edge_weight and not accepts_edge_weight(model):
        return "needs gradients w.r.t. edges; the model's forward takes no edge_weight"
    if attack.needs_edge_weight and not allow_unfaithful:
        relaxation = probe_relaxation(model, dataset.graphs)
        if not relaxation.faithful:
            return (f"the model's edge weights are not a faithful relaxation: {relaxation.reason}; a gradient "
                    "attack would optimise another model (README \"Edge weights\"; --allow-unfaithful runs it anyway)")
    if attack.uses_importance:
        try:
            find_cam_layers(model, cam_layer)
        except CamaError as exc:
            return str(exc)
    return None


def evaluate_robustness(model: torch.nn.Module, dataset: GraphDataset | str, attacks="all",
                        budgets=(0.05, 0.1, 0.2), budget_kind: str = "ratio", device: str = "auto", seed: int = 0,
                        split: dict | None = None, name: str = "custom", cam_layer: str | None = None,
                        max_graphs: int | None = None, data_root=None, allow_unfaithful: bool = False,
                        train=False, allow_weak: bool = False) -> RobustnessReport:
    """Robustness report of ``model`` (see module docstring). ``split`` defaults to the seeded
    stratified 80/10/10 split (the one ``cama train`` uses for the same seed).

    The model is attacked **as given**: pass a trained model, or ``train=True`` (or a
    :class:`victims.train.TrainConfig`) to train it first on the split's training graphs with early
    stopping on its validation graphs, as ``cama evaluate`` does. A model whose clean accuracy is at
    or below the test graphs' majority-class rate is refused (its ASRs would say nothing) unless
    ``allow_weak``. Gradient attacks are skipped, with the failed check as the reason, when the
    model's edge weights fail the edge-weight contract (:mod:`cama.relaxation`), unless
    ``allow_unfaithful``. Attack names and budgets are checked before any training or attack; an
    exception raised inside the model's forward is one :class:`cama.user_model.ModelFailure`."""
    from attacks import ATTACKS, make_attacks

    from .evaluate import check_max_graphs, predict
    from .user_model import ModelFailure, check_not_trivial, model_phase

    ds = load_dataset(dataset, root=data_root) if isinstance(dataset, str) else dataset
    dev = resolve_device(device) if device != "auto" or model_device(model).type == "cpu" else model_device(model)
    names = list(ATTACKS) if attacks == "all" else ([attacks] if isinstance(attacks, str) else list(attacks))
    atks = make_attacks(names, {})
    budget_list = parse_budgets(list(budgets) if not isinstance(budgets, str) else budgets, budget_kind)
    max_graphs = check_max_graphs(max_graphs)
    model = model.to(dev).eval()
    check_model_output(model, ds, dev)
    split = split or stratified_split(ds.y, seed=seed)
    if train:
        from victims.train import TrainConfig, train_model

        with model_phase(name, "training"):
            train_model(model, ds, split, train if isinstance(train, TrainConfig) else TrainConfig(), seed, dev,
                        progress=False, desc=f"train {name}")
        model.eval()
    report = RobustnessReport(name=name, dataset=ds.name, clean_acc=float("nan"), n_test=len(split["test"]))
    test = ds[split["test"]]
    labels = torch.cat([g.y.view(-1) for g in test])
    with model_phase(name, "prediction of the clean test graphs"):
        report.clean_acc = float((predict(model, test, dev) == labels).float().mean())
    check_not_trivial(name, report.clean_acc, labels, allow_weak)
    start = time.perf_counter()
    with model_phase(name, "the edge-weight probe"):
        report.edge_weights = edge_weight_status(model, ds)
    for atk in atks:
        with model_phase(name, f"the checks before attack {atk.name}"):
            reason = skip_reason(atk, model, ds, cam_layer, allow_unfaithful)
        if reason:
            report.skipped[atk.name] = reason
            continue
        try:
            with model_phase(name, f"attack {atk.name}"):
                out = evaluate_attack(model, ds, split["test"], atk, budget_list, victim_name=name, victim_seed=seed,
                                      seed=seed, max_graphs=max_graphs, cam_layer=cam_layer)
        except ModelFailure:
            raise
        except CamaError as exc:
            report.skipped[atk.name] = str(exc)
            continue
        report.records.extend(out.records)
    report.seconds = time.perf_counter() - start
    return report
