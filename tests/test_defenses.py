"""Defended victims (issue 17): structure cleaning (+guard) and adversarial training (+adv)."""
from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Batch

from cama.errors import CamaError
from victims.defenses import AdversarialTraining, parse_victim
from victims.store import get_victim, load_victim, locate_victim
from victims.train import TrainConfig

FAST = TrainConfig(epochs=30, patience=15)


def test_victim_specs_are_normalised_or_refused():
    assert parse_victim("gcn").name == "gcn"
    assert parse_victim("gcn+guard").name == "gcn+guard:0.1"
    assert parse_victim("gin+adv").name == "gin+adv:cama-node@0.1"
    assert parse_victim("gat+adv:grbcd@0.05").defense == "adv:grbcd@0.05"
    for bad in ("gcnn", "gcn+shield", "gcn+guard:2", "gcn+adv:nope", "gcn+adv:grbcd@0"):
        with pytest.raises(CamaError):
            parse_victim(bad)


def test_guard_keeps_the_edge_weight_contract(mutag, session_cache):
    """The cleaning is part of the model: weight-0 pairs change nothing, the edge list's order
    does not matter, gradients reach the weights (gradient attacks stay adaptive), and the
    defended victim has its own key while the plain one keeps the zoo's."""
    from cama.relaxation import probe_relaxation

    victim = get_victim(mutag, "gcn+guard", 0, FAST, device="cpu", progress=False)
    assert victim.model.config.guard == pytest.approx(0.1) and victim.train_config.defense == "guard:0.1"
    test = mutag[victim.split["test"]]
    assert probe_relaxation(victim.model, test).status == "faithful"
    b = Batch.from_data_list(test[:4])
    w = torch.ones(b.edge_index.size(1), requires_grad=True)
    victim.model(b.x, b.edge_index, b.batch, w).sum().backward()
    assert w.grad is not None and w.grad.abs().sum() > 0
    assert locate_victim(mutag, "gcn+guard", 0, FAST)[0] != locate_victim(mutag, "gcn", 0, FAST)[0]
    again = load_victim(victim.path, "cpu")
    assert torch.allclose(again.model(b.x, b.edge_index, b.batch), victim.model(b.x, b.edge_index, b.batch))


def test_adversarial_training_perturbs_every_batch_and_trains(mutag, session_cache):
    adv = AdversarialTraining("adv:cama-node@0.1", mutag.featurizer)
    victim = get_victim(mutag, "gcn", 0, device="cpu", progress=False)
    b = Batch.from_data_list(mutag[:16])
    out = adv.perturb(victim.model, b, seed=0)
    assert victim.model.training  # left in training mode
    victim.model.eval()
    assert out.edge_index.size(1) != b.edge_index.size(1) or not torch.equal(out.edge_index, b.edge_index)
    defended = get_victim(mutag, "gin+adv", 0, FAST, device="cpu", progress=False)
    assert defended.train_config.defense == "adv:cama-node@0.1" and defended.test_acc >= 0.6
    with pytest.raises(CamaError, match="feature attack"):
        AdversarialTraining("adv:cama-feature@0.1", mutag.featurizer)


def test_defended_victims_get_the_suite(mutag, session_cache):
    """The suite's gradient attacks optimise the defended model itself; robust accuracy ≤ clean."""
    from cama.suite import run_suite

    victim = get_victim(mutag, "gcn+guard", 0, FAST, device="cpu", progress=False)
    report = run_suite(victim.model, mutag, victim.split["test"], "standard", name="gcn+guard",
                       allow_weak=True)  # a FAST-trained victim may sit at the majority rate
    assert report.robust_acc and all(0 <= a <= report.clean_acc + 1e-9 for a in report.robust_acc.values())
    assert any(row["attack"] in ("grbcd", "prbcd") for row in report.rows)
