"""The leaderboard's robust-accuracy view (issue 17): defended against undefended victims under the
pinned attack suite (:mod:`cama.suite`).

From grid records that carry per-graph outcomes (``attacked_ids``, ``fooled_ids``; records
written since ``cama-grad`` was added — earlier 0.2.0 records lack them and are skipped), per
dataset × victim × seed × budget, over the suite's attacks run with their default parameters,
white-box and unconstrained, on the same attacked graphs::

    robust_acc(b) = clean_acc · (1 − |∪_a fooled_a,b| / n_attacked)

i.e. the share of test graphs that are classified correctly and survive *every* attack of the
suite at budget b. The suite's ``cama`` also edits node features (ρ·|V_g| nodes beside ρ·|E_g|
flips); ``robust acc (structure)`` is the same over the suite's structure-only attacks, the threat
model the structure defences are built for. When the attacked graphs are all correctly classified
test graphs this is exactly :func:`cama.suite.combine`; on a seeded sample of them (``max_graphs``) it is the unbiased
estimate from that sample (every attack of a cell attacks the same sample). A cell lacking one of
the suite's attacks gives no robust accuracy (it would overestimate it) and is listed as partial.
Also reported: the strongest single attack's accuracy under attack, ``clean_acc · (1 − max_a
ASR_a)``, which the suite's figure can only lower.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .errors import CamaError
from .records import load_records
from .stats import compare, wilson
from .suite import Suite, get_suite

COLUMNS = ["dataset", "victim", "budget", "clean acc", "robust acc", "robust acc (structure)", "best single attack",
           "single-attack acc", "attacked", "seeds"]


def _victim_order(name: str) -> tuple:
    arch, _, defense = name.partition("+")
    return arch, defense != "", defense


def robust_cells(records: list[dict], suite: str | Suite = "standard") -> tuple[pd.DataFrame, list[str]]:
    """One row per dataset × victim × seed × budget with all the suite's attacks (robust accuracy),
    and the names of cells that lack some of them."""
    attacks = set((get_suite(suite) if isinstance(suite, str) else suite).attacks)
    groups: dict[tuple, dict[str, dict]] = {}
    for r in records:
        if (r.get("attack") not in attacks or r.get("label", r["attack"]) != r["attack"] or r.get("surrogate")
                or r["params"].get("constraints") or "fooled_ids" not in r or r.get("budget_kind") != "ratio"):
            continue
        key = (r["dataset"], r["victim"], r["victim_seed"], r["budget"])
        groups.setdefault(key, {})[r["attack"]] = r
    rows, partial = [], set()
    for (dataset, victim, seed, budget), by_attack in groups.items():
        if set(by_attack) != attacks:
            partial.add(f"{dataset} {victim} seed {seed} (missing {', '.join(sorted(attacks - set(by_attack)))})")
            continue
        attacked = {tuple(r["attacked_ids"]) for r in by_attack.values()}
        if len(attacked) != 1:
            raise CamaError(f"The suite's attacks of {dataset} {victim} seed {seed} attacked different graphs; "
                            "re-run the cell with the same max_graphs for every attack.")
        n_att = len(next(iter(attacked)))
        fooled = set().union(*(r["fooled_ids"] for r in by_attack.values()))
        by_flips = set().union(*(r["fooled_ids"] for r in by_attack.values() if r["targets"] == ["structure"]))
        first = next(iter(by_attack.values()))
        clean = first["clean_acc"]
        best = max(by_attack.values(), key=lambda r: r["asr"])
        attacked_ids = frozenset(int(g) for g in next(iter(attacked)))
        rows.append({"dataset": dataset, "victim": victim, "seed": seed, "budget": budget, "clean_acc": clean,
                     "robust_acc": clean * (1 - len(fooled) / n_att) if n_att else clean,
                     "robust_structure": clean * (1 - len(by_flips) / n_att) if n_att else clean,
                     "best_attack": best["attack"], "single_acc": clean * (1 - best["asr"]), "attacked": n_att,
                     "n_test": first.get("n_test", n_att), "survivors": n_att - len(fooled),
                     # every correctly classified test graph attacked: the per-graph robust outcomes are exact
                     "complete": n_att == first.get("n_correct", -1),
                     # a sample of test graphs (sample_from = "test"): exact on those graphs
                     "sampled_ids": frozenset(first["sampled_ids"]) if "sampled_ids" in first else None,
                     "attacked_ids": attacked_ids, "robust_ids": attacked_ids - {int(g) for g in fooled}})
    return pd.DataFrame(rows), sorted(partial)


def robust_frame(records: list[dict], suite: str | Suite = "standard") -> tuple[pd.DataFrame, list[str]]:
    """Mean over seeds per dataset × victim × budget (:data:`COLUMNS`), and the partial cells."""
    cells, partial = robust_cells(records, suite)
    return _per_victim(cells), partial


def robust_interval(survivors: int, attacked: int, clean: float) -> tuple[float, float]:
    """95 % interval of a robust accuracy: clean acc × Wilson's interval of the surviving share."""
    lo, hi = wilson(int(survivors), int(attacked))
    return clean * lo, clean * hi


