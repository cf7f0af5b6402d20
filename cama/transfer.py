"""The transferability matrix: surrogate architecture × victim architecture, per dataset and attack.

Built from the records of a transfer grid (``cama bench --config transfer.toml``): a record with
``surrogate = s`` is the transfer ASR of an attack computed on surrogate ``s`` against the
victim; a white-box record (``surrogate`` None) fills the diagonal (surrogate = victim).
Cells are means over victim seeds at one budget (default ρ = 0.1). The summary per attack gives
its mean white-box ASR (diagonal), mean transfer ASR (off-diagonal) and their ratio — how much of
its strength survives without access to the victim.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .records import load_records


def transfer_frame(records: list[dict], budget: float = 0.1) -> pd.DataFrame:
    """One row per (dataset, attack, surrogate, victim) at ratio budget ``budget``: ASR and edge
    flips, mean over seeds (the newest record of a cell wins, as in the leaderboard)."""
    from .aggregate import latest

    if not records:
        return pd.DataFrame()
    df = latest(pd.DataFrame(records))
    df = df[(df.budget_kind == "ratio") & ((df.budget - budget).abs() < 1e-9)].copy()
    if df.empty:
        return pd.DataFrame()
    label = df["label"] if "label" in df else pd.Series(None, index=df.index)
    df["attack"] = label.where(label.notna(), df["attack"])
    df["surrogate"] = df["surrogate"].where(df["surrogate"].notna(), df["victim"])
    out = df.groupby(["dataset", "attack", "surrogate", "victim"], sort=False).agg(
        asr=("asr", "mean"), flips=("mean_edge_flips", "mean"), seeds=("victim_seed", "nunique"),
        sampled=("sampled", "any")).reset_index()
    out.attrs["budget"] = budget
    return out


def _archs(frame: pd.DataFrame) -> list[str]:
    from victims import ARCHITECTURES

    present = set(frame.victim) | set(frame.surrogate)
    return [a for a in ARCHITECTURES if a in present] + sorted(present - set(ARCHITECTURES))


def _datasets(frame: pd.DataFrame) -> list[str]:
    from .aggregate import DATASET_ORDER

    rank = {d: i for i, d in enumerate(DATASET_ORDER)}
    return sorted(frame.dataset.unique(), key=lambda d: (rank.get(d, len(rank)), d))


def matrix(frame: pd.DataFrame, dataset: str, attack: str) -> pd.DataFrame:
    """Surrogates as rows, victims as columns, ASR cells (NaN where not run)."""
    archs = _archs(frame)
    part = frame[(frame.dataset == dataset) & (frame.attack == attack)]
    return part.pivot(index="surrogate", columns="victim", values="asr").reindex(index=archs, columns=archs)


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per attack: mean white-box ASR (diagonal), mean transfer ASR (off-diagonal), their ratio,
    mean flips per graph in transfer, and the number of transfer cells."""
    diag = frame[frame.surrogate == frame.victim]
    off = frame[frame.surrogate != frame.victim]
    out = pd.DataFrame({"white-box ASR": diag.groupby("attack").asr.mean(),
                        "transfer ASR": off.groupby("attack").asr.mean(),
                        "transfer flips/graph": off.groupby("attack").flips.mean(),
                        "transfer cells": off.groupby("attack").size()})
    out["kept"] = out["transfer ASR"] / out["white-box ASR"]
    out = out.sort_values("transfer ASR", ascending=False)
    out.index.name = "attack"
    return out.reset_index()


def markdown(frame: pd.DataFrame) -> list[str]:
    """Markdown lines: the summary, then per dataset one table (rows attack ← surrogate, columns victims)."""
    budget = frame.attrs.get("budget", 0.1)
    lines = [f"## Transferability at ρ = {budget:g} (surrogate → victim)", "",
             "Rows: attack ← surrogate architecture; columns: victim architecture; cells: ASR on the victim "
             "(mean over seeds). The diagonal is white-box; off it the attack saw only the surrogate (trained on "
             "the same split) and was scored on the victim, which it never queried (`cama bench --config "
             "transfer.toml`). `kept` = transfer ASR ÷ white-box ASR.", "",
             summary(frame).to_markdown(index=False, floatfmt=".3f"), ""]
    archs = _archs(frame)
    for ds in _datasets(frame):
        rows = []
        for attack in sorted(frame[frame.dataset == ds].attack.unique()):
            m = matrix(frame, ds, attack)
            for sur in archs:
                cells = {v: ("" if pd.isna(m.loc[sur, v]) else (f"**{m.loc[sur, v]:.2f}**" if sur == v
                                                                  else f"{m.loc[sur, v]:.2f}")) for v in archs}
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
