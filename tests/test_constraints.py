"""Unnoticeable perturbations: the constraint layer, noticeability in records, the unnoticeable view."""
from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch_geometric.data import Batch

from attacks import make_attack
from cama.budget import parse_budgets
from cama.constraints import LR_THRESHOLD, ConstraintState, likelihood_ratio, parse_constraints
from cama.edits import EditList, apply_edits
from cama.errors import CamaError
from cama.evaluate import evaluate_attack, run_params

BUDGETS = parse_budgets("0.05,0.1,0.2")


def test_unnamed_molecules_use_the_observed_degrees(tu_root):
    """NCI1 names no atoms: each label's limit is the highest degree its clean graphs show."""
    from cama.data import load_dataset

    nci = load_dataset("NCI1", root=tu_root)
    mol = nci.extra["molecules"]
    assert not mol.bond_orders and mol.element[0] is None and mol.check == "observed-degree"
    deg = torch.cat([torch.bincount(g.edge_index[0], minlength=g.num_nodes) for g in nci.graphs])
    lab = torch.cat(mol.node_label)
    assert (deg <= mol.max_valence[lab]).all()
    batch = Batch.from_data_list(nci.graphs[:50])
    state = ConstraintState.build(batch, (), nci, list(range(50)))
    assert state.measure(batch, batch, torch.zeros(0, 2, dtype=torch.long))["valence_ok"].all()