def _per_victim(cells: pd.DataFrame) -> pd.DataFrame:
    if cells.empty:
        return pd.DataFrame(columns=COLUMNS)
    out = cells.groupby(["dataset", "victim", "budget"], sort=False).agg(
        clean=("clean_acc", "mean"), robust=("robust_acc", "mean"), robust_std=("robust_acc", "std"),
        structure=("robust_structure", "mean"),
        single=("single_acc", "mean"), attacked=("attacked", "mean"), seeds=("seed", "nunique"),
        best=("best_attack", lambda s: s.value_counts().index[0]), survivors=("survivors", "sum"),
        n_attacked=("attacked", "sum")).reset_index()
    ci = [robust_interval(k, n, c) for k, n, c in zip(out.survivors, out.n_attacked, out.clean)]
    out["robust_lo"], out["robust_hi"] = [lo for lo, _ in ci], [hi for _, hi in ci]
    out = out.rename(columns={"clean": "clean acc", "robust": "robust acc", "structure": "robust acc (structure)",
                              "single": "single-attack acc",
                              "best": "best single attack"})
    out = out.assign(_v=out.victim.map(_victim_order)).sort_values(["dataset", "_v", "budget"])
    return out[COLUMNS + ["robust_std", "robust_lo", "robust_hi"]].reset_index(drop=True)


def load_robust(runs: str | Path, suite: str = "standard") -> tuple[pd.DataFrame, list[str], pd.DataFrame]:
    """The per-victim frame, the partial cells and the defence tests (:func:`defence_tests`) of ``runs``."""
    cells, partial = robust_cells(load_records(runs), suite)
    frame = _per_victim(cells)
    if frame.empty:
        raise CamaError(f"No cell of {runs} has every attack of the suite '{suite}' with per-graph outcomes; run "
                        "`cama bench --config defended.toml` first (or drop --defended-runs).")
    return frame, partial, defence_tests(cells)


def wide(frame: pd.DataFrame, protocol: str = "seeds") -> pd.DataFrame:
    """dataset × victim rows: clean accuracy, robust accuracy per budget (mean over seeds or folds,
    95 % interval of :func:`robust_frame`), and robust accuracy against the structure attacks alone."""
    units = SCOPES[protocol][1]
    rows = []
    for (dataset, victim), g in frame.groupby(["dataset", "victim"], sort=False):
        row = {"dataset": dataset, "victim": victim, "clean acc": g["clean acc"].iloc[0]}
        for _, r in g.iterrows():
            row[f"robust @ {r.budget:g}"] = f"{r['robust acc']:.3f} [{r.robust_lo:.2f}, {r.robust_hi:.2f}]"
        for _, r in g.iterrows():
            row[f"structure @ {r.budget:g}"] = f"{r['robust acc (structure)']:.3f}"
        row[units] = int(g.seeds.min())
        rows.append(row)
    return pd.DataFrame(rows)


