"""Big social graphs (issue 15): `cama datasets` from raw counts, the capped degree featurizer,
multi-class datasets (IMDB-MULTI, ENZYMES) through importance, attack, records and leaderboard."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from torch_geometric.data import Batch

from cama.data import load_dataset
from cama.featurize import (
    EXACT_DEGREE_COLUMNS,
    MAX_EXACT_DEGREE,
    Featurizer,
    degree_layout,
)
from cama.tu_stats import raw_stats


def write_tu(root: Path, name: str, sizes: list[int], hubs: list[int], labels: list[int]) -> None:
    """A TU raw folder of graphs: a path over ``n`` nodes plus a hub joined to ``hub`` of them."""
    raw = root / name / "raw"
    raw.mkdir(parents=True)
    edges, indicator, offset = [], [], 0
    for g, (n, hub) in enumerate(zip(sizes, hubs)):
        pairs = [(i, i + 1) for i in range(n - 1)] + [(0, j) for j in range(2, 2 + hub)]
        for u, v in pairs:
            edges += [f"{offset + u + 1}, {offset + v + 1}", f"{offset + v + 1}, {offset + u + 1}"]
        indicator += [str(g + 1)] * n
        offset += n
    (raw / f"{name}_A.txt").write_text("\n".join(edges) + "\n")
    (raw / f"{name}_graph_indicator.txt").write_text("\n".join(indicator) + "\n")
    (raw / f"{name}_graph_labels.txt").write_text("\n".join(map(str, labels)) + "\n")


@pytest.fixture(scope="module")
def big_folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("big-tu")
    sizes = [700 + 7 * g for g in range(60)]
    write_tu(root, "HUBS", sizes, hubs=[min(40 * g, s - 3) for g, s in enumerate(sizes)], labels=[g % 3 for g in range(60)])
    return root


def test_datasets_lists_counts_without_loading_any_tu_dataset(big_folder, monkeypatch, session_cache):
    import cama.data

    def forbidden(*args, **kwargs):
        raise AssertionError("cama datasets must not load (and featurize) a TU dataset")

    monkeypatch.setattr(cama.data, "_load_tu", forbidden)
    from cama.cli import cli
    res = CliRunner().invoke(cli, ["datasets", "--data-root", str(big_folder)])
    assert res.exit_code == 0, res.output
    row = next(line for line in res.output.splitlines() if "HUBS" in line)
    assert "60" in row and " 3 " in row and "log bins" in row


def test_raw_counts_equal_the_loaded_dataset(big_folder, tu_root):
    for root, name, attrs in [(big_folder, "HUBS", False), (tu_root, "IMDB-MULTI", False),
                              (tu_root, "ENZYMES", True), (tu_root, "MUTAG", False)]:
        assert raw_stats(root, name, attrs) == load_dataset(name, root=root).stats(), name
    hubs = load_dataset("HUBS", root=big_folder)
    assert hubs.featurizer.degree_bins and hubs.num_features <= MAX_EXACT_DEGREE + 1 + 12
    assert list(hubs.featurizer.degree_bins) == sorted(set(hubs.featurizer.degree_bins))


def test_reddit_binary_features_stay_small(tu_root):
    st = raw_stats(tu_root, "REDDIT-BINARY")
    assert (st["graphs"], st["classes"], st["avg_nodes"], st["avg_edges"]) == (2000, 2, 429.63, 497.75)
    assert st["features"] <= 100  # instead of 3063 one-hot columns
    assert raw_stats(tu_root, "IMDB-BINARY")["features"] == 136  # exact one-hot where the cap does not bind


def test_degree_layout_rule():
    assert degree_layout(torch.tensor([0, 3, 255])) == (255, None)  # 256 columns: exact
    cap, bins = degree_layout(torch.cat([torch.ones(1000, dtype=torch.long) * 2, torch.tensor([3000])]))
    assert cap == 2 and bins[0] == 3 and all(b == 2 * a for a, b in zip(bins, bins[1:])) and bins[-1] <= 3000 < 2 * bins[-1]
    cap, _ = degree_layout(torch.arange(5000))
    assert cap == MAX_EXACT_DEGREE and EXACT_DEGREE_COLUMNS < 5000


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 5000), min_size=1, max_size=300), st.integers(1, 70))
def test_capped_degree_featurizer_is_one_hot_and_monotone(degrees, cap):
    bins = [cap + 1]
    while bins[-1] * 2 <= 5000:
        bins.append(bins[-1] * 2)
    feat = Featurizer("degree", num_features=cap + 1 + len(bins), max_degree=cap, onehot=(0, cap + 1 + len(bins)),
                      degree_bins=tuple(bins))
    # a star per degree value: node 0 of each star has that degree
    rows, cols, centres, offset = [], [], [], 0
    for d in degrees:
        centres.append(offset)
        rows += [offset] * d + list(range(offset + 1, offset + 1 + d))
        cols += list(range(offset + 1, offset + 1 + d)) + [offset] * d
        offset += d + 1
    x = feat(None, torch.tensor([rows, cols], dtype=torch.long), offset)
    assert torch.equal(x.sum(1), torch.ones(offset))
    col = x[centres].argmax(1)
    deg = torch.tensor(degrees)
    assert torch.equal(col[deg <= cap], deg[deg <= cap])
    order = torch.argsort(deg)
    assert (col[order].diff() >= 0).all()  # never a lower column for a higher degree
    expected = cap + torch.tensor([sum(b <= d for b in bins) for d in degrees])
    assert torch.equal(col[deg > cap], expected[deg > cap])
    assert Featurizer.from_config(feat.to_config()) == feat


def test_exact_layout_config_has_no_bins_key(imdb):
    assert "degree_bins" not in imdb.featurizer.to_config()  # victim keys of existing victims unchanged


@pytest.mark.parametrize("name", ["IMDB-MULTI", "ENZYMES"])
def test_multiclass_importance_attack_records_and_leaderboard(name, tu_root, session_cache, tmp_path):
    from attacks import make_attack
    from cama.budget import parse_budgets
    from cama.evaluate import evaluate_attack, predict
    from cama.importance import node_importance
    from cama.leaderboard import write_leaderboard
    from cama.records import write_record
    from victims.store import get_victim

    ds = load_dataset(name, root=tu_root)
    assert ds.num_classes >= 3
    victim = get_victim(ds, "gcn", seed=0, device="cpu", progress=False)
    test = ds[victim.split["test"]]
    batch = Batch.from_data_list(test[:40])
    imp = node_importance(victim.model, batch, "gradcam")
    masked = imp.logits.clone()
    masked[torch.arange(len(masked)), imp.target] = -torch.inf
    assert torch.equal(imp.runner_up, masked.argmax(1)) and (imp.runner_up != imp.target).all()
    assert set(imp.runner_up.tolist()) - {0, 1}, "runner-up classes beyond 0/1 occur"

    budgets = parse_budgets("0.1,0.2")
    out = evaluate_attack(victim.model, ds, victim.split["test"], make_attack("cama-node"), budgets,
                          victim_name="gcn", victim_seed=0, max_graphs=15, keep_adversarial=True)
    for rec, b in zip(out.records, budgets):
        assert 0 <= rec["asr"] <= 1 and rec["n_attacked"] == 15
        graphs = out.adversarial[str(b)]
        labels = torch.cat([g.y.view(-1) for g in graphs])
        fooled = int((predict(victim.model, graphs, torch.device("cpu")) != labels).sum())
        assert fooled == round(rec["asr"] * 15)  # ASR = share of attacked graphs misclassified, any wrong class
        write_record(tmp_path / "runs", rec)
    paths = write_leaderboard(tmp_path / "runs", tmp_path / "lb", "pytest")
    assert f"## {name} — gcn" in (tmp_path / "lb" / "LEADERBOARD.md").read_text()
    assert any(p.name == f"asr_vs_budget_{name}.png" for p in paths)
