"""Leaderboard aggregation on records produced by the real code (a small MUTAG grid)."""
from __future__ import annotations

import statistics
from pathlib import Path

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


def _record(attack: str, seed: int, fooled: list[int], attacked: list[int], q: float, sampled=False) -> dict:
    return {"dataset": "MUTAG", "victim": "gcn", "victim_seed": seed, "attack": attack, "params": {},
            "budget_kind": "ratio", "budget": 0.1, "asr": len(fooled) / len(attacked), "adv_acc": 0.5,
            "clean_acc": 0.8, "n_attacked": len(attacked), "n_success": len(fooled), "sampled": sampled,
            "seconds_per_graph": 0.1, "queries_per_graph": q, "mean_edge_flips": 1.0, "mean_feature_edits": 0.0,
            "targets": ["structure"], "knowledge": "gradients", "relaxation": "faithful",
            "created_at": "2026-01-01T00:00:00+00:00", "attacked_ids": attacked, "fooled_ids": fooled}


def test_standing_and_ablation_tables_carry_intervals_and_paired_tests():
    """The comparison tables pick the best attack of each family per dataset × victim, give each
    ASR its Wilson interval (pooled over seeds) and test the pair on the graphs both attacked."""
    from cama.leaderboard import ablation_table, standing_table
    from cama.stats import AHEAD, LEVEL, mcnemar, wilson

    graphs = list(range(40))
    spec = {"cama-node": (range(0, 16), 300), "cama-subgraph": (range(0, 30), 200), "grbcd": (range(25, 33), 15),
            "prbcd": (range(0, 6), 800), "search-random": (range(0, 14), 310), "search-degree": (range(0, 15), 305),
            "cama-grad": (range(0, 12), 20), "search-grad": (range(0, 11), 18)}
    records = [_record(a, seed, list(f), graphs, q) for a, (f, q) in spec.items() for seed in (0, 1)]
    agg = aggregate(records)
    (st,) = standing_table(agg).to_dict("records")
    assert (st["best CAMA"], st["best RBCD"]) == ("cama-subgraph", "grbcd")
    assert st["CAMA − RBCD"] == pytest.approx(0.75 - 0.2) and st["queries/graph"] == 200
    lo, hi = wilson(60, 80)
    assert st["95% CI"] == f"[{lo:.2f}, {hi:.2f}]"
    # per seed: only cama-subgraph fools 0–24 (25 graphs), only grbcd fools 30–32 (3): 50 vs 6 over both seeds
    assert st["paired graphs"] == 80 and st["p (Holm)"] == pytest.approx(mcnemar(50, 6)) and st["verdict"] == AHEAD
    rows = ablation_table(agg).to_dict("records")
    assert [(r["Graph-CAM attack"], r["importance-free"]) for r in rows] == [("cama-node", "search-degree"),
                                                                           ("cama-grad", "search-grad")]
    assert rows[0]["Graph-CAM − free"] == pytest.approx(0.025) and rows[0]["q/g "] == 305
    # one discordant graph per seed for each pair: no significant difference, Holm over both rows
    assert rows[0]["p (Holm)"] == pytest.approx(min(1, 2 * mcnemar(2, 0)))
    assert {r["verdict"] for r in rows} == {LEVEL}


def test_comparisons_without_per_graph_outcomes_are_marked_untestable():
    from cama.leaderboard import standing_table
    from cama.stats import UNTESTED

    records = [_record(a, 0, list(range(k)), list(range(20)), 10) for a, k in (("cama-node", 9), ("prbcd", 5))]
    for r in records[:1]:
        del r["fooled_ids"], r["attacked_ids"]
    (st,) = standing_table(aggregate(records)).to_dict("records")
    assert st["verdict"] == UNTESTED and st["p (Holm)"] is None
def test_summary_counts_cells_and_ranks(runs):
    from cama.leaderboard import summary_table

    agg = aggregate(load_records(runs))
    s = summary_table(agg, "structure").set_index("attack")
    assert set(s.index) == {"random", "degree"} and (s["cells"] == 1).all()
    for attack in s.index:
        at = agg[(agg.attack == attack) & (agg.budget == 0.1)]
        assert s.loc[attack, "ASR ρ=0.1"] == pytest.approx(at.asr_mean.mean())
    assert summary_table(agg, "both").attack.tolist() == ["cama"]


def _chromium():
    import os
    import shutil

    exe = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    if exe is None:
        if os.environ.get("CAMA_REQUIRE_BROWSER"):
            pytest.fail("CAMA_REQUIRE_BROWSER is set but no chromium is installed (apt-get install chromium)")
        pytest.skip("headless chromium not installed")
    return exe


