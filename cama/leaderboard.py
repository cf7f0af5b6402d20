"""Leaderboard: aggregate run records (pandas) into tables and plots.

Cells are mean ± std over victim seeds (population std, ddof=0). Per dataset and victim, one
table per *target group* (structure-only, feature-only, both budgets: attacks of different
targets are never ranked in one column): rows = attacks, columns = budgets, cell = ASR (and
accuracy under attack); the best ASR per column is bold; ``avg rank`` is the mean over budgets
of the attack's ASR rank within its group (1 = strongest); each row names the attack's knowledge
(gradients / queries / none) and its victim queries and seconds per graph. Sections follow the
grid's dataset order (:data:`DATASET_ORDER`, then alphabetical) and victim order.
At the top, a summary per target group (:func:`summary_table`: each attack's mean rank and ASR
per budget over the cells it ran on, its cost, and how many cells), CAMA's standing against
RBCD and the Graph-CAM ablation.
Outputs: ``LEADERBOARD.md``, ``leaderboard.csv`` (long format), ``leaderboard.tex``,
``leaderboard.html`` (one self-contained page, :func:`leaderboard_page`: the summaries, the
plots embedded, one sortable and filterable table of every cell),
``plots/asr_vs_budget_<dataset>.png`` and ``plots/time_vs_asr.png``.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .errors import CamaError
from .records import load_records, versions, write_text_atomic

KEYS = ["dataset", "victim", "attack", "budget_kind", "budget"]
#: the leaderboard grid's dataset order (bench.toml); other datasets follow alphabetically
DATASET_ORDER = ["MUTAG", "PROTEINS", "NCI1", "IMDB-BINARY", "IMDB-MULTI", "REDDIT-BINARY", "DD", "ENZYMES"]
TARGET_GROUPS = ("structure", "features", "both")


def target_group(targets) -> str:
    """``structure``, ``features`` or ``both`` from a record's ``targets`` list."""
    targets = set(targets) if isinstance(targets, (list, tuple, set)) else {"structure"}
    return "both" if len(targets) == 2 else next(iter(targets))


def section_order(agg: pd.DataFrame) -> list[tuple[str, str]]:
    """(dataset, victim) pairs in grid order: DATASET_ORDER then alphabetical; victims by registry."""
    from victims import ARCHITECTURES

    ds_rank = {d: i for i, d in enumerate(DATASET_ORDER)}
    v_rank = {v: i for i, v in enumerate(ARCHITECTURES)}
    pairs = agg[["dataset", "victim"]].drop_duplicates().itertuples(index=False)
    return sorted(((d, v) for d, v in pairs),
                  key=lambda p: (ds_rank.get(p[0], len(ds_rank)), p[0], v_rank.get(p[1], len(v_rank)), p[1]))


def attack_labels(df: pd.DataFrame) -> pd.Series:
    """The record's ``label`` (a named ``cama bench`` variant) where it has one; else the attack
    name, plus its parameters where one attack appears with several settings; plus
    ``←surrogate`` in transfer mode."""
    params = df["params"].map(lambda p: json.dumps(p, sort_keys=True))
    named = df["label"].notna() if "label" in df else pd.Series(False, index=df.index)
    multi = params[~named].groupby(df["attack"][~named]).transform("nunique").reindex(df.index, fill_value=1) > 1
    label = df["attack"].where(~multi, df["attack"] + params.map(lambda s: f" {s}"))
    if "label" in df:
        label = label.where(~named, df["label"])
    ext = df.get("external")
    if ext is not None:  # a user attack from a file: marked on every table
        label = label.where(ext.isna(), label + " (external)")
    sur = df.get("surrogate")
    if sur is not None:
        label = label.where(sur.isna(), label + "←" + sur.astype(str))
    return label


def latest(df: pd.DataFrame) -> pd.DataFrame:
    """One record per (dataset, victim, victim seed, attack label, budget): the newest. Records of
    an older run of the same cell (e.g. another sample size) are superseded, never averaged in."""
    label = attack_labels(df)
    key = pd.DataFrame({"d": df["dataset"], "v": df["victim"], "s": df["victim_seed"], "a": label,
                        "k": df["budget_kind"], "b": df["budget"]})
    order = df.sort_values("created_at", kind="stable").index
    keep = ~key.loc[order].duplicated(keep="last")
    return df.loc[order[keep.values]].sort_index()


