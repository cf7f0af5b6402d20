"""The edge-weight contract of every victim (victims/models.py, README "Edge weights"):
w = 0 ≡ absent, w = 1 ≡ present, order-free, differentiable — the relaxation gradient attacks optimise."""
from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn
from torch_geometric.data import Batch
from torch_geometric.nn import GATConv, GCNConv, GINConv, SAGEConv, global_mean_pool
from torch_geometric.utils import coalesce, to_undirected

from cama.relaxation import probe_relaxation
from victims import ARCHITECTURES
from victims.models import GraphClassifier, VictimConfig

ARCHS = list(ARCHITECTURES)


def _model(arch: str, double: bool = False) -> GraphClassifier:
    torch.manual_seed(0)
    m = GraphClassifier(VictimConfig(arch, in_channels=5, num_classes=3, hidden=16)).eval()
    m = m.double() if double else m
    with torch.no_grad():  # non-trivial batch-norm statistics
        for norm in m.norms:
            norm.running_mean.uniform_(-0.5, 0.5)
            norm.running_var.uniform_(0.5, 2.0)
    return m


@st.composite
def graphs(draw):
    """One random undirected graph: features, edge_index (both directions), pairs absent from it."""
    n = draw(st.integers(2, 14))
    seed = draw(st.integers(0, 10_000))
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 5, generator=gen)
    m = draw(st.integers(0, 3 * n))
    ei = torch.randint(0, n, (2, m), generator=gen)
    ei = ei[:, ei[0] != ei[1]]
    ei = coalesce(to_undirected(ei, num_nodes=n), num_nodes=n)
    dense = torch.zeros(n, n, dtype=torch.bool)
    dense[ei[0], ei[1]] = True
    u, v = torch.triu_indices(n, n, 1)
    absent = torch.stack([u, v])[:, ~dense[u, v]]
    k = draw(st.integers(0, absent.size(1)))
    return x, ei, absent[:, torch.randperm(absent.size(1), generator=gen)[:k]], gen


FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("arch", ARCHS)
@FUZZ
@given(g=graphs())
def test_weight_zero_pairs_are_absent_edges(arch, g):
    x, ei, extra, _ = g
    model = _model(arch)
    batch = torch.zeros(x.size(0), dtype=torch.long)
    both = torch.cat([extra, extra.flip(0)], 1)
    w = torch.cat([torch.ones(ei.size(1)), torch.zeros(both.size(1))])
    with torch.no_grad():
        plain = model(x, ei, batch)
        padded = model(x, torch.cat([ei, both], 1), batch, w)
    torch.testing.assert_close(padded, plain, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("arch", ARCHS)
@FUZZ
@given(g=graphs())
def test_output_does_not_depend_on_edge_order(arch, g):
    x, ei, extra, gen = g
    model = _model(arch)
    batch = torch.zeros(x.size(0), dtype=torch.long)
    ei = torch.cat([ei, extra, extra.flip(0)], 1)
    w = torch.rand(ei.size(1), generator=gen)
    perm = torch.randperm(ei.size(1), generator=gen)
    with torch.no_grad():
        torch.testing.assert_close(model(x, ei[:, perm], batch, w[perm]), model(x, ei, batch, w),
                                   rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("arch", ARCHS)
@FUZZ
@given(g=graphs())
def test_all_ones_weights_equal_no_weights(arch, g):
    x, ei, _, _ = g
    model = _model(arch)
    batch = torch.zeros(x.size(0), dtype=torch.long)
    with torch.no_grad():
        torch.testing.assert_close(model(x, ei, batch, torch.ones(ei.size(1))),
                                   model(x, ei, batch), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("arch", ARCHS)
@settings(max_examples=15, deadline=None)
@given(g=graphs())
def test_weight_gradient_matches_finite_difference(arch, g):
    x, ei, extra, gen = g
    ei = torch.cat([ei, extra, extra.flip(0)], 1)
    if ei.size(1) == 0:
        return
    model, x = _model(arch, double=True), x.double()
    batch = torch.zeros(x.size(0), dtype=torch.long)
    w = 0.1 + 0.8 * torch.rand(ei.size(1), generator=gen, dtype=torch.float64)
    k = int(torch.randint(0, ei.size(1), (1,), generator=gen))
    wr = w.clone().requires_grad_(True)
    grad, = torch.autograd.grad(model(x, ei, batch, wr)[0, 1], wr)
    h = 1e-6
    up, down = w.clone(), w.clone()
    up[k] += h
    down[k] -= h
    with torch.no_grad():
        fd = (model(x, ei, batch, up)[0, 1] - model(x, ei, batch, down)[0, 1]) / (2 * h)
    assert abs(float(grad[k]) - float(fd)) <= 1e-6 + 1e-4 * abs(float(fd))
    # a weight-0 pair has a finite gradient too (GradArgMax and GRBCD start from 0 / ε)
    w0 = torch.cat([torch.ones(ei.size(1) - 2 * extra.size(1)), torch.zeros(2 * extra.size(1))]).double()
    w0.requires_grad_(True)
    g0, = torch.autograd.grad(model(x, ei, batch, w0)[0, 1], w0)
    assert torch.isfinite(g0).all()


class PlainPyG(nn.Module):
    """The same classifier from PyG's stock layers and edge-list message passing (no CSR, no custom
    weighting): an independent reference for the unweighted outputs of a trained victim."""

    def __init__(self, victim: GraphClassifier):
        super().__init__()
        c = victim.config
        dims = [c.in_channels] + [c.hidden] * c.num_layers
        make = {"gcn": lambda i, o: GCNConv(i, o),
                "gin": lambda i, o: GINConv(nn.Sequential(nn.Linear(i, o), nn.BatchNorm1d(o), nn.ReLU(),
                                                          nn.Linear(o, o)), train_eps=True),
                "graphsage": lambda i, o: SAGEConv(i, o, aggr="mean"),
                "gat": lambda i, o: GATConv(i, o // c.heads, heads=c.heads)}[c.arch]
        self.convs = nn.ModuleList(make(dims[i], dims[i + 1]) for i in range(c.num_layers))
        self.norms = nn.ModuleList(nn.BatchNorm1d(c.hidden) for _ in range(c.num_layers))
        self.head = nn.Linear(c.hidden, c.num_classes)
        self.load_state_dict(victim.state_dict())
        self.eval()

    def forward(self, x, edge_index, batch):
        for conv, norm in zip(self.convs, self.norms):
            x = torch.relu(norm(conv(x, edge_index)))
        return self.head(global_mean_pool(x, batch))


def test_trained_victims_match_plain_pyg_layers(mutag, mutag_gcn, mutag_gin, session_cache):
    """Unweighted logits of trained victims are those of PyG's stock layers on the same weights
    (so the weighted rewrite changed no committed victim)."""
    from victims.store import get_victim

    batch = Batch.from_data_list(mutag[mutag_gcn.split["test"]])
    for victim in (mutag_gcn, mutag_gin, *(get_victim(mutag, a, seed=0, device="cpu", progress=False)
                                           for a in ("graphsage", "gat"))):
        with torch.no_grad():
            ours = victim.model(batch.x, batch.edge_index, batch.batch)
            ref = PlainPyG(victim.model)(batch.x, batch.edge_index, batch.batch)
        torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-5)


def test_probe_names_an_unfaithful_model(mutag):
    """A model that multiplies messages after a mean (PyG's explain masks) fails check (a)."""
    class MaskedSAGE(nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.conv = SAGEConv(mutag.num_features, 8, aggr="mean")
            self.head = nn.Linear(8, 2)

        def forward(self, x, edge_index, batch, edge_weight=None):
            from torch_geometric.explain.algorithm.utils import clear_masks, set_masks
            if edge_weight is not None:
                set_masks(self, edge_weight, edge_index, apply_sigmoid=False)
            try:
                return self.head(global_mean_pool(self.conv(x, edge_index).relu(), batch))
            finally:
                clear_masks(self)

    result = probe_relaxation(MaskedSAGE().eval(), mutag.graphs)
    assert result.status == "unfaithful" and "(a)" in result.reason
    for arch in ARCHS:
        ours = GraphClassifier(VictimConfig(arch, in_channels=mutag.num_features, num_classes=2)).eval()
        assert probe_relaxation(ours, mutag.graphs).faithful, arch


def test_saved_adversarial_graphs_fool_an_independent_model(tu_root, mutag, mutag_gcn, tmp_path):
    """The records' success counts, re-checked outside the evaluator: reload the graphs written by
    ``--save-adversarial`` and re-predict them with PyG's stock layers on the victim's weights."""
    import json

    from click.testing import CliRunner

    from cama.adversarial import AdversarialDataset
    from cama.cli import cli

    res = CliRunner().invoke(cli, ["attack", "-d", "MUTAG", "-m", "gcn", "-a", "cama-node,degree", "-b", "0.1,0.2",
                                   "--data-root", str(tu_root), "--out", str(tmp_path / "runs"), "--format", "json",
                                   "--save-adversarial", str(tmp_path / "adv.pt")])
    assert res.exit_code == 0, res.output
    reference = PlainPyG(mutag_gcn.model)
    checked = 0
    for rec in (json.loads(x) for x in res.output.splitlines() if x.startswith("{")):
        graphs = list(AdversarialDataset(tmp_path / "adv.pt", budget=f"{rec['attack']}@{rec['budget']}"))
        batch = Batch.from_data_list(graphs)
        with torch.no_grad():
            pred = reference(batch.x, batch.edge_index, batch.batch).argmax(-1)
        assert len(graphs) == rec["n_attacked"]
        assert int((pred != batch.y).sum()) == rec["n_success"]
        # every adversarial graph pairs with its original and says whether it fooled the victim
        for g, p in zip(graphs, pred.tolist()):
            original = mutag[int(g.dataset_index)]
            assert original.num_nodes == g.num_nodes and int(original.y) == int(g.y)
            assert bool(g.fooled) == (p != int(g.y))
        assert rec["adv_acc"] == pytest.approx((rec["n_correct"] - rec["n_success"]) / rec["n_test"])
        checked += rec["n_success"]
    assert checked > 0
    meta = torch.load(tmp_path / "adv.pt", weights_only=True)["meta"]
    assert len(meta["victim_sha256"]) == 64 and "cama-node@0.1" in meta["runs"]
    with pytest.raises(Exception, match="cama-node@0.1"):
        AdversarialDataset(tmp_path / "adv.pt", budget="0.1")  # a missing key lists the keys


def test_scoring_is_in_eval_mode_even_for_a_heavy_dropout_victim(mutag, mutag_gcn):
    """With dropout p = 0.95 any forward in training mode is close to random: identical records on
    two runs, and the clean accuracy of the eval-mode model, show every score is in eval mode."""
    import copy

    from attacks import make_attack
    from cama.budget import parse_budgets
    from cama.evaluate import evaluate_attack

    model = copy.deepcopy(mutag_gcn.model)
    model.dropout.p = 0.95
    test = mutag[mutag_gcn.split["test"]]
    batch = Batch.from_data_list(test)
    with torch.no_grad():
        eval_acc = (model.eval()(batch.x, batch.edge_index, batch.batch).argmax(-1) == batch.y).float().mean().item()
    runs = []
    for _ in range(2):
        model.train()  # the evaluator must switch it
        runs.append(evaluate_attack(model, mutag, mutag_gcn.split["test"], make_attack("cama-node"),
                                    parse_budgets("0.1"), victim_name="gcn", victim_seed=0).records[0])
    assert runs[0]["clean_acc"] == pytest.approx(eval_acc)
    assert [r["n_success"] for r in runs] == [runs[0]["n_success"]] * 2
