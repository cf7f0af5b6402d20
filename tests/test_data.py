"""Datasets: real TU loading from a read-only folder, featurizers, synthetic motifs, splits."""
from __future__ import annotations

import torch
from torch_geometric.utils import degree

from cama.data import load_dataset
from cama.edits import apply_flips
from cama.splits import stratified_split

OFFICIAL = {  # graphs, classes, avg nodes, avg undirected edges (TUDataset collection table)
    "MUTAG": (188, 2, 17.93, 19.79),
    "PROTEINS": (1113, 2, 39.06, 72.82),
    "IMDB-BINARY": (1000, 2, 19.77, 96.53),
}


def _check_official(ds):
    graphs, classes, nodes, edges = OFFICIAL[ds.name]
    st = ds.stats()
    assert (st["graphs"], st["classes"]) == (graphs, classes)
    assert abs(st["avg_nodes"] - nodes) < 0.01 and abs(st["avg_edges"] - edges) < 0.01


def test_mutag_matches_official_counts(mutag):
    _check_official(mutag)
    assert mutag.featurizer.kind == "labels" and mutag.num_features == 7
    assert torch.allclose(mutag[0].x.sum(1), torch.ones(mutag[0].num_nodes))  # one-hot labels
    assert mutag.node_label_names[0] == "C"


def test_proteins_matches_official_counts(proteins):
    _check_official(proteins)
    assert proteins.num_features == 3


def test_imdb_gets_degree_features(imdb):
    _check_official(imdb)
    f = imdb.featurizer
    assert f.kind == "degree" and f.structural and f.max_degree == 135 and imdb.num_features == 136
    g = imdb[0]
    deg = degree(g.edge_index[0], g.num_nodes).long()
    assert torch.equal(g.x.argmax(1), deg)


def test_source_folder_stays_untouched(tu_root, mutag):
    assert not (tu_root / "MUTAG" / "processed").exists()
    assert "tu-copies" in mutag.source


def test_refeaturize_after_edge_flip_changes_degree_features(imdb):
    g = imdb[3].clone()
    before = g.x.clone()
    u, v = g.edge_index[:, 0].tolist()
    g.edge_index = apply_flips(g.edge_index, torch.tensor([[min(u, v), max(u, v)]]), g.num_nodes)
    imdb.featurizer.refeaturize(g)
    changed = (g.x != before).any(1).nonzero().view(-1).tolist()
    assert sorted(changed) == sorted({u, v})
    assert g.x[u].argmax() == before[u].argmax() - 1


def test_label_features_do_not_follow_structure(mutag):
    g = mutag[0].clone()
    before = g.x.clone()
    g.edge_index = apply_flips(g.edge_index, torch.tensor([[0, 5]]), g.num_nodes)
    mutag.featurizer.refeaturize(g)
    assert torch.equal(g.x, before)


def test_enzymes_keeps_standardised_attributes(tu_root):
    ds = load_dataset("ENZYMES", root=tu_root)
    f = ds.featurizer
    assert f.continuous == (0, 18) and f.onehot == (18, 21) and ds.num_classes == 6
    attrs = torch.cat([g.x[:, :18] for g in ds.graphs])
    assert torch.allclose(attrs.mean(0), torch.zeros(18), atol=1e-4)
    assert torch.allclose(attrs.std(0, unbiased=False), torch.ones(18), atol=1e-3)


def test_synthetic_motifs_deterministic_with_ground_truth():
    a = load_dataset("synthetic-motifs", seed=3, synthetic_graphs=40)
    b = load_dataset("synthetic-motifs", seed=3, synthetic_graphs=40)
    assert all(torch.equal(x.edge_index, y.edge_index) for x, y in zip(a.graphs, b.graphs))
    assert a.num_classes == 2 and sorted(a.y.bincount().tolist()) == [20, 20]
    for g in a.graphs:
        assert int(g.motif_mask.sum()) == 5
        ei = g.edge_index
        assert (ei[0] != ei[1]).all()
        # symmetric
        keys = set(map(tuple, ei.t().tolist()))
        assert all((v, u) in keys for u, v in keys)


def test_stratified_split_is_deterministic_and_stratified(proteins):
    y = proteins.y
    s1, s2 = stratified_split(y, seed=1), stratified_split(y, seed=1)
    assert all(torch.equal(s1[k], s2[k]) for k in s1)
    assert not torch.equal(s1["test"], stratified_split(y, seed=2)["test"])
    idx = torch.cat([s1["train"], s1["val"], s1["test"]])
    assert torch.equal(torch.sort(idx)[0], torch.arange(len(y)))  # a partition
    overall = y.float().mean()
    for part in ("train", "val", "test"):
        assert abs(y[s1[part]].float().mean() - overall) < 0.02
    assert abs(len(s1["test"]) - 0.1 * len(y)) <= 2


