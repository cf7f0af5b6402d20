"""Worst-case robust accuracy over an attack suite: the arithmetic, every attack's own ASR on the
common graphs, and the partial report of a model without edge_weight."""
from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from attacks import make_attack
from cama.budget import parse_budgets
from cama.evaluate import evaluate_attack
from cama.robust import robust_cells
from cama.suite import Suite, combine, run_suite
from tests.test_cli import run

MODELS = Path(__file__).parent / "models" / "foreign.py"


def test_two_attacks_fooling_disjoint_graphs_both_count():
    """A tiny ensemble: attack A fools graphs {1, 2}, B fools {3}; graph 4 survives both; graph 5
    was misclassified from the start. Robust accuracy counts neither A's nor B's graphs."""
    fooled = {"0.1": {1: "A", 2: "A", 3: "B"}, "0.2": {1: "A", 2: "A", 3: "B", 4: "B"}}
    assert combine(5, [1, 2, 3, 4], fooled) == {"0.1": 1 / 5, "0.2": 0.0}


def test_suite_equals_the_union_of_independent_runs(mutag, mutag_gcn):
    """Robust accuracy equals the union of each attack run alone on every correct graph, and the
    report's per-attack ASR is each attack's own ASR on those common graphs."""
    suite = Suite("test", "0", ("degree", "random", "cama-node"), budgets=(0.05, 0.1))
    test = mutag_gcn.split["test"]
    rep = run_suite(mutag_gcn.model, mutag, test, suite, name="gcn")
    budgets = parse_budgets("0.05,0.1")
    union = {str(b): set() for b in budgets}
    records = []
    for name, row in zip(suite.attacks, rep.rows, strict=True):
        out = evaluate_attack(mutag_gcn.model, mutag, test, make_attack(name), budgets, victim_name="gcn",
                              victim_seed=0)
        correct = out.graph_index
        records += out.records
        assert row["attack"] == name and row["attacked"] == len(correct)
        assert [row[f"ASR @{r['budget']}"] for r in out.records] == [r["asr"] for r in out.records]
        for b in union:
            union[b] |= {i for i, f in zip(out.graph_index, out.fooled[b]) if f}
        for rec in out.records:  # per-graph outcomes in every record
            assert rec["attacked_ids"] == sorted(correct) and len(rec["fooled_ids"]) == rec["n_success"]
            assert set(rec["fooled_ids"]) == {i for i, f in zip(correct, out.fooled[str(rec["budget"])]) if f}
    for b, acc in rep.robust_acc.items():
        assert acc == (len(correct) - len(union[b])) / len(test)
        assert set(rep.first_fooled_by[b]) == union[b]
    # the leaderboard's robust view, from the independent runs' records, gives the same figure
    cells, partial = robust_cells(records, suite)
    assert not partial and len(cells) == 2
    for _, row in cells.iterrows():
        assert abs(row.robust_acc - rep.robust_acc[str(row.budget)]) < 1e-12
    cells, partial = robust_cells([r for r in records if r["attack"] != "random"], suite)
    assert cells.empty and partial == ["MUTAG gcn seed 0 (missing random)"]
    assert all(r["suite"] == "test/0" and r["suite_complete"] for r in rep.records)
    assert not rep.partial and "PARTIAL" not in rep.to_markdown() and rep.to_json()["complete"]
    strongest = rep.robust_frame().set_index("budget")
    for b in strongest.index:
        assert strongest.loc[b, "its ASR"] == max(r[f"ASR @{b}"] for r in rep.rows)
    # robust accuracy never exceeds the accuracy under any single attack
    for rec in rep.records:
        assert rep.robust_acc[str(rec["budget"])] <= rec["clean_acc"]


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.text, self.images = [], 0

    def handle_starttag(self, tag, attrs):
        if tag == "img" and dict(attrs).get("src", "").startswith("data:image/png;base64,"):
            self.images += 1

    def handle_data(self, data):
        self.text.append(data)


