"""Leaderboard aggregation on records produced by the real code (a small MUTAG grid)."""
from __future__ import annotations

import statistics

import pytest

from attacks import make_attack
from cama.budget import parse_budgets
from cama.evaluate import evaluate_attack
from cama.leaderboard import aggregate, block_tables, write_leaderboard
from cama.records import load_records, write_record
from victims.store import get_victim


@pytest.fixture(scope="module")
def runs(mutag, session_cache, tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs")
    for seed in (0, 1):
        v = get_victim(mutag, "gcn", seed=seed, device="cpu", progress=False)
        for name in ("cama", "random-feature", "random", "degree"):
            out = evaluate_attack(v.model, mutag, v.split["test"], make_attack(name), parse_budgets("0.1,0.2"),
                                  victim_name="gcn", victim_seed=seed, seed=seed)
            for rec in out.records:
                write_record(folder, rec)
    return folder


def test_mean_std_arithmetic(runs):
    records = load_records(runs)
    assert len(records) == 16
    agg = aggregate(records)
    assert len(agg) == 8 and (agg.n_seeds == 2).all()
    for row in agg.itertuples():
        asrs = [r["asr"] for r in records if r["attack"] == row.attack and r["budget"] == row.budget]
        assert row.asr_mean == pytest.approx(statistics.fmean(asrs))
        assert row.asr_std == pytest.approx(statistics.pstdev(asrs))


def test_tables_per_target_group(runs):
    """Attacks of different targets are never ranked in one table: cama (both budgets) has its own."""
    tables = {group: wide for _, _, group, wide in block_tables(aggregate(load_records(runs)))}
    assert set(tables) == {"structure", "features", "both"}
    assert set(tables["structure"].index) == {"random", "degree"}
    assert list(tables["both"].index) == ["cama"] and list(tables["features"].index) == ["random-feature"]
    assert {"knowledge", "queries/graph", "s/graph"} <= set(tables["structure"].columns)


def test_best_cells_are_bold_and_ranked(runs):
    agg = aggregate(load_records(runs))
    agg = agg[agg.group == "structure"]
    (_, _, _, wide), = list(block_tables(agg))
    for col in ("ρ=0.1", "ρ=0.2"):
        best = agg[agg.budget == float(col[2:])].sort_values("asr_mean").iloc[-1]
        assert wide.loc[best.attack, col].startswith("**")
        bold = [a for a in wide.index if wide.loc[a, col].startswith("**")]
        assert all(agg[(agg.attack == a) & (agg.budget == float(col[2:]))].asr_mean.iloc[0] == best.asr_mean
                   for a in bold)
    assert list(wide["avg rank"]) == sorted(wide["avg rank"])


def test_writes_all_outputs(runs, tmp_path):
    paths = write_leaderboard(runs, tmp_path, "pytest")
    names = {p.name for p in paths}
    assert {"LEADERBOARD.md", "leaderboard.csv", "leaderboard.tex", "leaderboard.html", "asr_vs_budget_MUTAG.png",
            "time_vs_asr.png"} <= names
    header = (tmp_path / "leaderboard.csv").read_text().splitlines()[0].split(",")
    assert {"dataset", "victim", "attack", "budget_kind", "budget", "asr_mean", "asr_std", "adv_acc_mean",
            "adv_acc_std", "n_seeds", "seconds_per_graph"} <= set(header)
    for name in ("LEADERBOARD.md", "leaderboard.tex", "leaderboard.html"):  # every table names its command
        assert "pytest" in (tmp_path / name).read_text()


def test_newer_run_of_a_cell_supersedes_the_older(runs):
    records = load_records(runs)
    old = next(r for r in records if r["attack"] == "random" and r["budget"] == 0.1 and r["victim_seed"] == 0)
    newer = dict(old, asr=1.0, max_graphs=5, created_at="2999-01-01T00:00:00+00:00", run_id="x")
    agg = aggregate(records + [newer])
    row = agg[(agg.attack == "random") & (agg.budget == 0.1)].iloc[0]
    other = next(r for r in records if r["attack"] == "random" and r["budget"] == 0.1 and r["victim_seed"] == 1)
    assert row.asr_mean == pytest.approx((1.0 + other["asr"]) / 2) and row.n_seeds == 2


def test_standing_and_ablation_tables():
    """The README's comparison tables pick the best attack of each family per dataset × victim."""
    import pandas as pd

    from cama.leaderboard import ablation_table, standing_table

    rows = []
    for attack, asr, q, sampled in [("cama-node", 0.5, 300, False), ("cama-subgraph", 0.6, 200, False),
                                    ("grbcd", 0.7, 15, False), ("prbcd", 0.65, 800, True),
                                    ("search-random", 0.45, 310, False), ("search-degree", 0.55, 305, False)]:
        rows.append({"dataset": "MUTAG", "victim": "gcn", "attack": attack, "budget_kind": "ratio", "budget": 0.1,
                     "asr_mean": asr, "queries_per_graph": q, "sampled": sampled})
    agg = pd.DataFrame(rows)
    (st,) = standing_table(agg).to_dict("records")
    assert (st["best CAMA"], st["best RBCD"]) == ("cama-subgraph", "grbcd")
    assert st["CAMA − RBCD"] == pytest.approx(-0.1) and st["queries/graph"] == 200
    (ab,) = ablation_table(agg).to_dict("records")
    assert ab["Graph-CAM − best importance-free"] == pytest.approx(-0.05) and ab["search-degree q/g"] == 305
