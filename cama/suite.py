"""Worst-case robust accuracy over a pinned attack suite (RobustBench/AutoAttack-style).

A test graph counts as *robust at budget b* when the model classifies it correctly and **no**
attack of the suite fools it within b (monotone rule of :mod:`cama.evaluate`)::

    robust_acc(b) = #{g ∈ test : correct(g) ∧ ∀ attack a: ¬fooled_a,b(g)} / #test

Every attack of the suite runs on every correctly classified test graph, so besides the worst
case the report gives each attack's own ASR on that common set (which attack is strongest on
this model) and, in suite order, the graphs each attack was first to fool. Gradient attacks run
only when the model's edge weights pass the edge-weight contract (:mod:`cama.relaxation`). When
an attack of the suite cannot run on the model, the result is **partial**: the robust accuracy
over the attacks that ran is an *upper bound* of the suite's, and the report, its JSON, its page
and every record say so, with what would make it complete. Suite name and version go into every
record and report.
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
#: cama-grad (Graph-CAM anchors, edge-gradient flips; ~20 passes per graph) to standard/1;
#: standard/3 adds grad-combined (GRBCD + the greedy gradient feature attack under both budgets).
SUITES = {
    "standard": Suite("standard", "3", ("cama-grad", "cama-subgraph", "cama-node", "cama", "genetic", "grbcd",
                                        "prbcd", "grad-combined")),
}


def get_suite(name: str) -> Suite:
    if name not in SUITES:
        raise CamaError(f"Unknown suite '{name}'; choose one of: {', '.join(SUITES)}.")
    return SUITES[name]


def completion_hint(skipped: dict[str, str]) -> str:
    """What would let the skipped attacks run, from their skip reasons."""
    hints = []
    if any("no edge_weight" in r for r in skipped.values()):
        hints.append("give the model's forward an edge_weight argument that every message-passing layer uses "
                     "(README \"Edge weights\")")
    if any("faithful relaxation" in r for r in skipped.values()):
        hints.append("make its edge weights a faithful relaxation (w = 0 absent, w = 1 present, order-free), or pass "
                     "--allow-unfaithful / allow_unfaithful=True and read those rows with care")
    if any("layer" in r.lower() for r in skipped.values()):
        hints.append("name the node-embedding module with --cam-layer / cam_layer=")
    others = [f"{k}: {v}" for k, v in skipped.items() if not any(
        w in v for w in ("no edge_weight", "faithful relaxation")) and "layer" not in v.lower()]
    return "; ".join(hints + others) + "."


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

    @property
    def partial(self) -> bool:
        """Some attack of the suite did not run: robust accuracy is only an upper bound."""
        return bool(self.skipped)

    @property
    def ran(self) -> list[str]:
        return [a for a in self.suite.attacks if a not in self.skipped]

    def caveat(self) -> str:
        """One sentence on completeness (empty when every attack ran)."""
        if not self.partial:
            return ""
        return (f"PARTIAL: {len(self.skipped)} of the suite's {len(self.suite.attacks)} attacks could not run on "
                f"this model ({', '.join(self.skipped)}), so the robust accuracy is an upper bound over "
                f"{', '.join(self.ran) or 'no attack'}. To complete it: {completion_hint(self.skipped)}")

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def robust_frame(self) -> pd.DataFrame:
        """Per budget: the worst case, and the strongest single attack with its ASR."""
        rows = []
        for b, acc in self.robust_acc.items():
            own = [(r[f"ASR @{b}"], r["attack"]) for r in self.rows if r.get("attacked")]
            best = max(own, default=(float("nan"), "-"))
            rows.append({"budget": b, "robust accuracy" + (" (upper bound)" if self.partial else ""): acc,
                         "strongest attack": best[1], "its ASR": best[0]})
        return pd.DataFrame(rows)

    def to_json(self) -> dict:
        return {"model": self.name, "dataset": self.dataset, "suite": self.suite.tag, "n_test": self.n_test,
                "clean_acc": self.clean_acc, "robust_acc": self.robust_acc, "complete": not self.partial,
                "robust_acc_is_upper_bound": self.partial, "caveat": self.caveat(), "attacks_run": self.ran,
                "attacks": self.rows,
                "skipped": self.skipped, "first_fooled_by": {b: {str(k): v for k, v in d.items()}
                                                             for b, d in self.first_fooled_by.items()},
                "seconds": self.seconds}

    def to_markdown(self) -> str:
        heading = "partial: " + ", ".join(self.ran) if self.partial else ", ".join(self.suite.attacks)
        lines = [f"# Robustness of {self.name} on {self.dataset} — suite `{self.suite.tag}`"
                 f"{' (PARTIAL)' if self.partial else ''}", "",
                 f"Clean accuracy {self.clean_acc:.3f} on {self.n_test} test graphs; {self.seconds:.1f} s in all. "
                 f"Robust accuracy: correct and not fooled by any attack ({heading}) at that budget"
                 f"{' — an upper bound' if self.partial else ''}.", ""]
        if self.partial:
            lines += [f"**{self.caveat()}**", ""]
        lines += [self.robust_frame().to_markdown(index=False, floatfmt=".3f"), "",
                  "Per attack (in suite order), on the same correctly classified graphs: its own ASR at each budget "
                  "(the strongest attack on this model has the highest), and the graphs it was the first in suite "
                  "order to fool.", "",
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

        body = [f"<h1>Robustness of {esc(self.name)} on {esc(self.dataset)}{' (partial)' if self.partial else ''}</h1>",
                f'<p class="note">{inline_markdown(self.to_markdown().split(chr(10))[2])}</p>',
                f"<p>Suite <code>{esc(self.suite.tag)}</code>: {esc(', '.join(self.suite.attacks))}.</p>"]
        if self.partial:
            body.append(f'<p class="note"><strong>{esc(self.caveat())}</strong></p>')
        body += ["<h2>Robust accuracy" + (" (upper bound)" if self.partial else "") + "</h2>",
                static_table(self.robust_frame(), float_format="{:.3f}"),
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
        a1.plot(budgets, list(self.robust_acc.values()), marker="o", color="black",
                label="robust (upper bound: partial suite)" if self.partial else "robust (suite)")
        a1.axhline(self.clean_acc, ls="--", color="grey", label="clean")
        a1.set(xlabel="budget ρ", ylabel="accuracy", ylim=(0, 1), title="robust accuracy")
        a1.legend(fontsize=8)
        for rec_attack in dict.fromkeys(r["attack"] for r in self.records):
            mine = sorted((r["budget"], r["asr"]) for r in self.records if r["attack"] == rec_attack)
            a2.plot([b for b, _ in mine], [a for _, a in mine], marker="o", label=rec_attack)
        a2.set(xlabel="budget ρ", ylabel="ASR (common correct graphs)", ylim=(0, 1), title="per attack")
        a2.legend(fontsize=7)
        buf = io.BytesIO()
        fig.savefig(buf, dpi=80, bbox_inches="tight", format="png")
        plt.close(fig)
        return png_data_uri(buf.getvalue())


def run_suite(model: torch.nn.Module, dataset: GraphDataset, test_idx, suite: Suite | str = "standard", *,
              name: str = "custom", seed: int = 0, budget_kind: str = "ratio", budgets=None,
              cam_layer: str | None = None, allow_unfaithful: bool = False, progress: bool = False,
              allow_weak: bool = False) -> SuiteReport:
    """Run ``suite`` against ``model`` on ``dataset[test_idx]`` (see the module docstring). The model
    is attacked as given (train it first); one no better than the majority class is refused unless
    ``allow_weak`` (:func:`cama.user_model.check_not_trivial`)."""
    from attacks import make_attack

    from .evaluate import evaluate_attack, predict
    from .model_api import model_device
    from .robustness import skip_reason
    from .user_model import check_not_trivial, model_phase

    suite = get_suite(suite) if isinstance(suite, str) else suite
    budget_list = parse_budgets(list(budgets or suite.budgets), budget_kind)
    labels = [str(b) for b in budget_list]
    test_ids = test_idx.tolist() if isinstance(test_idx, torch.Tensor) else list(test_idx)
    model.eval()
    test = dataset[test_ids]
    with model_phase(name, "prediction of the clean test graphs"):
        preds = predict(model, test, model_device(model))
    correct = [i for i, p, g in zip(test_ids, preds.tolist(), test) if p == int(g.y)]
    fooled_by: dict[str, dict[int, str]] = {b: {} for b in labels}
    report = SuiteReport(name, dataset.name, suite, len(test_ids), len(correct) / max(len(test_ids), 1), {}, fooled_by)
    check_not_trivial(name, report.clean_acc, torch.cat([g.y.view(-1) for g in test]), allow_weak)
    start = time.perf_counter()
    for attack_name in suite.attacks:
        atk = make_attack(attack_name)
        with model_phase(name, f"the checks before attack {attack_name}"):
            reason = skip_reason(atk, model, dataset, cam_layer, allow_unfaithful)
        if reason:
            report.skipped[attack_name] = reason
            continue
        row = {"attack": attack_name, "attacked": 0} | {f"ASR @{b}": float("nan") for b in labels} | {
            f"fooled first @{b}": 0 for b in labels}
        if correct:
            with model_phase(name, f"attack {attack_name}"):
                out = evaluate_attack(model, dataset, correct, atk, budget_list, victim_name=name, victim_seed=seed,
                                      seed=seed, cam_layer=cam_layer, progress=progress)
            row["attacked"] = len(out.graph_index)
            for b in labels:
                new = [i for i, f in zip(out.graph_index, out.fooled[b]) if f and i not in fooled_by[b]]
                fooled_by[b].update(dict.fromkeys(new, attack_name))
                row[f"ASR @{b}"] = sum(out.fooled[b]) / max(len(out.graph_index), 1)
                row[f"fooled first @{b}"] = len(new)
            report.records.extend(out.records)
        report.rows.append(row)
    for rec in report.records:
        rec["suite"] = suite.tag
        rec["suite_complete"] = not report.partial
        if report.partial:
            rec["suite_skipped"] = dict(report.skipped)
    report.robust_acc = combine(len(test_ids), correct, fooled_by)
    report.seconds = time.perf_counter() - start
    return report