def defence_effect(frame: pd.DataFrame) -> pd.DataFrame:
    """Per defence and budget, means over datasets × architectures: clean and robust accuracy of the
    defended victim minus those of the same undefended architecture."""
    f = frame.assign(arch=frame.victim.str.partition("+")[0], defense=frame.victim.str.partition("+")[2])
    base = f[f.defense == ""][["dataset", "arch", "budget", "clean acc", "robust acc", "robust acc (structure)"]]
    both = f[f.defense != ""].merge(base, on=["dataset", "arch", "budget"], suffixes=("", " undefended"))
    if both.empty:
        return pd.DataFrame()
    both["Δ clean"] = both["clean acc"] - both["clean acc undefended"]
    both["Δ robust"] = both["robust acc"] - both["robust acc undefended"]
    both["Δ structure"] = both["robust acc (structure)"] - both["robust acc (structure) undefended"]
    return both.groupby(["defense", "budget"]).agg(
        **{"clean acc": ("clean acc", "mean"), "Δ clean": ("Δ clean", "mean"), "robust acc": ("robust acc", "mean"),
           "Δ robust": ("Δ robust", "mean"), "robust acc (structure)": ("robust acc (structure)", "mean"),
           "Δ structure": ("Δ structure", "mean"), "cells": ("dataset", "size")}).reset_index()


def _interval_text(seeds: pd.DataFrame) -> str:
    lo, hi = robust_interval(seeds.survivors.sum(), seeds.attacked.sum(), seeds.clean_acc.mean())
    return f"[{lo:.2f}, {hi:.2f}]"


def pairable(a: pd.Series, b: pd.Series) -> bool:
    """Whether two victims' cells of one split have exact per-graph robust outcomes on the same
    graphs: each attacked every test graph it classifies correctly, or both attacked the correctly
    classified part of one sample of test graphs (``sample_from = "test"``)."""
    if a.complete and b.complete:
        return True
    return a.sampled_ids is not None and a.sampled_ids == b.sampled_ids


def defence_tests(cells: pd.DataFrame, budget: float = 0.1) -> pd.DataFrame:
    """Per dataset × defended victim at ρ = ``budget``: its robust accuracy against the undefended
    victim of the same architecture, paired on (seed or fold, test graph) — both victims of a split
    share it — by the exact McNemar test on "classified correctly and fooled by no attack of the
    suite", Holm-adjusted over the table. A graph one victim did not attack is one it misclassifies,
    so the outcomes are exact where each victim attacked every graph it classifies correctly, or the
    correct part of the same sample of test graphs (:func:`pairable`); a cell on a sample of its
    correctly classified graphs (``sample_from = "correct"``) is not testable."""
    if cells.empty:
        return pd.DataFrame()
    f = cells[(cells.budget - budget).abs() < 1e-9]
    f = f.assign(arch=f.victim.str.partition("+")[0])
    rows, pairs = [], []
    for (dataset, victim), part in f[f.victim.str.contains("+", regex=False)].groupby(["dataset", "victim"], sort=False):
        base = f[(f.dataset == dataset) & (f.victim == part.arch.iloc[0])].set_index("seed")
        part = part.set_index("seed")
        seeds = sorted(set(part.index) & set(base.index))
        if not seeds:
            continue
        pair = (None, None)
        if all(pairable(part.loc[s], base.loc[s]) for s in seeds):
            pair = ({}, {})
            for s in seeds:
                for g in part.attacked_ids[s] | base.attacked_ids[s]:
                    pair[0][(s, g)], pair[1][(s, g)] = g in part.robust_ids[s], g in base.robust_ids[s]
        pairs.append(pair)
        rows.append({"dataset": dataset, "defended": victim, "robust acc": part.robust_acc[seeds].mean(),
                     "95% CI": _interval_text(part.loc[seeds]), "undefended": part.arch.iloc[0],
                     "robust acc ": base.robust_acc[seeds].mean(), "95% CI ": _interval_text(base.loc[seeds]),
                     "Δ robust": part.robust_acc[seeds].mean() - base.robust_acc[seeds].mean()})
    if not rows:
        return pd.DataFrame()
    for row, test in zip(rows, compare(pairs)):
        row |= {"paired graphs": test["pairs"] or None, "p (Holm)": test["p (Holm)"], "verdict": test["verdict"]}
    out = pd.DataFrame(rows)
    order = out.defended.map(_victim_order)
    return out.assign(_v=order).sort_values(["dataset", "_v"]).drop(columns="_v").reset_index(drop=True)


