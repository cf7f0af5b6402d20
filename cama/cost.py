"""Cost-matched comparison (issue 23): ASR at one budget against victim passes per attacked graph.

From the records of ``cost.toml`` (every CAMA structure attack and the importance-free search at
the same schedules, GRBCD, PRBCD at several epoch counts): one row per dataset × victim × attack
variant with its ASR, passes per graph (``queries_per_graph``: one forward, or forward +
backward, of one graph — the same unit for every attack) and seconds per graph; a plot per
dataset × victim (ASR against passes, log scale, one line per attack family); and the claims of
the issue checked per cell:

* ``best CAMA ≤ 32``: the best CAMA structure variant (cama-node / cama-subgraph / cama-grad)
  within 32 passes per graph, against GRBCD's ASR at its own cost;
* ``CAMA − search``: cama-node minus the importance-free search at the same schedule (the
  default, and every cheaper schedule), and cama-grad minus its random-anchor twin search-grad;
* ``speed``: GRBCD's seconds per graph ÷ the default cama-node's and cama-grad's;
* the feature and combined groups: cama-feature against the best gradient feature attack
  (grad-feature, grad-feature-greedy at its schedules) and cama against grad-combined, each with
  its ASR and passes per graph.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .aggregate import STANDINGS
from .errors import CamaError
from .records import load_records

CAMA_FAMILIES = ("cama-node", "cama-subgraph", "cama-grad")
#: each CAMA family measured against its importance-free twin at the same schedules
TWINS = {"cama-node": "search-random", "cama-grad": "search-grad"}
#: the feature and combined groups: CAMA's attack → its gradient competitors' families (the
#: leaderboard's standings, :data:`cama.aggregate.STANDINGS`)
GROUP_RIVALS = {STANDINGS[g][0][0]: STANDINGS[g][1] for g in ("features", "both")}
CHEAP = 32


def cost_frame(records: list[dict], budget: float = 0.1) -> pd.DataFrame:
    rows = []
    for r in records:
        if r.get("budget_kind") != "ratio" or abs(r["budget"] - budget) > 1e-9 or r.get("surrogate") \
                or r["params"].get("constraints"):
            continue
        label = r.get("label", r["attack"])
        rows.append({"dataset": r["dataset"], "victim": r["victim"], "family": r["attack"], "variant": label,
                     "schedule": label[len(r["attack"]) + 1:] if label != r["attack"] else "default",
                     "asr": r["asr"], "passes": r["queries_per_graph"], "s/graph": r["seconds_per_graph"]})
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    return df.groupby(["dataset", "victim", "family", "variant", "schedule"], sort=False, as_index=False).mean(
        numeric_only=True).sort_values(["dataset", "victim", "family", "passes"]).reset_index(drop=True)


def claims(frame: pd.DataFrame) -> pd.DataFrame:
    """Per dataset × victim: the issue's three claims (module docstring)."""
    out = []
    for (ds, victim), part in frame.groupby(["dataset", "victim"], sort=False):
        cama = part[part.family.isin(CAMA_FAMILIES)]
        cheap = cama[cama.passes <= CHEAP]
        grbcd = part[part.variant == "grbcd"]
        row = {"dataset": ds, "victim": victim}
        if len(cheap):
            best = cheap.loc[cheap.asr.idxmax()]
            row |= {"best CAMA ≤ 32 passes": f"{best.asr:.2f} ({best.variant}, {best.passes:.0f})"}
        if len(grbcd):
            g = grbcd.iloc[0]
            row |= {"GRBCD": f"{g.asr:.2f} ({g.passes:.0f})",
                    "CAMA ≤ 32 − GRBCD": (cheap.asr.max() - g.asr) if len(cheap) else float("nan")}
        for fam, twin in TWINS.items():
            node = part[part.family == fam].set_index("schedule")
            search = part[part.family == twin].set_index("schedule")
            common = node.index.intersection(search.index)
            if "default" in common:
                row[f"{fam} − {twin} (default)"] = node.asr["default"] - search.asr["default"]
            cheaper = [s for s in common if s != "default"]
            if cheaper:
                row[f"{fam} − {twin} (other schedules, mean)"] = float((node.asr[cheaper] - search.asr[cheaper]).mean())
            if len(grbcd) and "default" in node.index:
                row[f"GRBCD s ÷ {fam} s"] = grbcd.iloc[0]["s/graph"] / max(node["s/graph"]["default"], 1e-12)
        for ours, rivals in GROUP_RIVALS.items():
            mine, theirs = part[part.variant == ours], part[part.family.isin(rivals)]
            if len(mine) and len(theirs):
                m, t = mine.iloc[0], theirs.loc[theirs.asr.idxmax()]
                row[ours] = f"{m.asr:.2f} ({m.passes:.0f})"
                row[f"best of {' / '.join(rivals)}"] = f"{t.asr:.2f} ({t.variant}, {t.passes:.0f})"
        out.append(row)
    return pd.DataFrame(out)


