"""Aggregation of run records (pandas): cells as mean ± std over seeds, ranks, and the summary,
standing and ablation tables the leaderboard shows. No output is written here (see
:mod:`cama.leaderboard`)."""
from __future__ import annotations

import json

import pandas as pd

from .errors import CamaError
from .stats import compare, merge, outcome_of, wilson

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
    from victims import registry_rank

    ds_rank = {d: i for i, d in enumerate(DATASET_ORDER)}
    pairs = agg[["dataset", "victim"]].drop_duplicates().itertuples(index=False)
    return sorted(((d, v) for d, v in pairs),
                  key=lambda p: (ds_rank.get(p[0], len(ds_rank)), p[0], registry_rank(p[1]), p[1]))


def attack_labels(df: pd.DataFrame) -> pd.Series:
    """The record's ``label`` (a named ``cama bench`` variant) where it has one; else the attack
    name, plus its parameters where one attack appears with several settings; plus
    ``←surrogate`` in transfer mode, `` [constraints]`` under domain constraints."""
    params = df["params"].map(lambda p: json.dumps({k: v for k, v in p.items() if k != "constraints"}, sort_keys=True))
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
    cons = df["params"].map(lambda p: p.get("constraints", ""))
    return label.where(cons == "", label + " [" + cons + "]")


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
                n_attacked=("n_attacked", "sum"), n_success=("n_success", "sum"), sampled=("sampled", "any"),
                seconds_per_graph=("seconds_per_graph", "mean"), queries_per_graph=("queries_per_graph", "mean"),
                mean_edge_flips=("mean_edge_flips", "mean"), mean_feature_edits=("mean_feature_edits", "mean"),
                group=("group", "first"), knowledge=("knowledge", "first"), relaxation=("relaxation", "first"))
    out = out.reset_index()
    ci = [wilson(int(k), int(n)) for k, n in zip(out.n_success, out.n_attacked)]
    out["asr_lo"], out["asr_hi"] = [c[0] for c in ci], [c[1] for c in ci]
    out.attrs["records_used"] = n_used  # after superseded duplicates are dropped
    out.attrs["outcomes"] = _outcomes(df, g)
    return out


class SharedOutcomes(dict):
    """Per-graph outcomes kept in ``DataFrame.attrs``: read-only once built, so every copy of the
    frame shares them (pandas deep-copies ``attrs`` on each operation, which for thousands of
    records of graph ids cost minutes per table)."""

    def __deepcopy__(self, memo) -> SharedOutcomes:
        return self


def _outcomes(df: pd.DataFrame, groups) -> SharedOutcomes:
    """Per aggregate key: the per-graph outcomes pooled over seeds (:mod:`cama.stats`), or None
    when a record of the key has none."""
    if "fooled_ids" not in df:
        return SharedOutcomes({key: None for key in groups.groups})
    cols = ["victim_seed", "attacked_ids", "fooled_ids"]
    out: dict[tuple, dict | None] = {}
    for key, part in groups:
        recs = [{k: v for k, v in zip(cols, row) if isinstance(v, list) or k == "victim_seed"}
                for row in part[cols].itertuples(index=False)]
        out[key] = merge(outcome_of(r) for r in recs)
    return SharedOutcomes(out)


def add_ranks(agg: pd.DataFrame) -> pd.DataFrame:
    """``rank`` of every attack within (dataset, victim, target group, budget) by ASR (1 = best, ties
    share the min)."""
    agg = agg.copy()
    agg["rank"] = agg.groupby(["dataset", "victim", "group", "budget_kind", "budget"])["asr_mean"].rank(
        ascending=False, method="min")
    return agg


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


CAMA_STRUCTURE = ("cama-node", "cama-subgraph", "cama-grad")
RBCD = ("grbcd", "prbcd")
SEARCH_FREE = ("search-random", "search-degree")
#: Graph-CAM attacks and their importance-free twins (the same search, other anchors)
TWINS = {"cama-node": SEARCH_FREE, "cama-grad": ("search-grad",),
         "cama-feature": ("feature-rank-random", "feature-rank-degree")}


def _at(agg: pd.DataFrame, budget: float) -> pd.DataFrame:
    return agg[(agg.budget_kind == "ratio") & ((agg.budget - budget).abs() < 1e-9)]


def _ci(row) -> str:
    return f"[{row.asr_lo:.2f}, {row.asr_hi:.2f}]"