def test_report_of_a_model_without_edge_weight_comes_out_whole(tu_root, tmp_path):
    proc = run(["evaluate", "--model", f"{MODELS}:build_sumpool", "-d", "MUTAG", "--suite", "standard",
                "--report", str(tmp_path / "report"), "--out", str(tmp_path / "runs"), "--data-root", str(tu_root)])
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["suite"] == "standard/3" and set(report["robust_acc"]) == {"0.05", "0.1", "0.2"}
    assert {"grbcd", "prbcd"} <= set(report["skipped"]) and "edge_weight" in report["skipped"]["grbcd"]
    assert all(0 <= a <= report["clean_acc"] for a in report["robust_acc"].values())
    # skipped attacks make the result partial everywhere: console, json, md, html, records
    assert report["complete"] is False and report["robust_acc_is_upper_bound"] is True
    assert "upper bound" in report["caveat"] and "edge_weight argument" in report["caveat"]
    assert "grbcd" not in report["attacks_run"] and "PARTIAL" in proc.stdout and "upper bound" in proc.stdout
    md = (tmp_path / "report" / "report.md").read_text()
    assert "(PARTIAL)" in md.splitlines()[0] and "upper bound" in md
    records = [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*.json")]
    assert records and all(r["suite_complete"] is False and "grbcd" in r["suite_skipped"] for r in records)
    page = _Page()
    page.feed((tmp_path / "report" / "report.html").read_text())
    text = " ".join(page.text)
    assert "Robust accuracy" in text and "Skipped" in text and "grbcd" in text and page.images == 1
    assert "(partial)" in text and "upper bound" in text
    assert "robust accuracy" in (tmp_path / "report" / "report.md").read_text()
    bad = run(["evaluate", "--model", f"{MODELS}:build_sumpool", "-d", "MUTAG", "--suite", "standard", "-a", "random",
               "--data-root", str(tu_root)])
    assert bad.returncode != 0 and "--suite" in bad.stderr and "Traceback" not in bad.stderr


def test_report_without_suite_and_append_without_table_are_refused(tu_root, tmp_path):
    bad = run(["evaluate", "--model", f"{MODELS}:build_sumpool", "-d", "MUTAG", "--report", str(tmp_path),
               "--data-root", str(tu_root)])
    assert bad.returncode == 2 and "--suite standard" in bad.stderr and "Traceback" not in bad.stderr
    bad = run(["train", "-d", "MUTAG", "--append", "--data-root", str(tu_root)])
    assert bad.returncode == 2 and "--table" in bad.stderr and "Traceback" not in bad.stderr


def _record(victim: str, attack: str, budget: float, fooled: list[int], seed: int = 0, **extra) -> dict:
    attacked = [1, 2, 3, 4]
    return {"targets": ["structure", "features"] if attack == "cama" else ["structure"], "dataset": "MUTAG", "victim": victim, "victim_seed": seed, "attack": attack, "budget": budget,
            "budget_kind": "ratio", "params": {}, "surrogate": None, "clean_acc": 0.8, "attacked_ids": attacked,
            "fooled_ids": fooled, "asr": len(fooled) / len(attacked)} | extra


def test_robust_view_defended_against_undefended(tmp_path):
    """Two attacks fooling disjoint graphs of an undefended victim both count; the defended victim
    (one graph fooled) gains 0.4 robust accuracy; constrained or transfer records never enter;
    the table, the defence-effect summary and the plot come out."""
    from cama import robust

    suite = robust.get_suite("standard")
    recs = []
    for attack in suite.attacks:
        fooled = {"cama": [1, 2], "prbcd": [3]}.get(attack, [])
        recs.append(_record("gcn", attack, 0.1, fooled))
        recs.append(_record("gcn+guard", attack, 0.1, [4] if attack == "grbcd" else []))
        recs.append(_record("gcn", attack, 0.1, [1, 2, 3, 4], params={"constraints": "degree"}))
        recs.append(_record("gcn", attack, 0.1, [1, 2, 3, 4], surrogate="gin"))
    frame, partial = robust.robust_frame(recs)
    assert not partial
    row = frame.set_index("victim").loc
    assert abs(row["gcn", "robust acc"] - 0.8 * (1 - 3 / 4)) < 1e-12
    assert abs(row["gcn", "single-attack acc"] - 0.8 * (1 - 2 / 4)) < 1e-12 and row["gcn", "best single attack"] == "cama"
    assert abs(row["gcn+guard", "robust acc"] - 0.8 * (1 - 1 / 4)) < 1e-12
    assert abs(row["gcn", "robust acc (structure)"] - 0.8 * (1 - 1 / 4)) < 1e-12  # cama's graphs left out
    effect = robust.defence_effect(frame)
    assert effect.defense.tolist() == ["guard"]
    assert abs(effect["Δ robust"].iloc[0] - 0.4) < 1e-12 and effect["Δ clean"].iloc[0] == 0
    md = "\n".join(robust.markdown(frame, partial))
    assert "| MUTAG     | gcn+guard |" in md and "0.600" in md and "+0.400" in md
    uri = robust.plot(frame, tmp_path / "robust.png")  # embedded in the page: no file reference
    assert uri.startswith("data:image/png;base64,") and (tmp_path / "robust.png").stat().st_size > 1000


def test_defence_tests_pair_the_victims_on_their_test_graphs():
    """Defended against undefended: robust outcomes per (seed, graph) — correct and fooled by no
    attack of the suite — tested by exact McNemar; a victim attacked on a sample is not testable."""
    from cama import robust
    from cama.stats import LEVEL, UNTESTED, mcnemar

    suite = robust.get_suite("standard")

    def recs(n_correct: int) -> list[dict]:
        out = []
        for attack in suite.attacks:
            out.append(_record("gcn", attack, 0.1, {"cama": [1, 2], "prbcd": [3]}.get(attack, []), n_correct=4))
            out.append(_record("gcn+guard", attack, 0.1, [4] if attack == "grbcd" else [], n_correct=n_correct))
        return out

    cells, _ = robust.robust_cells(recs(4), suite)
    row = robust.defence_tests(cells).iloc[0]
    assert row.defended == "gcn+guard" and row.undefended == "gcn"
    assert row["paired graphs"] == 4 and row["Δ robust"] == pytest.approx(0.8 * 3 / 4 - 0.8 * 1 / 4)
    assert row["p (Holm)"] == pytest.approx(mcnemar(3, 1)) and row.verdict == LEVEL
    cells, _ = robust.robust_cells(recs(5), suite)  # the guard's four graphs are a sample of five
    assert robust.defence_tests(cells).iloc[0].verdict == UNTESTED

    def sampled(guard_ids: list[int]) -> list[dict]:  # both victims on the correct part of a test sample
        out = []
        for attack in suite.attacks:
            out.append(_record("gcn", attack, 0.1, {"cama": [1, 2], "prbcd": [3]}.get(attack, []), n_correct=9,
                               sampled_ids=[1, 2, 3, 4, 7]))
            out.append(_record("gcn+guard", attack, 0.1, [4] if attack == "grbcd" else [], n_correct=8,
                               sampled_ids=guard_ids))
        return out

    cells, _ = robust.robust_cells(sampled([1, 2, 3, 4, 7]), suite)  # graph 7 misclassified by both
    row = robust.defence_tests(cells).iloc[0]
    assert row["paired graphs"] == 4 and row["p (Holm)"] == pytest.approx(mcnemar(3, 1))
    cells, _ = robust.robust_cells(sampled([1, 2, 3, 4, 8]), suite)  # two different samples: no pairs
    assert robust.defence_tests(cells).iloc[0].verdict == UNTESTED


def test_a_sample_of_test_graphs_is_the_same_for_every_victim_of_a_split(mutag, mutag_gcn, mutag_gin):
    """sample_from="test": max_graphs test graphs seeded by the split, the same for two victims; each
    attacks the ones it classifies correctly, and the record says so (its run id differs from a sample
    of correct graphs)."""
    import torch
    from torch_geometric.data import Batch

    from cama.budget import Budget
    from cama.records import run_id

    test = mutag_gcn.split["test"]
    assert torch.equal(test, mutag_gin.split["test"])
    outs = {v.arch: evaluate_attack(v.model, mutag, test, make_attack("random"), [Budget("ratio", 0.1)],
                                    victim_name=v.arch, victim_seed=0, max_graphs=8, sample_from="test").records[0]
            for v in (mutag_gcn, mutag_gin)}
    gcn, gin = outs["gcn"], outs["gin"]
    assert gcn["sampled_ids"] == gin["sampled_ids"] and len(gcn["sampled_ids"]) == 8
    assert set(gcn["sampled_ids"]) <= set(test.tolist()) and gcn["sampled"] and gcn["sample_from"] == "test"
    for rec, victim in ((gcn, mutag_gcn), (gin, mutag_gin)):
        batch = Batch.from_data_list([mutag[i] for i in rec["sampled_ids"]])
        with torch.no_grad():
            right = victim.model(batch.x, batch.edge_index, batch.batch).argmax(1) == batch.y
        assert rec["attacked_ids"] == [g for g, ok in zip(rec["sampled_ids"], right.tolist()) if ok]
    plain = evaluate_attack(mutag_gcn.model, mutag, test, make_attack("random"), [Budget("ratio", 0.1)],
                            victim_name="gcn", victim_seed=0, max_graphs=8).records[0]
    assert "sample_from" not in plain and "sampled_ids" not in plain and plain["n_attacked"] == 8
    assert run_id(plain) != run_id(gcn)
