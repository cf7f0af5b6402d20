"""Graph-CAM importance: exact identities, batching, per-graph isolation, ground truth, edge cases."""
from __future__ import annotations

import pytest
import torch
from torch import nn
from torch_geometric.data import Batch, Data
from torch_geometric.nn import GraphConv, global_max_pool

from cama.errors import CamaError
from cama.importance import node_importance
from cama.subgraphs import ego_scores, top_subgraphs


def roc_auc(scores: torch.Tensor, labels: torch.Tensor) -> float:
    pos, neg = scores[labels], scores[~labels]
    cmp = (pos[:, None] > neg[None, :]).float() + 0.5 * (pos[:, None] == neg[None, :]).float()
    return cmp.mean().item()


@pytest.mark.parametrize("method", ["cam", "gradcam", "gradcam-avg"])
def test_batched_equals_per_graph(mutag, mutag_gin, method):
    graphs = mutag[list(range(40))]
    batch = Batch.from_data_list(graphs)
    together = node_importance(mutag_gin.model, batch, method)
    for i, g in enumerate(graphs):
        alone = node_importance(mutag_gin.model, Batch.from_data_list([g]), method)
        mask = batch.batch == i
        assert torch.allclose(together.scores[mask], alone.scores, atol=1e-5)
        assert torch.allclose(together.other[mask], alone.other, atol=1e-5)


@pytest.mark.parametrize("victim", ["mutag_gcn", "mutag_gin"])
def test_gradcam_equals_cam_over_graph_size(mutag, victim, request):
    model = request.getfixturevalue(victim).model
    batch = Batch.from_data_list(mutag[list(range(30))])
    cam = node_importance(model, batch, "cam", normalize=False).scores
    grad = node_importance(model, batch, "gradcam", normalize=False).scores
    sizes = torch.bincount(batch.batch)[batch.batch].float()
    assert cam.abs().sum() > 0
    assert torch.allclose(grad, cam / sizes, rtol=1e-4, atol=1e-6)


def test_scores_are_per_graph(mutag, mutag_gcn):
    a, b, c = mutag[0], mutag[1], mutag[2]
    s1 = node_importance(mutag_gcn.model, Batch.from_data_list([a, b]), "gradcam")
    s2 = node_importance(mutag_gcn.model, Batch.from_data_list([a, c]), "gradcam")
    n = a.num_nodes
    assert torch.allclose(s1.scores[:n], s2.scores[:n], atol=1e-6)


def test_normalised_per_graph_and_targets(mutag, mutag_gcn):
    batch = Batch.from_data_list(mutag[list(range(20))])
    imp = node_importance(mutag_gcn.model, batch, "gradcam")
    peak = torch.zeros(20).scatter_reduce(0, batch.batch, imp.scores, reduce="amax")
    assert ((peak == 1) | (peak == 0)).all() and (imp.scores >= 0).all()
    assert torch.equal(imp.target, batch.y)
    assert (imp.runner_up != imp.target).all()
    pred = node_importance(mutag_gcn.model, batch, "gradcam", target="pred")
    assert torch.equal(pred.target, imp.logits.argmax(-1))
    fixed = node_importance(mutag_gcn.model, batch, "gradcam", target=1)
    assert (fixed.target == 1).all()


@pytest.mark.parametrize("arch", ["gcn", "gin"])
def test_motif_ground_truth_auc(synthetic, arch, session_cache):
    from victims.store import get_victim
    v = get_victim(synthetic, arch, seed=0, device="cpu", progress=False)
    test = synthetic[v.split["test"]]
    batch = Batch.from_data_list(test)
    for method in ("cam", "gradcam"):
        s = node_importance(v.model, batch, method).scores
        aucs = [roc_auc(s[batch.batch == i], batch.motif_mask[batch.batch == i]) for i in range(len(test))]
        assert sum(aucs) / len(aucs) >= 0.80, (arch, method, sum(aucs) / len(aucs))


