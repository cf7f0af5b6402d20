"""Leaderboard plots: ASR vs budget per dataset, cost vs strength; saved atomically, and
embedded in the page as small PNG data URIs."""
from __future__ import annotations

from pathlib import Path

import pandas as pd


def write_plots(agg: pd.DataFrame, folder: Path) -> tuple[list[Path], dict[str, str]]:
    """Write the PNG plots; return their paths and, per plot title, a smaller PNG as a data URI
    for the page."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    paths, images = [], {}
    attacks = sorted(agg.attack.unique())
    cmap = plt.get_cmap("tab10")
    # one style per attack in every plot: ten strong colours, then dashed; a marker each
    color = {a: cmap(i % 10) for i, a in enumerate(attacks)}
    dash = {a: "-" if i < 10 else "--" for i, a in enumerate(attacks)}
    mark = {a: "osD^vP*Xph"[i % 10] for i, a in enumerate(attacks)}
    from .aggregate import section_order

    order = section_order(agg)
    for ds in dict.fromkeys(d for d, _ in order):
        part = agg[agg.dataset == ds]
        victims = [v for d, v in order if d == ds]
        fig, axes = plt.subplots(1, len(victims), figsize=(4.5 * len(victims), 3.8), squeeze=False, sharey=True)
        for ax, victim in zip(axes[0], victims):
            sub = part[part.victim == victim]
            for attack, line in sub.groupby("attack", sort=True):
                line = line.sort_values("budget")
                ax.plot(line.budget, line.asr_mean, marker=mark[attack], ls=dash[attack], label=attack,
                        color=color[attack])
                ax.fill_between(line.budget, line.asr_mean - line.asr_std, line.asr_mean + line.asr_std, alpha=0.12,
                                color=color[attack])
            ax.set_title(f"{ds} / {victim}")
            ax.set_xlabel("budget ρ")
            ax.grid(alpha=0.3)
        axes[0][0].set_ylabel("attack success rate")
        handles = [plt.Line2D([], [], color=color[a], marker=mark[a], ls=dash[a], label=a) for a in attacks
                   if a in set(part.attack)]
        axes[0][-1].legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
        path = folder / f"asr_vs_budget_{ds}.png"
        images[f"ASR vs budget — {ds}"] = save_figure(fig, path)
        paths.append(path)
    mid = agg[agg.budget == sorted(agg.budget.unique())[len(agg.budget.unique()) // 2]]
    per_attack = mid.groupby("attack").agg(t=("seconds_per_graph", "mean"), asr=("asr_mean", "mean"))
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for attack, r in per_attack.iterrows():
        ax.scatter(r.t, r.asr, s=40, color=color[attack], marker=mark[attack])
        ax.annotate(attack, (r.t, r.asr), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("seconds per attacked graph (log)")
    ax.set_ylabel(f"mean ASR at ρ={mid.budget.iloc[0]:g}" if len(mid) else "ASR")
    ax.set_title("cost vs strength (mean over the dataset × victim cells each attack ran on)", fontsize=9)
    ax.grid(alpha=0.3)
    path = folder / "time_vs_asr.png"
    images["cost vs strength"] = save_figure(fig, path)
    return paths + [path], images


def save_figure(fig, path: Path) -> str:
    """Save a figure atomically (:func:`cama.records.atomic_write`), close it, and return a 60-dpi
    copy as a PNG data URI (the page embeds these: a few hundred kB for the whole grid)."""
    import io

    import matplotlib.pyplot as plt

    from .page import png_data_uri
    from .records import atomic_write

    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png"), suffix=".png")
    small = io.BytesIO()
    fig.savefig(small, dpi=60, bbox_inches="tight", format="png")
    plt.close(fig)
    return png_data_uri(small.getvalue())
