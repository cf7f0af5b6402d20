"""The leaderboard's self-contained HTML page (built with :mod:`cama.page`)."""
from __future__ import annotations

import pandas as pd

from .aggregate import (
    GROUP_TITLES,
    SUMMARY_NOTE,
    _format_summary,
    add_ranks,
    section_order,
)

#: columns of the page's table of every cell: (key, title)
CELL_COLUMNS = [("dataset", "dataset"), ("victim", "victim"), ("attack", "attack"), ("target", "target"),
                ("knowledge", "knowledge"), ("budget", "budget ρ"), ("asr", "ASR"), ("asr_lo", "95% CI low"),
                ("asr_hi", "95% CI high"), ("asr_std", "± std"),
                ("adv_acc", "acc. under attack"), ("rank", "rank"), ("queries", "queries/graph"),
                ("s_graph", "s/graph"), ("graphs", "graphs attacked"), ("seeds", "seeds")]


def leaderboard_page(agg: pd.DataFrame, header: list[str], summaries: dict, extra: list, images: dict[str, str],
                     transfer: tuple[list[tuple[str, pd.DataFrame]], dict[str, str]] | None = None) -> str:
    """The self-contained leaderboard page (:mod:`cama.page`): summary per target group, CAMA's
    standing, the ablation, the plots, and one sortable, filterable table of every cell."""
    from .page import data_table, esc, inline_markdown, page, static_table

    ranked = add_ranks(agg)
    ds_rank = {d: i for i, d in enumerate(d for d, _ in section_order(agg))}
    ranked = ranked.assign(_d=ranked.dataset.map(ds_rank)).sort_values(["_d", "victim", "group", "attack", "budget"])
    rows = [(r.dataset, r.victim, r.attack + ("*" if r.sampled else ""), r.group, r.knowledge, float(r.budget),
             float(r.asr_mean), float(r.asr_lo), float(r.asr_hi), float(r.asr_std), float(r.adv_acc_mean), int(r.rank), float(r.queries_per_graph),
             float(r.seconds_per_graph), int(r.n_attacked), int(r.n_seeds))
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
        t_tables, t_images = transfer
        body += ['<h2 id="transfer">Transferability (surrogate → victim, ρ = 0.1)</h2>',
                 '<p class="note">Diagonal: white-box. Off it the attack saw only the surrogate (same split) and was '
                 'scored on the victim, which it never queried. <code>kept</code> = transfer ASR ÷ white-box ASR. Intervals: 95 % '
                 'Wilson; verdicts: paired bootstrap over graphs, Holm over each table.</p>',
                 *(f"<h3>{esc(title)}</h3>" + static_table(frame, float_format="{:.3f}")
                   for title, frame in t_tables if len(frame))]
        body += [f'<h3>{esc(name)}</h3><img alt="{esc(name)}" src="{uri}">' for name, uri in t_images.items()]
    body += ['<h2 id="cells">Every cell</h2>',
             '<p class="note">Click a header to sort; the URL fragment <code>#sort=asr&amp;dir=desc&amp;dataset=MUTAG'
             '</code> does the same. Bold: best ASR of its dataset × victim × target group × budget. '
             '<code>graphs attacked</code> over all seeds; <code>*</code> = seeded sample.</p>',
             data_table("cells", CELL_COLUMNS, rows, filters=("dataset", "victim", "attack", "target", "budget"), bold=bold)]
    return page("cama leaderboard", body)