def test_degenerate_graphs_get_finite_scores(mutag, mutag_gcn):
    single = Data(x=mutag[0].x[:1], edge_index=torch.zeros(2, 0, dtype=torch.long), y=torch.tensor([0]))
    edgeless = Data(x=mutag[0].x[:4], edge_index=torch.zeros(2, 0, dtype=torch.long), y=torch.tensor([1]))
    isolated = Data(x=mutag[0].x[:5], edge_index=torch.tensor([[0, 1], [1, 0]]), y=torch.tensor([0]))
    batch = Batch.from_data_list([single, edgeless, isolated, mutag[3]])
    for method in ("cam", "gradcam", "gradcam-avg"):
        imp = node_importance(mutag_gcn.model, batch, method)
        assert torch.isfinite(imp.scores).all() and torch.isfinite(imp.other).all()
    ego = ego_scores(imp.scores, batch.edge_index, k=2)
    assert torch.isfinite(ego).all()


class MaxPoolMLP(nn.Module):
    """A foreign model: GraphConv layers, max pooling, MLP head, forward without edge_weight."""

    def __init__(self, d_in, n_cls):
        super().__init__()
        self.c1, self.c2 = GraphConv(d_in, 32), GraphConv(32, 32)
        self.mlp = nn.Sequential(nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, n_cls))

    def forward(self, x, edge_index, batch):
        h = self.c2(torch.relu(self.c1(x, edge_index)), edge_index).relu()
        return self.mlp(global_max_pool(h, batch))


class NoMessagePassing(nn.Module):
    def __init__(self, d_in, n_cls):
        super().__init__()
        self.lin = nn.Linear(d_in, n_cls)

    def forward(self, x, edge_index, batch):
        return self.lin(x).mean(0, keepdim=True).expand(int(batch.max()) + 1, -1)


def test_foreign_model_uses_hooks_and_falls_back_from_cam(mutag):
    model = MaxPoolMLP(7, 2)
    batch = Batch.from_data_list(mutag[list(range(10))])
    imp = node_importance(model, batch, "cam")
    assert imp.method == "gradcam" and imp.notes
    named = node_importance(model, batch, "gradcam", cam_layer="c1")
    assert named.scores.shape == (batch.num_nodes,) and torch.isfinite(named.scores).all()
    with pytest.raises(CamaError, match="no layer named"):
        node_importance(model, batch, "gradcam", cam_layer="nope")


def test_model_without_message_passing_gets_clear_error(mutag):
    batch = Batch.from_data_list(mutag[list(range(3))])
    with pytest.raises(CamaError, match="no torch_geometric MessagePassing layer"):
        node_importance(NoMessagePassing(7, 2), batch, "gradcam")


def test_subgraph_scores(mutag, mutag_gcn):
    batch = Batch.from_data_list(mutag[list(range(12))])
    imp = node_importance(mutag_gcn.model, batch, "gradcam")
    ego = ego_scores(imp.scores, batch.edge_index, k=1)
    # (A+I)s for k=1, checked against a dense product on this small batch
    a = torch.zeros(batch.num_nodes, batch.num_nodes)
    a[batch.edge_index[0], batch.edge_index[1]] = 1
    assert torch.allclose(ego, (a + torch.eye(batch.num_nodes)) @ imp.scores, atol=1e-5)
    subs = top_subgraphs(imp.scores, batch.edge_index, batch.batch, batch.num_graphs, k=1, top=2)
    for g, lst in enumerate(subs):
        assert len(lst) == 2 and lst[0].score >= lst[1].score
        assert (batch.batch[lst[0].nodes] == g).all()


def test_deletion_curve_favours_importance_over_random(mutag, mutag_gin):
    from cama.fidelity import deletion_curves

    batch = Batch.from_data_list(mutag[mutag_gin.split["test"]])
    for method in ("cam", "gradcam", "gradcam-avg"):
        scores = node_importance(mutag_gin.model, batch, method).scores
        curves = deletion_curves(mutag_gin.model, batch, mutag.featurizer, scores)
        assert curves["area"] > 0, (method, curves)
