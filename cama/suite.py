"""Worst-case robust accuracy over a pinned attack suite (RobustBench/AutoAttack-style).

A test graph counts as *robust at budget b* when the model classifies it correctly and **no**
attack of the suite fools it within b (monotone rule of :mod:`cama.evaluate`)::

    robust_acc(b) = #{g ∈ test : correct(g) ∧ ∀ attack a: ¬fooled_a,b(g)} / #test

Attacks run cheapest first; a graph that an earlier attack already fooled at the smallest
budget (hence at every budget) is not attacked again. That only saves time: such a graph is
non-robust at every budget whatever later attacks do. A graph fooled only at larger budgets stays
under attack, so that a later attack may fool it at a smaller one. Gradient attacks run only when
the model's edge weights pass the edge-weight contract (:mod:`cama.relaxation`); skipped attacks
are listed with their reason. Suite name and version go into every record and report.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch

from .budget import parse_budgets
from .data import GraphDataset
from .errors import CamaError


@dataclass(frozen=True)
class Suite:
    name: str
    version: str
    attacks: tuple[str, ...]  #: cheapest first
    budgets: tuple[float, ...] = (0.05, 0.1, 0.2)

    @property
    def tag(self) -> str:
        return f"{self.name}/{self.version}"


#: Pinned suites. Changing one means a new version (records and reports name it). standard/2 added
#: cama-grad (Graph-CAM anchors, edge-gradient flips; ~20 passes per graph) to standard/1.
SUITES = {
    "standard": Suite("standard", "2", ("cama-grad", "cama-subgraph", "cama-node", "cama", "genetic", "grbcd",
                                        "prbcd")),
}


def get_suite(name: str) -> Suite:
    if name not in SUITES:
        raise CamaError(f"Unknown suite '{name}'; choose one of: {', '.join(SUITES)}.")
    return SUITES[name]


def combine(n_test: int, correct: list[int], fooled_by: dict[str, dict[int, str]]) -> dict[str, float]:
    """Robust accuracy per budget label from the correct graphs and, per budget, the graphs some
    attack fooled (dataset index → first attack that fooled it)."""
    ok = set(correct)
    return {b: (len(ok) - len(ok & set(f))) / n_test if n_test else 0.0 for b, f in fooled_by.items()}


@dataclass
class SuiteReport:
    name: str
    dataset: str
    suite: Suite
    n_test: int
    clean_acc: float
    robust_acc: dict[str, float]
    first_fooled_by: dict[str, dict[int, str]]  #: budget → dataset index → first attack that fooled it
    rows: list[dict] = field(default_factory=list)  #: per attack: graphs attacked, newly fooled per budget
    records: list[dict] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def to_json(self) -> dict:
        return {"model": self.name, "dataset": self.dataset, "suite": self.suite.tag, "n_test": self.n_test,
                "clean_acc": self.clean_acc, "robust_acc": self.robust_acc, "attacks": self.rows,
                "skipped": self.skipped, "first_fooled_by": {b: {str(k): v for k, v in d.items()}
                                                             for b, d in self.first_fooled_by.items()},
                "seconds": self.seconds}

    def to_markdown(self) -> str:
        lines = [f"# Robustness of {self.name} on {self.dataset} — suite `{self.suite.tag}`", "",
                 f"Clean accuracy {self.clean_acc:.3f} on {self.n_test} test graphs; {self.seconds:.1f} s in all. "
                 "Robust accuracy: correct and not fooled by any attack of the suite at that budget. Attacks ran "
                 "cheapest first; a graph fooled at the smallest budget was not attacked again.", "",
                 pd.DataFrame([{"budget": b, "robust accuracy": a} for b, a in self.robust_acc.items()]).to_markdown(
                     index=False, floatfmt=".3f"), "",
                 "Per attack (in suite order): graphs it attacked, and graphs it fooled first at each budget.", "",
                 self.table().to_markdown(index=False, floatfmt=".3f") if self.rows else "(no attack ran)"]
        if self.skipped:
            lines += ["", "Skipped:"] + [f"- `{k}`: {v}" for k, v in self.skipped.items()]
        return "\n".join(lines) + "\n"

    def write(self, folder: str | Path) -> list[Path]:
        """``report.md``, ``report.json`` and one self-contained ``report.html`` (:mod:`cama.page`)
        with the robust-accuracy and per-attack ASR curves."""
        from .records import write_json_atomic, write_text_atomic

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(folder / "report.md", self.to_markdown())
        write_json_atomic(folder / "report.json", self.to_json())
        write_text_atomic(folder / "report.html", self.to_html())
        return [folder / "report.md", folder / "report.json", folder / "report.html"]

    def to_html(self) -> str:
        from .page import esc, inline_markdown, page, static_table

        body = [f"<h1>Robustness of {esc(self.name)} on {esc(self.dataset)}</h1>",
                f'<p class="note">{inline_markdown(self.to_markdown().split(chr(10))[2])}</p>',
                f"<p>Suite <code>{esc(self.suite.tag)}</code>: {esc(', '.join(self.suite.attacks))}.</p>",
                "<h2>Robust accuracy</h2>",
                static_table(pd.DataFrame([{"budget": b, "robust accuracy": a} for b, a in self.robust_acc.items()]),
                             float_format="{:.3f}"),
                "<h2>Per attack</h2>", static_table(self.table(), float_format="{:.3f}") if self.rows else "<p>none</p>",
                f'<img alt="robust accuracy and ASR vs budget" src="{self._plot()}">']
        if self.skipped:
            body += ["<h2>Skipped</h2><ul>"] + [f"<li><code>{esc(k)}</code>: {esc(v)}</li>"
                                                for k, v in self.skipped.items()] + ["</ul>"]
        return page(f"robustness of {self.name}", body)

    def _plot(self) -> str:
        import io

        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from .page import png_data_uri

        budgets = [float(b) for b in self.robust_acc]
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.5))
        a1.plot(budgets, list(self.robust_acc.values()), marker="o", color="black", label="robust (suite)")
        a1.axhline(self.clean_acc, ls="--", color="grey", label="clean")
        a1.set(xlabel="budget ρ", ylabel="accuracy", ylim=(0, 1), title="robust accuracy")
        a1.legend(fontsize=8)
        for rec_attack in dict.fromkeys(r["attack"] for r in self.records):
            mine = sorted((r["budget"], r["asr"]) for r in self.records if r["attack"] == rec_attack)
            a2.plot([b for b, _ in mine], [a for _, a in mine], marker="o", label=rec_attack)
        a2.set(xlabel="budget ρ", ylabel="ASR on the graphs it attacked", ylim=(0, 1), title="per attack")
        a2.legend(fontsize=7)
        buf = io.BytesIO()
        fig.savefig(buf, dpi=80, bbox_inches="tight", format="png")
        plt.close(fig)
        return png_data_uri(buf.getvalue())


def run_suite(model: torch.nn.Module, dataset: GraphDataset, test_idx, suite: Suite | str = "standard", *,
              name: str = "custom", seed: int = 0, budget_kind: str = "ratio", budgets=None,
              cam_layer: str | None = None, allow_unfaithful: bool = False, progress: bool = False) -> SuiteReport:
    """Run ``suite`` against ``model`` on ``dataset[test_idx]`` (see the module docstring)."""
    from attacks import make_attack

    from .evaluate import evaluate_attack, predict
    from .model_api import model_device
    from .robustness import skip_reason

    suite = get_suite(suite) if isinstance(suite, str) else suite
    budget_list = parse_budgets(list(budgets or suite.budgets), budget_kind)
    labels = [str(b) for b in budget_list]
    test_ids = test_idx.tolist() if isinstance(test_idx, torch.Tensor) else list(test_idx)
    model.eval()
    test = dataset[test_ids]
    preds = predict(model, test, model_device(model))
    correct = [i for i, p, g in zip(test_ids, preds.tolist(), test) if p == int(g.y)]
    fooled_by: dict[str, dict[int, str]] = {b: {} for b in labels}
    report = SuiteReport(name, dataset.name, suite, len(test_ids), len(correct) / max(len(test_ids), 1), {}, fooled_by)
    alive = list(correct)
    start = time.perf_counter()
    for attack_name in suite.attacks:
        atk = make_attack(attack_name)
        reason = skip_reason(atk, model, dataset, cam_layer, allow_unfaithful)
        if reason:
            report.skipped[attack_name] = reason
            continue
        if not alive:
            report.rows.append({"attack": attack_name, "attacked": 0} | {f"fooled first @{b}": 0 for b in labels})
            continue
        out = evaluate_attack(model, dataset, alive, atk, budget_list, victim_name=name, victim_seed=seed, seed=seed,
                              cam_layer=cam_layer, progress=progress)
        row = {"attack": attack_name, "attacked": len(out.graph_index)}
        for b in labels:
            new = [i for i, f in zip(out.graph_index, out.fooled[b]) if f and i not in fooled_by[b]]
            fooled_by[b].update(dict.fromkeys(new, attack_name))
            row[f"fooled first @{b}"] = len(new)
        report.rows.append(row)
        for rec in out.records:
            rec["suite"] = suite.tag
        report.records.extend(out.records)
        alive = [i for i in alive if i not in fooled_by[labels[0]]]
    report.robust_acc = combine(len(test_ids), correct, fooled_by)
    report.seconds = time.perf_counter() - start
    return report