def load_cost(runs: str | Path, budget: float = 0.1) -> pd.DataFrame:
    frame = cost_frame(load_records(runs), budget)
    if frame.empty:
        raise CamaError(f"No ratio-budget records at ρ = {budget:g} in {runs}; run `cama bench --config cost.toml` "
                        "first (or drop --cost-runs).")
    return frame


def plot(frame: pd.DataFrame, path: Path) -> str:
    """ASR against passes per graph (log x), one panel per dataset × victim, one line per family;
    written to ``path``, returned as a small PNG data URI (for the page)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plots import save_figure

    cells = list(dict.fromkeys(zip(frame.dataset, frame.victim)))
    cols = min(4, len(cells))
    rows = (len(cells) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False, sharey=True)
    families = list(dict.fromkeys(frame.family))
    cmap = plt.get_cmap("tab10")
    for i, (ds, victim) in enumerate(cells):
        ax = axes[i // cols][i % cols]
        part = frame[(frame.dataset == ds) & (frame.victim == victim)]
        for j, fam in enumerate(families):
            line = part[part.family == fam].sort_values("passes")
            if len(line):
                ax.plot(line.passes.clip(lower=1), line.asr, marker="o", label=fam, color=cmap(j % 10))
        ax.set_xscale("log")
        ax.set_title(f"{ds} / {victim}")
        ax.grid(alpha=0.3)
        ax.set_xlabel("victim passes per graph")
    for k in range(len(cells), rows * cols):
        axes[k // cols][k % cols].axis("off")
    axes[0][0].set_ylabel("ASR at ρ = 0.1")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path)


NOTE = ("ASR at ρ = 0.1 against victim passes per attacked graph (one forward, or forward + backward, of one "
        "graph; every attack counted the same way), from `cama bench --config {config}`, {scope}, every "
        "correctly classified test graph. Schedules: `1pass` = importance once, no queries; `rK` = K rounds of "
        "re-scoring; `pN` = a re-ranking pool of N single-flip queries per round; `default` = the attack's "
        "defaults (cama-node / cama-subgraph: 8 rounds, pool max(32, 4096 / |V_g|); cama-grad: 8 rounds, pool 4). "
        "search-random = cama-node's search with random node scores (no Graph-CAM); search-grad = cama-grad with "
        "random anchor nodes. Feature and combined groups at their defaults: cama-feature against grad-feature / "
        "grad-feature-greedy (`c2`: 2 chunks) and feature-rank-random, cama against grad-combined and random-combined.")


#: per protocol: the grid's TOML and which victims it attacks
SCOPES = {"seeds": ("cost.toml", "victim seed 0"), "cv10": ("cost_cv10.toml", "the victims of all 10 folds")}


def markdown(frame: pd.DataFrame, protocol: str = "seeds") -> list[str]:
    table = frame.assign(asr=frame.asr.round(3), passes=frame.passes.round(1),
                         **{"s/graph": frame["s/graph"].map(lambda s: f"{s:.4f}")})
    return ["## Cost-matched comparison at ρ = 0.1: ASR against victim passes", "",
            NOTE.format(config=SCOPES[protocol][0], scope=SCOPES[protocol][1]), "",
            claims(frame).to_markdown(index=False, floatfmt=".2f"), "",
            table.drop(columns=["schedule"]).to_markdown(index=False), ""]
