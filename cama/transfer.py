"""The transferability matrix: surrogate architecture × victim architecture, per dataset and attack.

Built from the records of a transfer grid (``cama bench --config transfer.toml``): a record with
``surrogate = s`` is the transfer ASR of an attack computed on surrogate ``s`` against the
victim; a white-box record (``surrogate`` None) fills the diagonal (surrogate = victim).
Cells are means over victim seeds (folds under protocol v2) at one budget (default ρ = 0.1),
with a 95 % Wilson interval over the graphs pooled over seeds (:mod:`cama.stats`).

Two comparisons, each a paired test on per-graph outcomes.

The unit of both is (victim, surrogate, seed, graph), and one graph enters under several surrogate →
victim pairs, so the test is the paired bootstrap over graphs (:func:`cama.stats.cluster_bootstrap`,
Holm over the rows of its table), not McNemar:

* **transfer against white-box**, per attack: a transfer outcome (dataset, victim, surrogate,
  seed, graph) is paired with the same attack's white-box outcome on the same victim, seed and
  graph. ``kept`` = transfer ASR ÷ white-box ASR.
* **CAMA against its rival in transfer**, per dataset and target group (the leaderboard's
  :data:`~cama.aggregate.STANDINGS`): the strongest CAMA attack against the strongest gradient
  competitor, both pooled over every off-diagonal surrogate → victim pair, paired on
  (victim, surrogate, seed, graph).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .records import load_records
from .aggregate import with_tests
from .tables import tests_markdown
from .stats import Outcome, wilson

KEY = ["dataset", "attack", "surrogate", "victim"]


def transfer_frame(records: list[dict], budget: float = 0.1) -> pd.DataFrame:
    """One row per (dataset, attack, surrogate, victim) at ratio budget ``budget``: ASR (mean over
    seeds; the newest record of a cell wins, as in the leaderboard), its 95 % Wilson interval over
    the pooled graphs, and edge flips. ``attrs["outcomes"]`` maps each row's key to its per-graph
    outcomes pooled over seeds (None where a record has none)."""
    from .aggregate import _outcomes, latest, target_group

    if not records:
        return pd.DataFrame()
    df = latest(pd.DataFrame(records))
    df = df[(df.budget_kind == "ratio") & ((df.budget - budget).abs() < 1e-9)].copy()
    if df.empty:
        return pd.DataFrame()
    label = df["label"] if "label" in df else pd.Series(None, index=df.index)
    df["attack"] = label.where(label.notna(), df["attack"])
    df["surrogate"] = df["surrogate"].where(df["surrogate"].notna(), df["victim"])
    df["group"] = df["targets"].map(target_group) if "targets" in df else "structure"
    g = df.groupby(KEY, sort=False)
    out = g.agg(asr=("asr", "mean"), n_success=("n_success", "sum"), n_attacked=("n_attacked", "sum"),
                flips=("mean_edge_flips", "mean"), seeds=("victim_seed", "nunique"),
                sampled=("sampled", "any"), group=("group", "first")).reset_index()
    ci = [wilson(int(k), int(n)) for k, n in zip(out.n_success, out.n_attacked)]
    out["asr_lo"], out["asr_hi"] = [c[0] for c in ci], [c[1] for c in ci]
    out.attrs["budget"] = budget
    out.attrs["outcomes"] = _outcomes(df, g)
    return out


def _archs(frame: pd.DataFrame) -> list[str]:
    from victims import ARCHITECTURES

    present = set(frame.victim) | set(frame.surrogate)
    return [a for a in ARCHITECTURES if a in present] + sorted(present - set(ARCHITECTURES))


def _datasets(frame: pd.DataFrame) -> list[str]:
    from .aggregate import DATASET_ORDER

    rank = {d: i for i, d in enumerate(DATASET_ORDER)}
    return sorted(frame.dataset.unique(), key=lambda d: (rank.get(d, len(rank)), d))


def matrix(frame: pd.DataFrame, dataset: str, attack: str, values: str = "asr") -> pd.DataFrame:
    """Surrogates as rows, victims as columns, cells of column ``values`` (NaN where not run)."""
    archs = _archs(frame)
    part = frame[(frame.dataset == dataset) & (frame.attack == attack)]
    return part.pivot(index="surrogate", columns="victim", values=values).reindex(index=archs, columns=archs)


def _outcomes(frame: pd.DataFrame, rows: pd.DataFrame, white_box: bool = False) -> Outcome | None:
    """The outcomes of ``rows`` (cells of ``frame``) pooled into one set, keyed (dataset, victim,
    surrogate, seed, graph); with ``white_box``, each off-diagonal row's key gets the outcome of
    the same attack's white-box cell on that victim instead (its pair). None where one is missing."""
    table = frame.attrs.get("outcomes", {})
    pooled: Outcome = {}
    for r in rows.itertuples(index=False):
        own = table.get((r.dataset, r.attack, r.victim if white_box else r.surrogate, r.victim))
        if own is None:
            return None
        pooled |= {(r.dataset, r.victim, r.surrogate, *k): v for k, v in own.items()}
    return pooled