def _random_edits(batch, data, n_flips: int, n_feats: int, num_labels: int):
    G = batch.num_graphs
    ptr = batch.ptr
    g = torch.tensor(data.draw(st.lists(st.integers(0, G - 1), min_size=n_flips, max_size=n_flips)), dtype=torch.long)
    a = torch.tensor(data.draw(st.lists(st.floats(0, 0.999), min_size=n_flips, max_size=n_flips)))
    b = torch.tensor(data.draw(st.lists(st.floats(0, 0.999), min_size=n_flips, max_size=n_flips)))
    size = ptr[g + 1] - ptr[g]
    u, v = ptr[g] + (a * size).long(), ptr[g] + (b * size).long()
    keep = u != v
    u, v, g = torch.minimum(u, v)[keep], torch.maximum(u, v)[keep], g[keep]
    keys = torch.unique(u * batch.num_nodes + v)
    flips = torch.stack([keys // batch.num_nodes, keys % batch.num_nodes], 1)
    order = torch.randperm(flips.size(0), generator=torch.Generator().manual_seed(data.draw(st.integers(0, 99))))
    flips = flips[order]
    from cama.edits import rank_within_graph

    graph = batch.batch[flips[:, 0]]
    rank = rank_within_graph(graph, -torch.arange(flips.size(0)).double(), G)
    edits = EditList.from_flips(batch, flips, rank)
    if n_feats:
        nodes = torch.unique(torch.tensor(data.draw(st.lists(st.integers(0, batch.num_nodes - 1), min_size=1,
                                                             max_size=n_feats))))
        labels = torch.tensor(data.draw(st.lists(st.integers(0, num_labels - 1), min_size=nodes.numel(),
                                                 max_size=nodes.numel())))
        value = batch.x[nodes].clone()
        value[:, :num_labels] = torch.nn.functional.one_hot(labels, num_labels).float()
        edits = edits.with_features(nodes, value, rank_within_graph(batch.batch[nodes], -torch.arange(nodes.numel()).double(), G))
    return edits


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_enforced_edits_never_violate_under_hypothesis(mutag, imdb, data):
    """Any edit list, filtered by the constraints, gives graphs that pass every active test at
    every prefix (budget) — molecules under valence,connected (flips and atom switches), social
    graphs under degree,connected."""
    for ds, names in ((mutag, ("valence", "connected")), (imdb, ("degree", "connected"))):
        ids = list(range(0, len(ds), max(1, len(ds) // 12)))[:12]
        batch = Batch.from_data_list([ds[i] for i in ids])
        state = ConstraintState.build(batch, names, ds, ids)
        feats = 6 if ds.featurizer.editable else 0
        edits = _random_edits(batch, data, 40, feats, len(ds.node_label_names or []) if feats else 0)
        kept = state.enforce(batch, edits)
        assert kept.flips.size(0) <= edits.flips.size(0)
        for limit in (1, 2, 4, 100):
            lim = torch.full((batch.num_graphs,), limit)
            part = kept.prefix(batch, lim, lim)
            adv = apply_edits(batch, part, ds.featurizer)
            m = state.measure(batch, adv, part.flips)
            for name in names:
                assert m[f"{name}_ok"].all(), (ds.name, name, limit)


def test_degree_test_matches_nettack_closed_form():
    """Λ is 0 for identical samples and grows with the change; the threshold is Nettack's."""
    n, s = torch.tensor([20.0]), torch.tensor([30.0])
    assert likelihood_ratio(n, s, n, s).abs().item() < 1e-9
    assert likelihood_ratio(n, s, n, s + 3).item() > likelihood_ratio(n, s, n, s + 1).item() > 0
    assert LR_THRESHOLD == 0.004


@pytest.mark.parametrize("attack,params", [("cama", {}), ("cama-node", {}), ("cama-feature", {}), ("random", {}),
                                           ("degree", {}), ("gradargmax", {}), ("grbcd", {}),
                                           ("prbcd", {"epochs": 20, "epochs_resampling": 15}),
                                           ("genetic", {"generations": 3})])
def test_every_attack_obeys_the_constraints_on_mutag(mutag, mutag_gin, attack, params):
    """On real MUTAG every attack's adversarial graphs keep valid valences and their components
    (the records' noticeability says so), budgets still hold (the evaluator's enforcer), and the
    constrained run has its own run id."""
    atk = make_attack(attack, **params)
    rec = evaluate_attack(mutag_gin.model, mutag, mutag_gin.split["test"], atk, BUDGETS, victim_name="gin",
                          victim_seed=0, constraints="valence,connected").records
    for r in rec:
        assert r["noticeability"]["valence_ok"] == 1.0 and r["noticeability"]["connected_ok"] == 1.0, r["attack"]
        assert r["asr_unnoticeable"] == pytest.approx(r["asr"])
        assert r["params"]["constraints"] == "valence,connected"
    free = evaluate_attack(mutag_gin.model, mutag, mutag_gin.split["test"], make_attack(attack, **params), BUDGETS,
                           victim_name="gin", victim_seed=0).records
    assert "constraints" not in free[0]["params"] and free[0]["run_id"] != rec[0]["run_id"]
    assert all(0 <= r["asr_unnoticeable"] <= r["asr"] for r in free)


def test_social_graphs_pass_the_degree_test_under_constraints(imdb):
    from victims.store import get_victim

    victim = get_victim(imdb, "gcn", seed=0, device="cpu", progress=False)
    for attack in ("cama-node", "grbcd"):
        recs = evaluate_attack(victim.model, imdb, victim.split["test"], make_attack(attack), BUDGETS,
                               victim_name="gcn", victim_seed=0, max_graphs=15, constraints="degree,connected").records
        for r in recs:
            assert r["noticeability"]["degree_ok"] == 1.0 and r["noticeability"]["connected_ok"] == 1.0


def test_bad_constraints_get_one_clear_error(proteins, mutag, mutag_gcn):
    with pytest.raises(CamaError, match="Unknown constraint"):
        parse_constraints("valence,tidy")
    with pytest.raises(CamaError, match="molecular"):
        evaluate_attack(mutag_gcn.model, proteins, [0, 1], make_attack("random"), BUDGETS, victim_name="gcn",
                        victim_seed=0, constraints="valence")
    assert run_params(make_attack("random"), None, ()) == {}
    from cama.bench_config import BenchConfig

    with pytest.raises(CamaError, match="Unknown constraint"):
        BenchConfig.from_dict({"constraints": {"*": "sparse"}})
    cfg = BenchConfig.from_dict({"constraints": {"MUTAG": "valence,connected", "*": "degree,connected"}})
    assert cfg.constraints_for("MUTAG") == ("valence", "connected") and cfg.constraints_for("X") == ("degree", "connected")


def test_unnoticeable_view_pairs_constrained_and_plain_records():
    from cama.unnoticeable import summary, unnoticeable_frame

    def rec(attack, asr, cons="", unnoticed=None, valid=None):
        params = {"constraints": cons} if cons else {}
        return {"dataset": "MUTAG", "victim": "gcn", "victim_seed": 0, "attack": attack, "params": params,
                "budget_kind": "ratio", "budget": 0.1, "asr": asr, "asr_unnoticeable": unnoticed,
                "noticeability": {"valence_ok": valid, "degree_ok": 0.5, "connected_ok": 1.0}}

    frame = unnoticeable_frame([rec("cama", 0.8, unnoticed=0.2, valid=0.25), rec("cama", 0.4, "valence,connected"),
                                rec("random", 0.1, unnoticed=0.1, valid=1.0)])
    assert len(frame) == 1  # random has no constrained twin
    row = frame.iloc[0]
    assert row["ASR"] == 0.8 and row["unnoticed ASR"] == 0.2 and row["constrained ASR"] == 0.4
    assert row["kept"] == pytest.approx(0.5) and row["valid"] == 0.25
    assert summary(frame).attack.tolist() == ["cama"]


def test_cost_claims_from_records():
    """The cost-matched table (issue 23): passes and ASR per variant, CAMA within 32 passes against
    GRBCD, cama-node against the importance-free search at equal schedules."""
    from cama.cost import claims, cost_frame

    def rec(attack, label, asr, passes, s=0.01):
        return {"dataset": "PROTEINS", "victim": "gcn", "attack": attack, "label": label, "params": {},
                "budget_kind": "ratio", "budget": 0.1, "asr": asr, "queries_per_graph": passes,
                "seconds_per_graph": s}

    frame = cost_frame([rec("cama-node", "cama-node-1pass", 0.2, 2), rec("cama-node", "cama-node", 0.5, 300, 0.02),
                        rec("search-random", "search-random-1pass", 0.1, 2),
                        rec("search-random", "search-random", 0.55, 300), rec("cama-subgraph", "cama-subgraph-r8p8", 0.4, 20),
                        rec("grbcd", "grbcd", 0.45, 18, 0.2), rec("cama-grad", "cama-grad", 0.5, 25, 0.005),
                        rec("search-grad", "search-grad", 0.46, 22), rec("cama-feature", "cama-feature", 0.7, 1),
                        rec("grad-feature", "grad-feature", 0.6, 2),
                        rec("grad-feature-greedy", "grad-feature-greedy-c2", 0.65, 4)])
    assert len(frame) == 11
    row = claims(frame).iloc[0]
    assert row["best CAMA ≤ 32 passes"].startswith("0.50 (cama-grad, 25)")
    assert row["CAMA ≤ 32 − GRBCD"] == pytest.approx(0.05)
    assert row["cama-node − search-random (default)"] == pytest.approx(-0.05)
    assert row["cama-node − search-random (other schedules, mean)"] == pytest.approx(0.1)
    assert row["cama-grad − search-grad (default)"] == pytest.approx(0.04)
    assert row["GRBCD s ÷ cama-node s"] == pytest.approx(10) and row["GRBCD s ÷ cama-grad s"] == pytest.approx(40)
    assert row["cama-feature"] == "0.70 (1)"
    assert row["best of grad-feature / grad-feature-greedy"] == "0.65 (grad-feature-greedy-c2, 4)"
    assert "cama" not in row  # no grad-combined record: the combined claim is left out
