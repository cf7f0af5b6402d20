"""The RDKit-backed ``valence`` constraint against the previous rule, side by side in one run.

    python benchmarks/valence_constraint.py [--data-root ../shared/data/TU] [--flips 0.2] [--repeat 3]

The previous rule (kept here only to measure it): per label, the larger of a standard valence
table and the highest Σ TU bond orders the dataset's clean molecules show, with aromatic bonds
counted 1.5 — so an aromatic ring oxygen (2 × 1.5 = 3) let every oxygen reach three single
bonds. The RDKit rule (:mod:`cama.chemistry`): Kekulé bond orders, charges restored, RDKit's
limit of each atom's element and charge; validity measured by RDKit's sanitization.

Per dataset (MUTAG, Mutagenicity): seconds to build the molecule data, to filter a random edit
list of ``--flips`` × |E| flips per graph (``enforce``, every graph in one batch) and to measure
the adversarial graphs (``measure``), best of ``--repeat``; the flips each rule keeps; and how
many graphs each rule lets through that RDKit rejects.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from cama.errors import run_script  # noqa: E402

#: the previous rule's standard valences (hydrogens implicit)
PREVIOUS_TABLE = {"H": 1, "C": 4, "N": 3, "O": 2, "F": 1, "Cl": 1, "Br": 1, "I": 1, "S": 6, "P": 5, "B": 3,
                  "Si": 4, "Se": 2, "Na": 1, "K": 1, "Li": 1, "Ca": 2, "Ba": 2, "Cu": 2, "Zn": 2, "Sn": 4,
                  "Pb": 4, "In": 3, "As": 5, "Hg": 2, "Bi": 3, "Ge": 4, "Co": 3, "Pt": 4, "Tl": 3, "Te": 2}


def tu_orders(ds, root: Path) -> list[torch.Tensor]:
    """TU bond order (aromatic 1.5) of every directed edge, per graph, from the raw files."""
    from cama.chemistry import bond_order, label_names
    from cama.data import _load_tu

    tu, _ = _load_tu(ds.name, root, False)
    names = label_names(tu.raw_dir, ds.name)
    order_of = torch.tensor([bond_order(names["edge"][k]) for k in range(len(names["edge"]))], dtype=torch.float64)
    return [order_of[tu[i].edge_attr[:, -tu.num_edge_labels:].argmax(1)] for i in range(len(tu))]


def previous_molecules(ds, orders):
    from cama.chemistry import Molecules

    mol = ds.extra["molecules"]
    valence = [torch.zeros(g.num_nodes, dtype=torch.float64).index_add_(0, g.edge_index[0], o)
               for g, o in zip(ds.graphs, orders)]
    observed = torch.zeros(len(mol.element), dtype=torch.float64).scatter_reduce(
        0, torch.cat(mol.node_label), torch.cat(valence), reduce="amax")
    std = torch.tensor([float(PREVIOUS_TABLE.get(e, 0)) for e in mol.element], dtype=torch.float64)
    limit = torch.maximum(observed, std)
    return Molecules(mol.node_label, valence, limit, mol.element, orders,
                     node_limit=[limit[lab] for lab in mol.node_label], check="previous")


def random_flips(batch, share: float, seed: int = 0):
    from cama.edits import EditList, rank_within_graph

    gen = torch.Generator().manual_seed(seed)
    flips = []
    for g in range(batch.num_graphs):
        lo, hi = int(batch.ptr[g]), int(batch.ptr[g + 1])
        k = max(1, round(share * int(((batch.batch[batch.edge_index[0]] == g).sum()) // 2)))
        u = torch.randint(lo, hi, (k,), generator=gen)
        v = torch.randint(lo, hi, (k,), generator=gen)
        keep = u != v
        flips.append(torch.stack([torch.minimum(u, v), torch.maximum(u, v)], 1)[keep])
    f = torch.unique(torch.cat(flips), dim=0)
    f = f[torch.randperm(f.size(0), generator=gen)]
    graph = batch.batch[f[:, 0]]
    return EditList.from_flips(batch, f, rank_within_graph(graph, -torch.arange(f.size(0)).double(), batch.num_graphs))


def best(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data" / "TU"))
    ap.add_argument("--flips", type=float, default=0.2)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from torch_geometric.data import Batch

    from cama.chemistry import molecules
    from cama.constraints import ConstraintState
    from cama.data import load_dataset
    from cama.edits import apply_edits

    root = Path(args.data_root)
    print(f"{'dataset':13} {'rule':9} {'build s':>8} {'enforce s':>10} {'measure s':>10} {'flips kept':>11} "
          f"{'RDKit-invalid graphs':>21}")
    for name in ("MUTAG", "Mutagenicity"):
        ds = load_dataset(name, root=root)
        orders = tu_orders(ds, root)
        names = dict(enumerate(ds.extra["molecules"].element))
        ids = list(range(len(ds)))
        batch = Batch.from_data_list(ds.graphs)
        edits = random_flips(batch, args.flips)
        rdkit_mol = ds.extra["molecules"]
        builders = {"previous": lambda: previous_molecules(ds, orders),
                    "rdkit": lambda: molecules(ds.graphs, orders, names)}
        for rule, build in builders.items():
            build_s, mol = best(build, 1 if rule == "rdkit" else args.repeat)
            ds.extra["molecules"] = mol
            state = ConstraintState.build(batch, ("valence",), ds, ids)
            enforce_s, kept = best(lambda: state.enforce(batch, edits), args.repeat)
            adv = apply_edits(batch, kept, ds.featurizer)
            measure_s, _ = best(lambda: state.measure(batch, adv, kept.flips), args.repeat)
            # the judge is RDKit, whatever rule filtered the edits
            ds.extra["molecules"] = rdkit_mol
            judge = ConstraintState.build(batch, (), ds, ids).measure(batch, adv, kept.flips)
            bad = int((~judge["valence_ok"]).sum())
            print(f"{name:13} {rule:9} {build_s:8.2f} {enforce_s:10.3f} {measure_s:10.3f} "
                  f"{kept.flips.size(0):>5}/{edits.flips.size(0):<5} {bad:>10} of {len(ds):<6}")


if __name__ == "__main__":
    run_script(main)
