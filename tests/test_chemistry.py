"""Chemical validity through RDKit: clean TU molecules are valid, the valence constraint keeps
every attack's adversarial molecules valid, and the node-level rule is RDKit's verdict."""
from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdkit import Chem, RDLogger

from attacks import ATTACKS, make_attack
from cama.budget import parse_budgets
from cama.chemistry import REPAIR_RULES, edited_valid, max_valence
from cama.data import load_dataset
from cama.evaluate import evaluate_attack

RDLogger.DisableLog("rdApp.*")
BUDGETS = parse_budgets("0.05,0.1,0.2")
#: the repair rules each dataset's clean molecules need (module docstring of cama.chemistry)
REPAIRS = {"MUTAG": {"charge": 188, "drawing-error": 2}, "PTC_MR": {"charge": 34, "pyrrole-H": 4},
           "Mutagenicity": {"charge": 787}}


def _independent_mol(ds, i: int, graph) -> Chem.Mol:
    """``graph`` (clean graph i of ``ds`` or an edited copy) as an RDKit molecule, built here with
    RDKit's own API: the clean Kekulé orders where a bond was already there, single bonds where one
    was added; charges and explicit H of the clean atoms, a switched atom neutral."""
    mol = ds.extra["molecules"]
    labels = graph.x.argmax(1).tolist()
    clean = mol.bonds(i, ds.graphs[i].edge_index)
    m = Chem.RWMol()
    for node, lab in enumerate(labels):
        atom = Chem.Atom(mol.element[lab])
        if lab == int(mol.node_label[i][node]):
            atom.SetFormalCharge(int(mol.charge[i][node]))
            atom.SetNumExplicitHs(int(mol.hydrogens[i][node]))
        m.AddAtom(atom)
    types = {1.0: Chem.BondType.SINGLE, 2.0: Chem.BondType.DOUBLE, 3.0: Chem.BondType.TRIPLE}
    ei = graph.edge_index
    for u, v in ei[:, ei[0] < ei[1]].t().tolist():
        m.AddBond(u, v, types[clean.get((u, v), 1.0)])
    return m


def _sanitizes(m) -> bool:
    try:
        Chem.SanitizeMol(m)
        return True
    except Exception:
        return False


@pytest.mark.parametrize("name", list(REPAIRS))
def test_every_clean_molecule_is_valid_to_rdkit(tu_root, name):
    ds = load_dataset(name, root=tu_root)
    mol = ds.extra["molecules"]
    assert mol.check == "rdkit" and mol.invalid == {}
    assert {k: len(v) for k, v in mol.repairs.items()} == REPAIRS[name]
    assert set(mol.repairs) <= set(REPAIR_RULES)
    for i, g in enumerate(ds.graphs):
        assert _sanitizes(_independent_mol(ds, i, g)), (name, i)
        assert (mol.valence[i] <= mol.node_limit[i]).all(), (name, i)
    if name == "MUTAG":
        assert sorted(mol.repairs["drawing-error"]) == [82, 187]
        m = _independent_mol(ds, 0, ds.graphs[0])
        Chem.SanitizeMol(m)
        assert m.HasSubstructMatch(Chem.MolFromSmarts("[c]-[N+](=O)[O-]"))  # the nitro group


def test_limits_are_rdkits_with_charges():
    assert (max_valence("C"), max_valence("N"), max_valence("O"), max_valence("F"), max_valence("Cl")) == (4, 3, 2, 1, 1)
    assert max_valence("N", 1) == 4 and max_valence("O", -1) == 1 and max_valence("O", 1) == 3
    assert max_valence("S") == 6


