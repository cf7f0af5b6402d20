"""Victims: architectures, training accuracy on real data, checkpoints, cache."""
from __future__ import annotations

import torch
from torch_geometric.data import Batch

from victims import ARCHITECTURES
from victims.store import get_victim, load_victim, save_victim, victim_cache_dir


def test_gin_on_mutag_reaches_075(mutag_gin):
    assert mutag_gin.test_acc >= 0.75
    assert mutag_gin.val_acc >= 0.75


def test_every_architecture_trains_and_follows_the_contract(synthetic, session_cache):
    batch = Batch.from_data_list(synthetic[:8])
    for arch in ARCHITECTURES:
        v = get_victim(synthetic, arch, seed=0, device="cpu", progress=False)
        assert v.test_acc >= 0.9, arch  # the motif task is easy for every architecture
        logits = v.model(batch.x, batch.edge_index, batch.batch)
        assert logits.shape == (8, 2)
        # edge_weight of ones = unweighted graph; gradients reach the weights
        w = torch.ones(batch.edge_index.size(1), requires_grad=True)
        logits_w = v.model(batch.x, batch.edge_index, batch.batch, edge_weight=w)
        assert torch.allclose(logits, logits_w, atol=1e-5)
        logits_w[:, 0].sum().backward()
        assert w.grad is not None and w.grad.abs().sum() > 0
        # embeddings of every layer are reachable without a second forward
        out, embs = v.model.forward_with_embeddings(batch.x, batch.edge_index, batch.batch)
        assert len(embs) == v.model.config.num_layers and torch.allclose(out, logits)


def test_checkpoint_round_trip_gives_identical_logits(mutag, mutag_gcn, tmp_path):
    path = save_victim(mutag_gcn, tmp_path / "v.pt")
    raw = torch.load(path, weights_only=True)
    assert {"state_dict", "victim_config", "split", "featurizer", "val_acc", "test_acc", "dataset"} <= set(raw)
    loaded = load_victim(path, device="cpu")
    batch = Batch.from_data_list(mutag[mutag_gcn.split["test"]])
    a = mutag_gcn.model(batch.x, batch.edge_index, batch.batch)
    b = loaded.model(batch.x, batch.edge_index, batch.batch)
    assert torch.equal(a, b)
    assert loaded.test_acc == mutag_gcn.test_acc and loaded.dataset == "MUTAG"
    assert all(torch.equal(loaded.split[k], mutag_gcn.split[k]) for k in ("train", "val", "test"))


def test_cache_reuses_trained_victims(synthetic, synthetic_gcn):
    again = get_victim(synthetic, "gcn", seed=0, device="cpu", progress=False)
    assert again.path == synthetic_gcn.path and again.source == "cache"
    assert len(list(victim_cache_dir().glob("synthetic-motifs-gcn-s0-*.pt"))) == 1


def test_zoo_victims_come_before_the_cache(mutag, mutag_gcn):
    """MUTAG's leaderboard victims ship in the zoo: nothing is trained or cached for them."""
    assert mutag_gcn.source == "zoo" and mutag_gcn.path.parent.name == "zoo"
    assert not list(victim_cache_dir().glob("MUTAG-gcn-s0-*.pt"))


def test_training_is_deterministic(synthetic):
    from victims.store import train_victim
    from victims.train import TrainConfig

    cfg = TrainConfig(epochs=5)
    a = train_victim(synthetic, "gcn", seed=4, cfg=cfg, device="cpu", progress=False)
    b = train_victim(synthetic, "gcn", seed=4, cfg=cfg, device="cpu", progress=False)
    for k, v in a.model.state_dict().items():
        assert torch.equal(v, b.model.state_dict()[k]), k


def test_training_batches_are_the_seeded_dataloaders_batches(mutag):
    """Mini-batches cut out of the collated training set are exactly those (and in the order) of
    PyG's seeded ``DataLoader(shuffle=True)``, epoch after epoch: the faster loop trains the same
    victims."""
    from torch_geometric.loader import DataLoader

    from cama.replicate import GraphSlicer
    from victims.train import default_split, shuffled_batches

    train = mutag[default_split(mutag, 3)["train"]]
    loader = DataLoader(train, batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(3))
    slicer, gen = GraphSlicer(Batch.from_data_list(train)), torch.Generator().manual_seed(3)
    for _ in range(3):
        ours = [slicer.select(ids) for ids in shuffled_batches(len(train), 32, gen, torch.device("cpu"))]
        theirs = list(loader)
        assert len(ours) == len(theirs) == 5  # 150 training graphs
        for a, b in zip(ours, theirs):
            for key in ("x", "edge_index", "y", "batch", "ptr"):
                assert torch.equal(a[key], b[key]), key


def test_sparse_operator_equals_edge_list_messages(mutag):
    """The CSR fast path (no edge weights) equals message passing on the edge list, for every
    architecture, also with a repeated edge (repeated messages are summed in both) — forward and
    backward (gradients w.r.t. features and weights; the fast path's backward uses its own
    transposed operator)."""
    from victims.models import GraphClassifier, VictimConfig

    batch = Batch.from_data_list(mutag[:20])
    ei = torch.cat([batch.edge_index, batch.edge_index[:, :1]], dim=1)  # one duplicate edge
    for arch in ARCHITECTURES:
        torch.manual_seed(0)
        model = GraphClassifier(VictimConfig(arch, mutag.num_features, 2)).eval()
        grads = []
        for weight in (None, torch.ones(ei.size(1), requires_grad=True)):  # a weight with a gradient: edge list
            x = batch.x.clone().requires_grad_(True)
            out = model(x, ei, batch.batch, edge_weight=weight)
            params = [p for p in model.parameters() if p.requires_grad]
            grads.append((out, *torch.autograd.grad(out.pow(2).sum(), [x, *params])))
        for fast, slow in zip(*grads):
            assert torch.allclose(fast, slow, atol=1e-5), arch



def test_victims_table_append_replaces_only_its_rows(tmp_path):
    from cama.tables import write_victims_table

    row = {"dataset": "MUTAG", "victim": "gcn", "val_acc": 0.8, "test_acc": 0.7, "epochs": 10}
    write_victims_table([row | {"seed": 0}, row | {"seed": 1, "test_acc": 0.9}], tmp_path, "cama train A")
    write_victims_table([row | {"dataset": "DD", "seed": 0, "test_acc": 0.5}, row | {"seed": 1, "test_acc": 0.8}],
                        tmp_path, "cama train B", append=True)
    csv = (tmp_path / "victims.csv").read_text().splitlines()
    assert csv[1].startswith("MUTAG,gcn,0.75") and csv[2].startswith("DD,gcn,0.5")
    md = (tmp_path / "victims.md").read_text()
    assert "`cama train A` and `cama train B`" in md