NOTE = ("Robust accuracy: the share of test graphs classified correctly that survive **every** attack of the "
        "suite `{tag}` ({attacks}) at that budget, each attack with its default parameters and white-box — it "
        "sees the whole defended model (the guard's gate is part of the forward and keeps the edge-weight "
        "contract, so PRBCD/GRBCD optimise through it; adversarially trained victims are attacked as they are). "
        "`structure @ ρ`: the same over the suite's structure-only attacks (without `cama`'s feature edits). "
        "Estimated on the cell's attacked graphs ({sample}, the same for every attack): clean acc × (1 − share "
        "fooled by some attack). Mean over {units}; the 95 % interval is clean acc × Wilson's interval of the "
        "surviving share, graphs pooled over {units}. Defended "
        "victims: `+guard` (GNNGuard-style cosine gate, τ = 0.1), `+adv` (adversarial training against one-pass "
        "cama-node at ρ = 0.1), see victims/defenses.py.")


TEST_NOTE = ("Exact McNemar test on ({unit}, test graph) pairs — both victims of a {unit} share the split — of "
             "\"classified correctly and fooled by no attack of the suite\", Holm-adjusted over the rows of this "
             "table, α = 0.05; pairs are exact where each victim attacked every test graph it classifies correctly, "
             "or the correct part of one seeded sample of test graphs (`sample_from = \"test\"`); a cell on a "
             "sample of its own correct graphs is not testable. Defended against undefended (ahead = more robust):")

#: per protocol: (replicate unit, its plural, what the defended grid attacks)
SCOPES = {"seeds": ("seed", "seeds", "every correctly classified test graph, or a seeded sample of them"),
          "cv10": ("fold", "folds", "every correctly classified test graph of every fold, or the correctly "
                                    "classified part of a seeded sample of test graphs per fold")}


def markdown(frame: pd.DataFrame, partial: list[str], suite: str = "standard",
             tests: pd.DataFrame | None = None, protocol: str = "seeds") -> list[str]:
    """The section's markdown lines (as the leaderboard's other views)."""
    s = get_suite(suite)
    unit, units, sample = SCOPES[protocol]
    lines = ["## Defended victims: worst-case robust accuracy", "",
             NOTE.format(tag=s.tag, attacks=", ".join(s.attacks), sample=sample, units=units), ""]
    effect = defence_effect(frame)
    if not effect.empty:
        shown = effect.assign(**{c: effect[c].map(f"{{:{fmt}}}".format) for c, fmt in
                                 [("clean acc", ".3f"), ("robust acc", ".3f"), ("Δ clean", "+.3f"), ("Δ robust", "+.3f"),
                                  ("robust acc (structure)", ".3f"), ("Δ structure", "+.3f")]})
        lines += ["Defended minus undefended (same architecture and dataset), mean over cells:", "",
                  shown.to_markdown(index=False, disable_numparse=True), ""]
    lines += [wide(frame, protocol).to_markdown(index=False, floatfmt=".3f"), ""]
    if tests is not None and not tests.empty:
        from .stats import count_verdicts
        from .tables import tests_markdown

        lines += ["### Does the defence help? Defended against undefended at ρ = 0.1", "",
                  TEST_NOTE.format(unit=unit) + " " + count_verdicts(tests.to_dict("records")) + ".", "",
                  tests_markdown(tests, ".3f"), ""]
    if partial:
        lines += ["Cells without every suite attack (no robust accuracy shown): " + "; ".join(partial) + ".", ""]
    return lines


def plot(frame: pd.DataFrame, path: Path) -> str:
    """Robust accuracy against budget, one panel per dataset, one line per victim (0 = clean);
    written to ``path``, returned as a small PNG data URI for the page (:func:`cama.plots.save_figure`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plots import save_figure

    datasets = list(dict.fromkeys(frame.dataset))
    fig, axes = plt.subplots(1, len(datasets), figsize=(3.6 * len(datasets), 3.2), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        g = frame[frame.dataset == dataset]
        for victim, v in g.groupby("victim", sort=False):
            xs = [0.0] + v.budget.tolist()
            ys = [v["clean acc"].iloc[0]] + v["robust acc"].tolist()
            ax.plot(xs, ys, marker="o", ms=3, label=victim, ls="-" if "+" in victim else "--")
        ax.set_title(dataset)
        ax.set_xlabel("budget ρ")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("robust accuracy")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path)