def _graph(key: tuple) -> tuple:
    """The graph of a pooled outcome key (dataset, victim, surrogate, seed, graph): the bootstrap's cluster."""
    return key[0], key[-1]


def _pooled_ci(rows: pd.DataFrame) -> str:
    lo, hi = wilson(int(rows.n_success.sum()), int(rows.n_attacked.sum()))
    return f"[{lo:.2f}, {hi:.2f}]"


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per attack: mean white-box ASR (diagonal) and mean transfer ASR (off-diagonal), each with a
    95 % Wilson interval over the pooled graphs, their ratio ``kept``, mean flips per graph in
    transfer, the number of transfer cells, and the paired test of transfer against white-box
    (verdict ``significantly behind`` = significantly weaker without access to the victim)."""
    diag, off = frame[frame.surrogate == frame.victim], frame[frame.surrogate != frame.victim]
    rows, pairs = [], []
    for attack in off.attack.unique():
        d, o = diag[diag.attack == attack], off[off.attack == attack]
        paired = o[o.set_index(["dataset", "victim"]).index.isin(d.set_index(["dataset", "victim"]).index)]
        rows.append({"attack": attack, "white-box ASR": d.asr.mean(), "95% CI": _pooled_ci(d),
                     "transfer ASR": o.asr.mean(), "95% CI ": _pooled_ci(o),
                     "kept": o.asr.mean() / d.asr.mean() if len(d) and d.asr.mean() > 0 else float("nan"),
                     "transfer flips/graph": o.flips.mean(), "transfer cells": len(o)})
        pairs.append((_outcomes(frame, paired), _outcomes(frame, paired, white_box=True)))
    if not rows:
        return pd.DataFrame()
    return with_tests(rows, pairs, cluster=_graph).sort_values("transfer ASR", ascending=False, kind="stable").reset_index(drop=True)


def standing(frame: pd.DataFrame) -> pd.DataFrame:
    """Per dataset and target group, in transfer (off-diagonal cells only): the CAMA attack with
    the highest transfer ASR against the strongest of its gradient competitors
    (:data:`~cama.aggregate.STANDINGS`), both pooled over the surrogate → victim pairs, with 95 %
    Wilson intervals and the paired test on (victim, surrogate, seed, graph) (Holm over the table)."""
    from .aggregate import STANDINGS

    off = frame[frame.surrogate != frame.victim]
    rows, pairs = [], []
    for ds in _datasets(off) if len(off) else []:
        part = off[off.dataset == ds]
        for group, (ours, rivals, _) in STANDINGS.items():
            mean = part.groupby("attack").asr.mean()
            cams, rivs = mean[mean.index.isin(ours)], mean[mean.index.isin(rivals)]
            if cams.empty or rivs.empty:
                continue
            c, r = cams.idxmax(), rivs.idxmax()
            cr, rr = part[part.attack == c], part[part.attack == r]
            rows.append({"dataset": ds, "group": group, "best CAMA": c + ("*" if cr.sampled.any() else ""),
                         "transfer ASR": cams[c], "95% CI": _pooled_ci(cr),
                         "best rival": r + ("*" if rr.sampled.any() else ""),
                         "transfer ASR ": rivs[r], "95% CI ": _pooled_ci(rr), "CAMA − rival": cams[c] - rivs[r]})
            pairs.append((_outcomes(frame, cr), _outcomes(frame, rr)))
    return with_tests(rows, pairs, cluster=_graph) if rows else pd.DataFrame()


TEST_NOTE = ("Intervals: 95 % Wilson over the graphs pooled over {units} (and over surrogate → victim pairs in the "
             "summary). Verdicts: paired bootstrap over graphs (2000 resamples; a graph brings its outcomes under "
             "every surrogate → victim pair), Holm-adjusted over the rows of the table, α = 0.05; `not testable` where "
             "records carry no per-graph outcomes.")
#: per protocol: the transfer grid's TOML
CONFIGS = {"seeds": "transfer.toml", "cv10": "transfer_cv10.toml"}


def markdown(frame: pd.DataFrame, units: str = "victim seeds", config: str = "transfer.toml") -> list[str]:
    """Markdown lines: the summary (transfer against white-box), the standing (CAMA against its
    rival in transfer), then per dataset one table (rows attack ← surrogate, columns victims;
    cells ASR [95 % CI])."""
    budget = frame.attrs.get("budget", 0.1)
    lines = [f"## Transferability at ρ = {budget:g} (surrogate → victim)", "",
             f"Rows: attack ← surrogate architecture; columns: victim architecture; cells: ASR on the victim "
             f"(mean over {units}) and its 95 % interval. The diagonal is white-box; off it the attack saw only the "
             "surrogate (trained on the same split) and was scored on the victim, which it never queried "
             f"(`cama bench --config {config}`). `kept` = transfer ASR ÷ white-box ASR; the verdict compares "
             "each attack's transfer outcomes with its white-box outcomes on the same graphs (`significantly "
             "behind` = weaker in transfer). " + TEST_NOTE.format(units=units), "",
             tests_markdown(summary(frame), ".3f"), ""]
    stand = standing(frame)
    if len(stand):
        lines += ["### CAMA against its rival in transfer", "",
                  "Per dataset and target group: the strongest CAMA attack in transfer against the strongest gradient "
                  "competitor (structure: GRBCD / PRBCD; features: the gradient feature attacks; structure + features: "
                  "grad-combined), pooled over every surrogate → victim pair. `*` = seeded sample.", "",
                  tests_markdown(stand, ".3f"), ""]
    archs = _archs(frame)
    for ds in _datasets(frame):
        rows = []
        for attack in sorted(frame[frame.dataset == ds].attack.unique()):
            m, lo, hi = (matrix(frame, ds, attack, v) for v in ("asr", "asr_lo", "asr_hi"))
            for sur in archs:
                cells = {}
                for v in archs:
                    if pd.isna(m.loc[sur, v]):
                        cells[v] = ""
                        continue
                    asr = f"**{m.loc[sur, v]:.2f}**" if sur == v else f"{m.loc[sur, v]:.2f}"
                    cells[v] = f"{asr} [{lo.loc[sur, v]:.2f}, {hi.loc[sur, v]:.2f}]"
                rows.append({"attack ← surrogate": f"{attack} ← {sur}", **cells})
        lines += [f"### {ds} (transfer)", "", pd.DataFrame(rows).to_markdown(index=False), ""]
    return lines


def heatmaps(frame: pd.DataFrame, folder: Path) -> tuple[list[Path], dict[str, str]]:
    """One PNG per dataset: a surrogate × victim heatmap per attack; returns paths and data URIs."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plots import save_figure

    folder.mkdir(parents=True, exist_ok=True)
    archs = _archs(frame)
    paths, images = [], {}
    for ds in _datasets(frame):
        attacks = sorted(frame[frame.dataset == ds].attack.unique())
        fig, axes = plt.subplots(1, len(attacks), figsize=(3.2 * len(attacks), 3.3), squeeze=False)
        for k, (ax, attack) in enumerate(zip(axes[0], attacks)):
            m = matrix(frame, ds, attack)
            im = ax.imshow(m.to_numpy(dtype=float), vmin=0, vmax=1, cmap="viridis")
            for i in range(len(archs)):
                for j in range(len(archs)):
                    v = m.iloc[i, j]
                    if not pd.isna(v):
                        ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=8,
                                color="black" if v > 0.6 else "white", fontweight="bold" if i == j else "normal")
            ax.set_xticks(range(len(archs)), archs, rotation=45, fontsize=8)
            ax.set_yticks(range(len(archs)), archs if k == 0 else [""] * len(archs), fontsize=8)
            ax.set_title(attack, fontsize=9)
            ax.set_xlabel("victim", fontsize=8)
        axes[0][0].set_ylabel("surrogate", fontsize=8)
        fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8, label="ASR")
        fig.suptitle(f"{ds}: transfer ASR at ρ = {frame.attrs.get('budget', 0.1):g} (diagonal = white-box)",
                     fontsize=10)
        path = folder / f"transfer_{ds}.png"
        images[f"transferability — {ds}"] = save_figure(fig, path)
        paths.append(path)
    return paths, images


def load_transfer(runs: str | Path, budget: float = 0.1) -> pd.DataFrame:
    return transfer_frame(load_records(runs), budget)
