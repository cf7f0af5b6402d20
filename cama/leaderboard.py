"""Leaderboard: aggregate run records (pandas) into tables and plots.

Cells are the mean ASR over victim seeds with its 95 % Wilson interval (fooled and attacked graphs
pooled over seeds, :mod:`cama.stats`; the std over seeds is in the CSV). Per dataset and victim, one
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

from pathlib import Path

import pandas as pd

from .aggregate import (  # noqa: F401  (re-exported: the public names of cama.leaderboard)
    DATASET_ORDER,
    GROUP_TITLES,
    KEYS,
    SUMMARY_NOTE,
    TARGET_GROUPS,
    _format_summary,
    ablation_table,
    add_ranks,
    aggregate,
    attack_labels,
    latest,
    section_order,
    standing_table,
    summary_table,
    target_group,
)
from .errors import CamaError
from .records import load_records, single_protocol, versions, write_text_atomic
from .stats import count_verdicts
from .tables import format_tests, tests_markdown


TEST_NOTE = ("ASRs with 95 % Wilson intervals (graphs pooled over {units}). Verdict: exact McNemar test "
             "on the graphs both attacks attacked (({unit}, graph) pairs), Holm-adjusted over the rows of this table, "
             "α = 0.05; a row whose records carry no per-graph outcomes is not testable. Left attack against "
             "right:")


#: what a leaderboard's replicates are, per protocol (records of one protocol only: single_protocol)
UNITS = {"seeds": "victim seeds", "cv10": "folds"}
PROTOCOL_NOTES = {
    "seeds": "Protocol v1 (`seeds`): each victim is trained on a seeded stratified 80/10/10 split of its seed; a "
             "cell attacks the correctly classified test graphs of each seed's victim.",
    "cv10": "Protocol v2 (`cv10`): the victims are the selected models of stratified 10-fold cross-validation "
            "(Errica et al., ICLR 2020; `cama cv`, grid hidden {32, 64} × dropout {0, 0.5} × lr {0.01, 0.001} on an "
            "inner 90/10 split, REDDIT-BINARY one configuration as `results/victims_cv.md` states); a cell attacks "
            "the correctly classified test graphs of every fold, each on its own fold's victim, so every graph of "
            "the dataset is attacked at most once (`*`: a seeded sample per fold)."}


def _cell(r, bold: bool) -> str:
    s = f"{r.asr_mean:.2f} [{r.asr_lo:.2f}, {r.asr_hi:.2f}] ({r.adv_acc_mean:.2f})"
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
                      transfer_runs: str | Path | None = None, constrained_runs: str | Path | None = None,
                      cost_runs: str | Path | None = None, defended_runs: str | Path | None = None) -> list[Path]:
    """Write every output (module docstring); with ``transfer_runs`` (the records of a transfer
    grid) also the transferability matrix (:mod:`cama.transfer`): tables, ``transfer.csv`` and
    heatmaps, in the markdown and on the page; with ``constrained_runs`` the unnoticeable view
    (:mod:`cama.unnoticeable`): tables and ``unnoticeable.csv``; with ``cost_runs`` the
    cost-matched comparison (:mod:`cama.cost`): tables, ``cost.csv`` and ``plots/cost.png``; with
    ``defended_runs`` the robust-accuracy view of defended victims (:mod:`cama.robust`): tables,
    ``robust.csv`` and ``plots/robust.png``."""
    records = load_records(runs)
    views = {str(p): load_records(p) for p in (transfer_runs, constrained_runs, cost_runs, defended_runs) if p}
    protocol = single_protocol({str(runs): records, **views})
    del views
    agg, pending = complete_sections(aggregate(records), protocol)
    from . import cost, robust
    from . import transfer as tm
    from . import unnoticeable as un

    # every optional view's records are read, and refused, before anything is written
    transfer_rows = tm.load_transfer(transfer_runs) if transfer_runs is not None else None
    if transfer_rows is not None and transfer_rows.empty:
        raise CamaError(f"No ratio-budget records at ρ = 0.1 in {transfer_runs}; run `cama bench --config "
                        "transfer.toml` first (or drop --transfer-runs).")
    unnoticed = un.load_unnoticeable(constrained_runs) if constrained_runs is not None else None
    costs = cost.load_cost(cost_runs) if cost_runs is not None else None
    defended = robust.load_robust(defended_runs) if defended_runs is not None else None
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []

    def write_csv(name: str, frame: pd.DataFrame) -> None:
        path = out / name
        write_text_atomic(path, frame.to_csv(index=False, float_format="%.4f"))
        written.append(path)

    write_csv("leaderboard.csv", add_ranks(agg))
    n_used = agg.attrs["records_used"]
    superseded = f" ({len(records) - n_used} older duplicates superseded)" if n_used < len(records) else ""
    header = [f"Produced by `{command}` from {n_used} run records in `{runs}`{superseded}.  ",
              f"Versions: {versions()}", "", PROTOCOL_NOTES[protocol], "",
              f"Cells: attack success rate, mean over {UNITS[protocol]}, with its 95 % Wilson interval in brackets "
              f"(fooled and attacked graphs pooled over {UNITS[protocol]}; the std over them is in the CSV), accuracy "
              "under attack in parentheses; a graph "
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
    partial = pending + _partial_coverage(agg, UNITS[protocol])
    if partial:
        header[-1:-1] = [partial]
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
        ("CAMA's standing at ρ = 0.1 (features): cama-feature against the best gradient feature attack",
         standing_table(agg, group="features")),
        ("CAMA's standing at ρ = 0.1 (structure + features): cama against grad-combined",
         standing_table(agg, group="both")),
        ("What Graph-CAM adds at ρ = 0.1: each CAMA attack against the same method without importance",
         ablation_table(agg))) if len(frame)]
    for title, frame in extra:
        md += [f"## {title}", "", TEST_NOTE.format(units=UNITS[protocol], unit=UNITS[protocol].split()[-1][:-1])
               + " " + count_verdicts(frame.to_dict("records")) + ".", "",
               tests_markdown(frame, ".2f"), ""]
    md += ["Contents: " + " · ".join(f"[{d} — {v}](#{_anchor(titles[(d, v)])})" for d, v in sections), ""]
    for ds, victim, group, wide in block_tables(agg):
        if group == next(g for g in TARGET_GROUPS if ((agg.dataset == ds) & (agg.victim == victim) &
                                                     (agg.group == g)).any()):
            md += [f"## {titles[(ds, victim)]}", ""]
        md += [f"**{GROUP_TITLES[group]}**", "", wide.to_markdown(), ""]
        tex.append(wide.to_latex(caption=f"{ds} / {victim} / {GROUP_TITLES[group]}", escape=True).replace("**", ""))
    from .leaderboard_page import leaderboard_page
    from .plots import write_plots

    plots, images = write_plots(agg, out / "plots")
    transfer = None
    if transfer_rows is not None:
        md += tm.markdown(transfer_rows, UNITS[protocol], tm.CONFIGS[protocol])
        write_csv("transfer.csv", transfer_rows)
        t_paths, t_images = tm.heatmaps(transfer_rows, out / "plots")
        plots += t_paths
        transfer = ([("transfer against white-box", tm.summary(transfer_rows)),
                     ("CAMA against its rival in transfer", tm.standing(transfer_rows))], t_images)
    if unnoticed is not None:
        md += un.markdown(unnoticed, protocol=protocol)
        write_csv("unnoticeable.csv", unnoticed)
        extra += [("Unnoticeable attacks at ρ = 0.1: what each attack keeps under domain constraints",
                   un.summary(unnoticed)), ("Unnoticeable attacks per dataset (ρ = 0.1)", unnoticed)]
    if costs is not None:
        md += cost.markdown(costs, protocol)
        write_csv("cost.csv", costs)
        images["ASR against victim passes (ρ = 0.1)"] = cost.plot(costs, out / "plots" / "cost.png")
        plots.append(out / "plots" / "cost.png")
        extra += [("Cost-matched claims at ρ = 0.1", cost.claims(costs))]
    if defended is not None:
        frame, partial_cells, defence_tests = defended
        md += robust.markdown(frame, partial_cells, tests=defence_tests, protocol=protocol)
        write_csv("robust.csv", frame)
        images[f"Robust accuracy against budget (suite {robust.get_suite('standard').tag})"] = robust.plot(frame, out / "plots" / "robust.png")
        plots.append(out / "plots" / "robust.png")
        extra += [("Defended victims: robust accuracy over the suite", robust.wide(frame, protocol))]
        if not defence_tests.empty:
            extra += [("Does the defence help? Defended against undefended at ρ = 0.1", format_tests(defence_tests))]
    if victims_md and Path(victims_md).is_file():
        md += ["## Victims (clean accuracy)", "", Path(victims_md).read_text().split("\n", 2)[-1]]
    html = leaderboard_page(agg, header, summaries, extra, images, transfer)
    for name, text in (("LEADERBOARD.md", "\n".join(md)), ("leaderboard.tex", "\n\n".join(tex)),
                       ("leaderboard.html", html)):
        write_text_atomic(out / name, text)
        written.append(out / name)
    return written + plots


def complete_sections(agg: pd.DataFrame, protocol: str) -> tuple[pd.DataFrame, str]:
    """Under cv10, only dataset × victim sections whose every cell has all the protocol's folds:
    a cell pools the graphs of every fold, so a section still running would rank and test attacks on
    different graphs. Returns the kept cells and a sentence naming the pending sections ("" when
    none is; protocol seeds keeps every cell, :func:`_partial_coverage` names the short ones)."""
    if protocol != "cv10":
        return agg, ""
    from .cv import CVProtocol

    folds = CVProtocol().folds
    done = agg.groupby(["dataset", "victim"], sort=False)["n_seeds"].transform("min") >= folds
    if done.all():
        return agg, ""
    short = agg[~done]
    per = [f"{d} {v} ({int((part.n_seeds >= folds).sum())} of {len(part)} cells on all folds)"
           for (d, v), part in short.groupby(["dataset", "victim"], sort=False)]
    if not done.any():
        raise CamaError(f"No dataset × victim of these records has all {folds} folds of every cell yet: "
                        f"{'; '.join(per)}. Finish the grid (`cama bench` resumes) and rerun.")
    kept = agg[done].reset_index(drop=True)
    kept.attrs = {**agg.attrs, "records_used": agg.attrs["records_used"] - int(short.n_seeds.sum())}
    return kept, (f" **Pending** (not in any table until every cell has all {folds} folds; `cama bench` resumes): "
                  f"{'; '.join(per)}.")


def _partial_coverage(agg: pd.DataFrame, units: str = "victim seeds") -> str:
    """A sentence naming the datasets whose cells ran on fewer victim seeds than the others
    (``n_seeds`` per cell is in the CSV), and the attacks missing for a victim although they ran on
    the dataset's other victims; "" when coverage is complete."""
    most = int(agg.n_seeds.max())
    short = agg[agg.n_seeds < most]
    out = ""
    if not short.empty:
        per = [f"{d} ({len(short[short.dataset == d])} of {len(agg[agg.dataset == d])} cells)"
               for d in dict.fromkeys(short.dataset)]
        out = (f" **Partly run:** cells on fewer than {most} {units} (mean over those run; `n_seeds` in "
               f"the CSV): {', '.join(per)}.")
    missing = []
    for ds, part in agg.groupby("dataset", sort=False):
        attacks = set(part.attack)
        for victim, rows in part.groupby("victim", sort=False):
            gone = sorted(attacks - set(rows.attack))
            if gone:
                missing.append(f"{ds} {victim}: {', '.join(gone)}")
    if missing:
        out += f" **Missing cells** (not run yet): {'; '.join(missing)}."
    return out


def _anchor(title: str) -> str:
    """GitHub's anchor of a markdown heading: lower case, punctuation dropped, spaces → '-'."""
    import re

    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