def _outcome(agg: pd.DataFrame, row) -> dict | None:
    return agg.attrs.get("outcomes", {}).get((row.dataset, row.victim, row.attack, row.budget_kind, row.budget))


def with_tests(rows: list[dict], pairs: list[tuple], cluster=None) -> pd.DataFrame:
    """``rows`` with the paired test of each row's (A, B) outcomes: graphs compared, exact McNemar
    p-value Holm-adjusted over the table's testable rows, and the verdict (:mod:`cama.stats`)."""
    for row, test in zip(rows, compare(pairs, cluster=cluster)):
        row["paired graphs"] = test["pairs"] or None
        row["p (Holm)"] = test["p (Holm)"]
        row["verdict"] = test["verdict"]
    return pd.DataFrame(rows)


#: per target group: (CAMA's attacks, their strongest gradient competitors, the rivals' name in column titles)
STANDINGS = {"structure": (CAMA_STRUCTURE, RBCD, "RBCD"),
             "features": (("cama-feature",), ("grad-feature", "grad-feature-greedy"), "rival"),
             "both": (("cama",), ("grad-combined",), "rival")}


def standing_table(agg: pd.DataFrame, budget: float = 0.1, group: str = "structure") -> pd.DataFrame:
    """Per dataset × victim at ρ = ``budget``: the best CAMA attack of target ``group`` against
    the best of its gradient competitors (:data:`STANDINGS`: GRBCD / PRBCD for structure), each
    with its ASR, 95 % Wilson interval and victim queries per graph, and the paired test of the
    two on the graphs both attacked (exact McNemar, Holm over the table)."""
    ours, rivals, short = STANDINGS[group]
    at = _at(agg, budget)
    rows, pairs = [], []
    for ds, victim in section_order(at):
        part = at[(at.dataset == ds) & (at.victim == victim)].set_index("attack", drop=False)
        cama = part.loc[part.index.intersection(ours)]
        rbcd = part.loc[part.index.intersection(rivals)]
        if cama.empty or rbcd.empty:
            continue
        c, r = cama.loc[cama.asr_mean.idxmax()], rbcd.loc[rbcd.asr_mean.idxmax()]
        rows.append({"dataset": ds, "victim": victim, "best CAMA": c.attack, "ASR": c.asr_mean, "95% CI": _ci(c),
                     "queries/graph": c.queries_per_graph, f"best {short}": r.attack + ("*" if r.sampled else ""),
                     "ASR ": r.asr_mean, "95% CI ": _ci(r), "queries/graph ": r.queries_per_graph,
                     f"CAMA − {short}": c.asr_mean - r.asr_mean})
        pairs.append((_outcome(agg, c), _outcome(agg, r)))
    return with_tests(rows, pairs)


def ablation_table(agg: pd.DataFrame, budget: float = 0.1) -> pd.DataFrame:
    """Per dataset × victim at ρ = ``budget`` and Graph-CAM attack: cama-node (Graph-CAM-chosen
    candidates) against the strongest of the same query search over candidates chosen without
    importance (random, degree), and cama-grad against the same gradient search at random anchors
    (search-grad): ASRs with 95 % Wilson intervals, queries, and the paired test (Holm over the
    table)."""
    at = _at(agg, budget)
    rows, pairs = [], []
    for ds, victim in section_order(at):
        part = at[(at.dataset == ds) & (at.victim == victim)].set_index("attack", drop=False)
        for cam, free in TWINS.items():
            twins = part.loc[part.index.intersection(free)]
            if cam not in part.index or twins.empty:
                continue
            c, f = part.loc[cam], twins.loc[twins.asr_mean.idxmax()]
            rows.append({"dataset": ds, "victim": victim, "Graph-CAM attack": cam, "ASR": c.asr_mean,
                         "95% CI": _ci(c), "q/g": c.queries_per_graph, "importance-free": f.attack,
                         "ASR ": f.asr_mean, "95% CI ": _ci(f), "q/g ": f.queries_per_graph,
                         "Graph-CAM − free": c.asr_mean - f.asr_mean})
            pairs.append((_outcome(agg, c), _outcome(agg, f)))
    return with_tests(rows, pairs)


GROUP_TITLES = {"structure": "structure attacks (edge-flip budget)", "features": "feature attacks (node budget)",
                "both": "structure + feature attacks (both budgets)"}
