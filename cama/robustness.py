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

    def to_frame(self) -> pd.DataFrame:
        cols = ["attack", "budget_kind", "budget", "adv_acc", "asr", "n_attacked", "mean_edge_flips",
                "mean_feature_edits", "seconds_per_graph", "queries_per_graph"]
        return pd.DataFrame([{c: r[c] for c in cols} for r in self.records], columns=cols)

    def to_markdown(self) -> str:
        df = self.to_frame()
        lines = [f"# Robustness of {self.name} on {self.dataset}", "",
                 f"Clean accuracy: {self.clean_acc:.3f} on {self.n_test} test graphs; {self.seconds:.1f} s in all.", ""]
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
                        max_graphs: int | None = None, data_root=None, allow_unfaithful: bool = False
                        ) -> RobustnessReport:
    """Robustness report of ``model`` (see module docstring). ``split`` defaults to the seeded
    stratified 80/10/10 split (the one ``cama train`` uses for the same seed). Gradient attacks are
    skipped, with the failed check as the reason, when the model's edge weights fail the
    edge-weight contract (:mod:`cama.relaxation`), unless ``allow_unfaithful``."""
    from attacks import ATTACKS, make_attacks

    ds = load_dataset(dataset, root=data_root) if isinstance(dataset, str) else dataset
    dev = resolve_device(device) if device != "auto" or model_device(model).type == "cpu" else model_device(model)
    model = model.to(dev).eval()
    check_model_output(model, ds, dev)
    names = list(ATTACKS) if attacks == "all" else ([attacks] if isinstance(attacks, str) else list(attacks))
    budget_list = parse_budgets(list(budgets) if not isinstance(budgets, str) else budgets, budget_kind)
    split = split or stratified_split(ds.y, seed=seed)
    report = RobustnessReport(name=name, dataset=ds.name, clean_acc=float("nan"), n_test=len(split["test"]))
    start = time.perf_counter()
    for atk in make_attacks(names, {}):
        reason = skip_reason(atk, model, ds, cam_layer, allow_unfaithful)
        if reason:
            report.skipped[atk.name] = reason
            continue
        try:
            out = evaluate_attack(model, ds, split["test"], atk, budget_list, victim_name=name, victim_seed=seed,
                                  seed=seed, max_graphs=max_graphs, cam_layer=cam_layer)
        except CamaError as exc:
            report.skipped[atk.name] = str(exc)
            continue
        report.records.extend(out.records)
        report.clean_acc = out.records[0]["clean_acc"]
    if report.clean_acc != report.clean_acc:  # nothing ran: still report clean accuracy
        from .evaluate import predict
        test = ds[split["test"]]
        preds = predict(model, test, dev)
        report.clean_acc = float((preds == torch.cat([g.y.view(-1) for g in test])).float().mean())
    report.seconds = time.perf_counter() - start
    return report