def aggregate(records: list[dict]) -> pd.DataFrame:
    if not records:
        raise CamaError("No run records found; run `cama attack` or `cama bench` first (or pass --runs DIR).")
    df = latest(pd.DataFrame(records))
    n_used = len(df)
    df["attack"] = attack_labels(df)
    df["sampled"] = df.get("sampled", False)
    df["group"] = df["targets"].map(target_group) if "targets" in df else "structure"
    df["knowledge"] = df["knowledge"].fillna("?") if "knowledge" in df else "?"
    df["relaxation"] = df["relaxation"].fillna("?") if "relaxation" in df else "?"
    g = df.groupby(KEYS, sort=False)
    out = g.agg(asr_mean=("asr", "mean"), asr_std=("asr", lambda s: s.std(ddof=0)),
                adv_acc_mean=("adv_acc", "mean"), adv_acc_std=("adv_acc", lambda s: s.std(ddof=0)),
                clean_acc_mean=("clean_acc", "mean"), n_seeds=("victim_seed", "nunique"),
                n_attacked=("n_attacked", "sum"), sampled=("sampled", "any"),
                seconds_per_graph=("seconds_per_graph", "mean"), queries_per_graph=("queries_per_graph", "mean"),
                mean_edge_flips=("mean_edge_flips", "mean"), mean_feature_edits=("mean_feature_edits", "mean"),
                group=("group", "first"), knowledge=("knowledge", "first"), relaxation=("relaxation", "first"))
    out = out.reset_index()
    out.attrs["records_used"] = n_used  # after superseded duplicates are dropped
    return out


def add_ranks(agg: pd.DataFrame) -> pd.DataFrame:
    """``rank`` of every attack within (dataset, victim, target group, budget) by ASR (1 = best, ties
    share the min)."""
    agg = agg.copy()
    agg["rank"] = agg.groupby(["dataset", "victim", "group", "budget_kind", "budget"])["asr_mean"].rank(
        ascending=False, method="min")
    return agg


def _cell(r, bold: bool) -> str:
    s = f"{r.asr_mean:.2f} ± {r.asr_std:.2f} ({r.adv_acc_mean:.2f})"
    return f"**{s}**" if bold else s


def block_tables(agg: pd.DataFrame):
    """Yield (dataset, victim, target group, wide DataFrame of formatted cells with avg rank,
    knowledge, queries and seconds per graph), in :func:`section_order`."""
    agg = add_ranks(agg)
    for ds, victim in section_order(agg):
        both = agg[(agg.dataset == ds) & (agg.victim == victim)]
        for group in TARGET_GROUPS:
            part = both[both.group == group]
            if len(part):
                yield ds, victim, group, _wide(part)


def _wide(part: pd.DataFrame) -> pd.DataFrame:
    best = part.groupby("budget")["asr_mean"].transform("max")
    part = part.assign(cell=[_cell(r, r.asr_mean == b and r.asr_mean > 0) for r, b in zip(part.itertuples(), best)])
    wide = part.pivot(index="attack", columns="budget", values="cell")
    wide.columns = [f"ρ={b:g}" for b in wide.columns]
    by = part.groupby("attack")
    wide["avg rank"] = by["rank"].mean().round(2)
    wide["knowledge"] = by["knowledge"].first()
    wide["queries/graph"] = by["queries_per_graph"].mean().map(lambda v: f"{v:.0f}")
    wide["s/graph"] = by["seconds_per_graph"].mean().map(lambda v: f"{v:.4f}")
    sampled = by["sampled"].any()
    wide.index = [f"{a}*" if sampled[a] else a for a in wide.index]
    return wide.sort_values("avg rank")