def _dom(exe: str, url: str) -> str:
    import subprocess

    out = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", url],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def _cell_rows(dom: str) -> list[dict]:
    """The rows of the page's table of every cell as the browser left them: visible flag, cells."""
    from html.parser import HTMLParser

    class Rows(HTMLParser):
        def __init__(self):
            super().__init__()
            self.rows, self.inside, self.cell = [], False, None

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "table" and a.get("id") == "cells":
                self.inside = True
            elif self.inside and tag == "tr" and self.rows is not None:
                self.rows.append({"hidden": "display: none" in (a.get("style") or ""), "cells": [], "v": []})
            elif self.inside and tag == "td":
                self.cell = ""
                self.rows[-1]["v"].append(a.get("data-v"))

        def handle_endtag(self, tag):
            if tag == "table":
                self.inside = False
            elif tag == "td" and self.cell is not None:
                self.rows[-1]["cells"].append(self.cell)
                self.cell = None

        def handle_data(self, data):
            if self.cell is not None:
                self.cell += data

    p = Rows()
    p.feed(dom)
    return [r for r in p.rows if r["cells"]]  # drop the header row


def test_page_in_a_real_browser(runs, tmp_path):
    """Headless Chromium runs the page's script: every cell is there, sorting by ASR reorders the
    rows, a filter hides the others, and nothing is fetched from the network."""
    import os
    import re
    import subprocess

    exe = _chromium()
    write_leaderboard(runs, tmp_path, "pytest")
    page = tmp_path / "leaderboard.html"
    text = page.read_text()
    assert not re.search(r'(src|href)="(https?:)?//', text)  # self-contained: no network
    assert "**" not in re.sub(r"<script>.*?</script>", "", text, flags=re.S)  # no markdown left in the HTML
    agg = aggregate(load_records(runs))

    dom = _dom(exe, page.as_uri())
    assert 'data-ready="1"' in dom and "structure attacks (edge-flip budget)" in dom and "Summary" in dom
    rows = _cell_rows(dom)
    assert len(rows) == len(agg)
    seen = {(r["cells"][2], float(r["cells"][5])) for r in rows}
    assert seen == {(a, b) for a, b in zip(agg.attack, agg.budget)}

    asr_col = 6
    by_asr = [float(r["v"][asr_col]) for r in _cell_rows(_dom(exe, page.as_uri() + "#sort=asr&dir=desc"))]
    assert by_asr == sorted(by_asr, reverse=True) and by_asr != [float(r["v"][asr_col]) for r in rows]
    up = [float(r["v"][asr_col]) for r in _cell_rows(_dom(exe, page.as_uri() + "#sort=asr&dir=asc"))]
    assert up == sorted(up)

    filtered = _cell_rows(_dom(exe, page.as_uri() + "#attack=random"))
    shown = [r for r in filtered if not r["hidden"]]
    assert shown and all(r["cells"][2] == "random" for r in shown) and len(shown) < len(filtered)

    shot = Path(os.environ.get("CAMA_ARTIFACTS", tmp_path)) / "leaderboard-screenshot.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1400,1800",
                    f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120)
    assert shot.is_file() and shot.stat().st_size > 10_000


@pytest.mark.parametrize("flag, message", [("--defended-runs", "every attack of the suite 'standard'"),
                                           ("--cost-runs", "No ratio-budget records"),
                                           ("--constrained-runs", "No pairs of constrained and unconstrained"),
                                           ("--transfer-runs", "No ratio-budget records")])
def test_view_without_its_records_is_refused_before_writing(runs, tmp_path, flag, message):
    """An optional view whose folder lacks its records gives one clear error (exit 2) and leaves
    the output folder untouched (every input is read before anything is written)."""
    from tests.test_cli import run

    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "out"
    res = run(["leaderboard", "--runs", str(runs), flag, str(empty), "--out", str(out)])
    assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr
    assert not out.exists()


def _markdown_table_after(text: str, marker: str) -> list[str]:
    """The first markdown table (its ``|`` lines) after ``marker`` in ``text``."""
    lines = text.split(marker, 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return lines[start:end]


def test_readme_quotes_the_committed_leaderboard_verbatim():
    """README's structure-attack summary is the table of the committed ``results/LEADERBOARD.md``,
    row for row, so regenerating the leaderboard cannot leave a stale copy in the README."""
    repo = Path(__file__).resolve().parents[1]
    board = _markdown_table_after((repo / "results" / "LEADERBOARD.md").read_text(),
                                  "## Summary: structure attacks")
    readme = (repo / "README.md").read_text()
    header = board[0]
    assert header in readme, "README no longer quotes LEADERBOARD.md's structure-attack summary"
    quoted = _markdown_table_after(readme, "**Summary** (structure attacks")
    assert quoted == board


def test_readme_states_the_committed_significance_counts():
    """README's standing paragraph gives, per target group, the verdict counts of the committed
    leaderboard's standing table (exact McNemar, Holm), and those of the Graph-CAM ablation, word
    for word."""
    import re

    repo = Path(__file__).resolve().parents[1]
    board = (repo / "results" / "LEADERBOARD.md").read_text()
    readme = " ".join((repo / "README.md").read_text().split())
    sections = re.findall(r"^## ((?:CAMA's standing|What Graph-CAM adds) at ρ = 0\.1[^\n]*)\n\n"
                          r"[^\n]*Left attack against right: ([^\n]*)\.$", board, flags=re.M)
    assert len(sections) == 4
    for title, counts in sections:
        assert counts in readme, f"README does not state the counts of '{title}': {counts}"