def test_an_oxygen_takes_no_third_bond(mutag):
    """The over-statement RDKit exposed: every oxygen could reach three single bonds."""
    from torch_geometric.data import Batch

    from cama.constraints import ConstraintState

    mol = mutag.extra["molecules"]
    i = 0
    g = mutag.graphs[i]
    oxy = [n for n, lab in enumerate(mol.node_label[i].tolist()) if mol.element[lab] == "O"]
    carbon = [n for n, lab in enumerate(mol.node_label[i].tolist()) if mol.element[lab] == "C"]
    batch = Batch.from_data_list([g])
    state = ConstraintState.build(batch, ("valence",), mutag, [i])
    present = {tuple(e) for e in g.edge_index.t().tolist()}
    pairs = torch.tensor([[min(o, c), max(o, c)] for o in oxy for c in carbon if (o, c) not in present])
    assert not state.allowed(batch.edge_index, pairs).any()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_node_rule_is_rdkits_verdict(mutag, data):
    """Random bond additions and removals on a clean MUTAG molecule: the node-level rule
    (Σ Kekulé orders + explicit H ≤ the limit of element and charge) says valid exactly when RDKit
    sanitizes the edited molecule."""
    mol = mutag.extra["molecules"]
    i = data.draw(st.integers(0, len(mutag) - 1))
    n = mutag.graphs[i].num_nodes
    bonds = mol.bonds(i, mutag.graphs[i].edge_index)
    for _ in range(data.draw(st.integers(1, 6))):
        u, v = sorted(data.draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=2, unique=True)))
        if bonds.pop((u, v), None) is None:
            bonds[(u, v)] = 1.0
    valence = mol.hydrogens[i].double().clone()
    for (u, v), o in bonds.items():
        valence[u] += o
        valence[v] += o
    rule = bool((valence <= mol.node_limit[i]).all())
    assert rule == edited_valid(*mol.atoms(i), bonds)


@pytest.fixture(scope="module")
def mutag_attack_outcomes(mutag, mutag_gin):
    out = {}
    for name in ATTACKS:
        params = {"prbcd": {"epochs": 20, "epochs_resampling": 15}, "prbcd-pyg": {"epochs": 20},
                  "grbcd-pyg": {}, "genetic": {"generations": 3}}.get(name, {})
        attack = make_attack(name, **params)
        if attack.inapplicable(mutag.featurizer):
            continue
        out[name] = evaluate_attack(mutag_gin.model, mutag, mutag_gin.split["test"], attack,
                                    BUDGETS, victim_name="gin", victim_seed=0, constraints="valence,connected",
                                    keep_adversarial=True)
    return out


def test_every_attack_leaves_rdkit_valid_molecules_under_valence(mutag, mutag_attack_outcomes):
    """Every registered attack, under --constraints valence: each saved adversarial MUTAG graph
    sanitizes in RDKit (rebuilt here independently), and the records say valid = 1.0."""
    assert len(mutag_attack_outcomes) >= 15
    for name, out in mutag_attack_outcomes.items():
        for b, graphs in out.adversarial.items():
            assert len(graphs) == len(out.graph_index)
            for i, g in zip(out.graph_index, graphs):
                assert _sanitizes(_independent_mol(mutag, i, g)), (name, b, i)
        for r in out.records:
            assert r["noticeability"]["valence_ok"] == 1.0, name
            assert r["noticeability"]["valence_check"] == "rdkit"


@pytest.mark.parametrize("name", ["PTC_MR", "Mutagenicity"])
def test_constrained_attacks_keep_ptc_and_mutagenicity_valid(tu_root, name):
    """Validity does not depend on the victim's quality: a seeded, untrained GCN is attacked."""
    from victims.models import GraphClassifier, VictimConfig

    ds = load_dataset(name, root=tu_root)
    torch.manual_seed(0)
    model = GraphClassifier(VictimConfig("gcn", ds.num_features, ds.num_classes)).eval()
    test = list(range(0, len(ds), max(1, len(ds) // 120)))
    for attack in ("cama", "grbcd", "random"):
        out = evaluate_attack(model, ds, test, make_attack(attack), BUDGETS, victim_name="gcn",
                              victim_seed=0, constraints="valence", keep_adversarial=True)
        assert len(out.graph_index) >= 20
        for graphs in out.adversarial.values():
            for i, g in zip(out.graph_index, graphs):
                assert _sanitizes(_independent_mol(ds, i, g)), (name, attack, i)


def test_unconstrained_attacks_can_break_molecules_and_records_say_so(mutag, mutag_gin):
    """Without the constraint the share of RDKit-valid adversarial molecules is measured, not
    assumed: random flips at ρ = 0.2 break some, and the record's share equals RDKit's count."""
    out = evaluate_attack(mutag_gin.model, mutag, mutag_gin.split["test"], make_attack("random"), BUDGETS,
                          victim_name="gin", victim_seed=0, keep_adversarial=True)
    rec = out.records[-1]
    graphs = out.adversarial[str(BUDGETS[-1])]
    valid = [_sanitizes(_independent_mol(mutag, i, g)) for i, g in zip(out.graph_index, graphs)]
    assert not all(valid)
    assert rec["noticeability"]["valence_ok"] == pytest.approx(sum(valid) / len(valid))
    assert "qed_change" in rec["noticeability"]