def write_leaderboard(runs: str | Path, out: str | Path, command: str, victims_md: str | Path | None = None,
                      transfer_runs: str | Path | None = None) -> list[Path]:
    """Write every output (module docstring); with ``transfer_runs`` (the records of a transfer
    grid) also the transferability matrix (:mod:`cama.transfer`): tables, ``transfer.csv`` and
    heatmaps, in the markdown and on the page."""
    records = load_records(runs)
    agg = aggregate(records)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    csv = out / "leaderboard.csv"
    write_text_atomic(csv, add_ranks(agg).to_csv(index=False, float_format="%.4f"))
    written.append(csv)
    n_used = agg.attrs["records_used"]
    superseded = f" ({len(records) - n_used} older duplicates superseded)" if n_used < len(records) else ""
    header = [f"Produced by `{command}` from {n_used} run records in `{runs}`{superseded}.  ",
              f"Versions: {versions()}", "",
              "Cells: attack success rate, mean ± std over victim seeds (accuracy under attack in brackets); a graph "
              "counts as fooled at budget ρ when the attack's edits within any budget ≤ ρ fool it (monotone). One "
              "table per target group (structure / features / both budgets): attacks are ranked only against "
              "attacks of the same targets. Best ASR per budget in bold; avg rank over budgets within the group "
              "(1 = strongest); knowledge = what the attack uses (gradients / queries / none); queries/graph = "
              "victim passes per attacked graph (a forward, or forward + backward, of one graph); s/graph = attack "
              "+ evaluation seconds per attacked graph (budget-specific attacks, e.g. PRBCD and genetic, include the "
              "solves of all budgets of their run). Budget ρ: flips ≤ max(1, round(ρ·|E_g|)) and/or feature-edited "
              "nodes ≤ max(1, round(ρ·|V_g|)). `*` = run on a seeded sample of the attacked graphs (see "
              "`n_attacked` in the CSV).",
              ""]
    md = ["# cama leaderboard", ""] + header
    tex = ["% cama leaderboard. " + " ".join(header).replace("\n", " ")]
    clean = agg.groupby(["dataset", "victim"], sort=False)["clean_acc_mean"].first()
    sections = section_order(agg)
    titles = {(d, v): f"{d} — {v} (clean accuracy {clean[(d, v)]:.3f})" for d, v in sections}
    summaries = {g: summary_table(agg, g) for g in TARGET_GROUPS}
    for group, frame in summaries.items():
        if len(frame):
            md += [f"## Summary: {GROUP_TITLES[group]}", "", SUMMARY_NOTE, "",
                   _format_summary(frame).to_markdown(index=False), ""]
    extra = [(title, frame) for title, frame in (
        ("CAMA's standing at ρ = 0.1: best CAMA structure attack against the best of GRBCD / PRBCD", standing_table(agg)),
        ("What Graph-CAM adds at ρ = 0.1: cama-node against the same query search without importance",
         ablation_table(agg))) if len(frame)]
    for title, frame in extra:
        md += [f"## {title}", "", frame.to_markdown(index=False, floatfmt=".2f"), ""]
    md += ["Contents: " + " · ".join(f"[{d} — {v}](#{_anchor(titles[(d, v)])})" for d, v in sections), ""]
    for ds, victim, group, wide in block_tables(agg):
        if group == next(g for g in TARGET_GROUPS if ((agg.dataset == ds) & (agg.victim == victim) &
                                                     (agg.group == g)).any()):
            md += [f"## {titles[(ds, victim)]}", ""]
        md += [f"**{GROUP_TITLES[group]}**", "", wide.to_markdown(), ""]
        tex.append(wide.to_latex(caption=f"{ds} / {victim} / {GROUP_TITLES[group]}", escape=True).replace("**", ""))
    plots, images = write_plots(agg, out / "plots")
    transfer = None
    if transfer_runs is not None:
        from . import transfer as tm

        transfer = tm.load_transfer(transfer_runs)
        if transfer.empty:
            raise CamaError(f"No ratio-budget records at ρ = 0.1 in {transfer_runs}; run `cama bench --config "
                            "transfer.toml` first (or drop --transfer-runs).")
        md += tm.markdown(transfer)
        write_text_atomic(out / "transfer.csv", transfer.to_csv(index=False, float_format="%.4f"))
        written.append(out / "transfer.csv")
        t_paths, t_images = tm.heatmaps(transfer, out / "plots")
        plots += t_paths
        transfer = (tm.summary(transfer), t_images)
    if victims_md and Path(victims_md).is_file():
        md += ["## Victims (clean accuracy)", "", Path(victims_md).read_text().split("\n", 2)[-1]]
    html = leaderboard_page(agg, header, summaries, extra, images, transfer)
    for name, text in (("LEADERBOARD.md", "\n".join(md)), ("leaderboard.tex", "\n\n".join(tex)),
                       ("leaderboard.html", html)):
        write_text_atomic(out / name, text)
        written.append(out / name)
    return written + plots


SUMMARY_NOTE = ("Mean over the dataset × victim cells each attack ran on (`cells`); rank within the target group "
                "per cell and budget (1 = strongest).")


def _format_summary(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if col.startswith(("rank", "mean rank")):
            out[col] = out[col].map(lambda v: f"{v:.2f}")
        elif col.startswith("ASR"):
            out[col] = out[col].map(lambda v: f"{v:.3f}")
    out["queries/graph"] = out["queries/graph"].map(lambda v: f"{v:.0f}")
    out["s/graph"] = out["s/graph"].map(lambda v: f"{v:.4f}")
    return out


#: columns of the page's table of every cell: (key, title)
CELL_COLUMNS = [("dataset", "dataset"), ("victim", "victim"), ("attack", "attack"), ("target", "target"),
                ("knowledge", "knowledge"), ("budget", "budget ρ"), ("asr", "ASR"), ("asr_std", "± std"),
                ("adv_acc", "acc. under attack"), ("rank", "rank"), ("queries", "queries/graph"),
                ("s_graph", "s/graph"), ("graphs", "graphs attacked"), ("seeds", "seeds")]


def leaderboard_page(agg: pd.DataFrame, header: list[str], summaries: dict, extra: list, images: dict[str, str],
                     transfer: tuple[pd.DataFrame, dict[str, str]] | None = None) -> str:
    """The self-contained leaderboard page (:mod:`cama.page`): summary per target group, CAMA's
    standing, the ablation, the plots, and one sortable, filterable table of every cell."""
    from .page import data_table, esc, inline_markdown, page, static_table

    ranked = add_ranks(agg)
    ds_rank = {d: i for i, d in enumerate(d for d, _ in section_order(agg))}
    ranked = ranked.assign(_d=ranked.dataset.map(ds_rank)).sort_values(["_d", "victim", "group", "attack", "budget"])
    rows = [(r.dataset, r.victim, r.attack + ("*" if r.sampled else ""), r.group, r.knowledge, float(r.budget),
             float(r.asr_mean), float(r.asr_std), float(r.adv_acc_mean), int(r.rank), float(r.queries_per_graph),
             float(r.seconds_per_graph), float(round(r.n_attacked / max(r.n_seeds, 1), 1)), int(r.n_seeds))
            for r in ranked.itertuples()]
    bold = [[key == "asr" and r.rank == 1 and r.asr_mean > 0 for key, _ in CELL_COLUMNS] for r in ranked.itertuples()]
    body = ["<h1>cama leaderboard</h1>",
            '<nav><a href="#summary">summary</a><a href="#standing">CAMA\'s standing</a>'
            '<a href="#plots">plots</a>' + ('<a href="#transfer">transferability</a>' if transfer else "") +
            '<a href="#cells">every cell</a></nav>',
            "<p class=\"note\">" + inline_markdown(" ".join(header)) + "</p>", '<h2 id="summary">Summary</h2>',
            f'<p class="note">{inline_markdown(SUMMARY_NOTE)}</p>']
    for group, frame in summaries.items():
        if len(frame):
            body += [f"<h3>{esc(GROUP_TITLES[group])}</h3>", static_table(_format_summary(frame))]
    for i, (title, frame) in enumerate(extra):
        body += [f'<h2{" id=standing" if i == 0 else ""}>{esc(title)}</h2>', static_table(frame)]
    body.append('<h2 id="plots">Plots</h2>')
    body += [f'<h3>{esc(name)}</h3><img alt="{esc(name)}" src="{uri}">' for name, uri in images.items()]
    if transfer:
        t_summary, t_images = transfer
        body += ['<h2 id="transfer">Transferability (surrogate → victim, ρ = 0.1)</h2>',
                 '<p class="note">Diagonal: white-box. Off it the attack saw only the surrogate (same split) and was '
                 'scored on the victim, which it never queried. <code>kept</code> = transfer ASR ÷ white-box ASR.</p>',
                 static_table(t_summary, float_format="{:.3f}")]
        body += [f'<h3>{esc(name)}</h3><img alt="{esc(name)}" src="{uri}">' for name, uri in t_images.items()]
    body += ['<h2 id="cells">Every cell</h2>',
             '<p class="note">Click a header to sort; the URL fragment <code>#sort=asr&amp;dir=desc&amp;dataset=MUTAG'
             '</code> does the same. Bold: best ASR of its dataset × victim × target group × budget. '
             '<code>graphs attacked</code> per seed; <code>*</code> = seeded sample.</p>',
             data_table("cells", CELL_COLUMNS, rows, filters=("dataset", "victim", "attack", "target"), bold=bold)]
    return page("cama leaderboard", body)


def summary_table(agg: pd.DataFrame, group: str) -> pd.DataFrame:
    """Per attack of target ``group``, over every dataset × victim cell it ran on: its mean rank
    and mean ASR per budget, mean victim queries and seconds per graph, and the number of cells
    (an attack run on fewer cells than others is averaged over those cells only: compare with
    care). Rows by mean rank over budgets (1 = strongest)."""
    part = add_ranks(agg)
    part = part[part.group == group]
    if part.empty:
        return pd.DataFrame()
    by = part.groupby("attack")
    out = pd.DataFrame(index=sorted(part.attack.unique()))
    for b in sorted(part.budget.unique()):
        at = part[(part.budget - b).abs() < 1e-12].groupby("attack")
        out[f"rank ρ={b:g}"] = at["rank"].mean()
        out[f"ASR ρ={b:g}"] = at["asr_mean"].mean()
    out["mean rank"] = by["rank"].mean()
    out["knowledge"] = by["knowledge"].first()
    out["queries/graph"] = by["queries_per_graph"].mean().round(0)
    out["s/graph"] = by["seconds_per_graph"].mean()
    out["cells"] = by.apply(lambda f: len(f[["dataset", "victim"]].drop_duplicates()), include_groups=False)
    out = out.sort_values("mean rank")
    out.index.name = "attack"
    return out.reset_index()


CAMA_STRUCTURE = ("cama-node", "cama-subgraph")
RBCD = ("grbcd", "prbcd")
SEARCH_FREE = ("search-random", "search-degree")


def _at(agg: pd.DataFrame, budget: float) -> pd.DataFrame:
    return agg[(agg.budget_kind == "ratio") & ((agg.budget - budget).abs() < 1e-9)]


def standing_table(agg: pd.DataFrame, budget: float = 0.1) -> pd.DataFrame:
    """Per dataset × victim at ρ = ``budget``: the best CAMA structure attack against the best of
    GRBCD / PRBCD, each with its ASR and victim queries per graph."""
    at = _at(agg, budget)
    rows = []
    for ds, victim in section_order(at):
        part = at[(at.dataset == ds) & (at.victim == victim)].set_index("attack")
        cama = part.loc[part.index.intersection(CAMA_STRUCTURE)]
        rbcd = part.loc[part.index.intersection(RBCD)]
        if cama.empty or rbcd.empty:
            continue
        c, r = cama.asr_mean.idxmax(), rbcd.asr_mean.idxmax()
        rows.append({"dataset": ds, "victim": victim, "best CAMA": c, "ASR": cama.asr_mean[c],
                     "queries/graph": cama.queries_per_graph[c], "best RBCD": r + ("*" if rbcd.sampled[r] else ""),
                     "ASR ": rbcd.asr_mean[r], "queries/graph ": rbcd.queries_per_graph[r],
                     "CAMA − RBCD": cama.asr_mean[c] - rbcd.asr_mean[r]})
    return pd.DataFrame(rows)


def ablation_table(agg: pd.DataFrame, budget: float = 0.1) -> pd.DataFrame:
    """Per dataset × victim at ρ = ``budget``: cama-node (Graph-CAM-chosen candidates) against the
    same query search over candidates chosen without importance (random, degree), with queries."""
    at = _at(agg, budget)
    rows = []
    for ds, victim in section_order(at):
        part = at[(at.dataset == ds) & (at.victim == victim)].set_index("attack")
        if "cama-node" not in part.index or not part.index.intersection(SEARCH_FREE).size:
            continue
        row = {"dataset": ds, "victim": victim}
        for name in ("cama-node", *SEARCH_FREE):
            if name in part.index:
                row[f"{name} ASR"] = part.asr_mean[name]
                row[f"{name} q/g"] = part.queries_per_graph[name]
        best_free = max(part.asr_mean.get(n, float("-inf")) for n in SEARCH_FREE)
        row["Graph-CAM − best importance-free"] = part.asr_mean["cama-node"] - best_free
        rows.append(row)
    return pd.DataFrame(rows)


GROUP_TITLES = {"structure": "structure attacks (edge-flip budget)", "features": "feature attacks (node budget)",
                "both": "structure + feature attacks (both budgets)"}


def _anchor(title: str) -> str:
    """GitHub's anchor of a markdown heading: lower case, punctuation dropped, spaces → '-'."""
    import re

    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def write_plots(agg: pd.DataFrame, folder: Path) -> tuple[list[Path], dict[str, str]]:
    """Write the PNG plots; return their paths and, per plot title, a smaller PNG as a data URI
    for the page."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    paths, images = [], {}
    attacks = sorted(agg.attack.unique())
    cmap = plt.get_cmap("tab20")
    color = {a: cmap(i % 20) for i, a in enumerate(attacks)}  # one colour per attack in every plot
    order = section_order(agg)
    for ds in dict.fromkeys(d for d, _ in order):
        part = agg[agg.dataset == ds]
        victims = [v for d, v in order if d == ds]
        fig, axes = plt.subplots(1, len(victims), figsize=(4.5 * len(victims), 3.8), squeeze=False, sharey=True)
        for ax, victim in zip(axes[0], victims):
            sub = part[part.victim == victim]
            for attack, line in sub.groupby("attack", sort=True):
                line = line.sort_values("budget")
                ax.plot(line.budget, line.asr_mean, marker="o", label=attack, color=color[attack])
                ax.fill_between(line.budget, line.asr_mean - line.asr_std, line.asr_mean + line.asr_std, alpha=0.12,
                                color=color[attack])
            ax.set_title(f"{ds} / {victim}")
            ax.set_xlabel("budget ρ")
            ax.grid(alpha=0.3)
        axes[0][0].set_ylabel("attack success rate")
        handles = [plt.Line2D([], [], color=color[a], marker="o", label=a) for a in attacks if a in set(part.attack)]
        axes[0][-1].legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
        path = folder / f"asr_vs_budget_{ds}.png"
        images[f"ASR vs budget — {ds}"] = _save(fig, path)
        paths.append(path)
    mid = agg[agg.budget == sorted(agg.budget.unique())[len(agg.budget.unique()) // 2]]
    per_attack = mid.groupby("attack").agg(t=("seconds_per_graph", "mean"), asr=("asr_mean", "mean"))
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for attack, r in per_attack.iterrows():
        ax.scatter(r.t, r.asr, s=40, color=color[attack])
        ax.annotate(attack, (r.t, r.asr), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("seconds per attacked graph (log)")
    ax.set_ylabel(f"mean ASR at ρ={mid.budget.iloc[0]:g}" if len(mid) else "ASR")
    ax.set_title("cost vs strength (mean over the dataset × victim cells each attack ran on)", fontsize=9)
    ax.grid(alpha=0.3)
    path = folder / "time_vs_asr.png"
    images["cost vs strength"] = _save(fig, path)
    return paths + [path], images


def _save(fig, path: Path) -> str:
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
