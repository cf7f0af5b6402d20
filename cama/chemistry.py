"""Atoms and bonds of molecular TU datasets, for the ``valence`` constraint.

The TU files name their labels in a README (MUTAG, PTC_MR: ``Node labels:`` / ``Edge labels:``
followed by ``id  name`` lines) or a ``*_label_readme.txt`` (Mutagenicity: ``Component 0:``
blocks). :func:`label_names` parses both. Bond orders: single 1, double 2, triple 3, aromatic
1.5 (or the number itself where the file names bonds by valence, as Mutagenicity does).

**Maximum valence per label** (:func:`max_valence`): for a named element, the larger of its
standard valence (:data:`STANDARD_VALENCE`, hydrogens removed as in these files) and the highest
valence the dataset's own clean molecules show for it (MUTAG's nitro groups are drawn with a
four-bonded N); for unnamed labels (NCI1), the highest degree observed for the label in the
dataset's clean graphs (every clean graph is valid by construction, test graphs included).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

#: highest common valence of each element (hydrogens implicit)
STANDARD_VALENCE = {"H": 1, "C": 4, "N": 3, "O": 2, "F": 1, "Cl": 1, "Br": 1, "I": 1, "S": 6, "P": 5, "B": 3,
                    "Si": 4, "Se": 2, "Na": 1, "K": 1, "Li": 1, "Ca": 2, "Ba": 2, "Cu": 2, "Zn": 2, "Sn": 4,
                    "Pb": 4, "In": 3, "As": 5, "Hg": 2, "Bi": 3, "Ge": 4, "Co": 3, "Pt": 4, "Tl": 3, "Te": 2}
BOND_ORDER = {"single": 1.0, "double": 2.0, "triple": 3.0, "aromatic": 1.5}
_ENTRY = re.compile(r"^\s*(\d+)\s+(\S+)\s*$")


def _sections(text: str) -> dict[str, dict[int, str]]:
    """``{"node": {id: name}, "edge": {id: name}}`` from a TU README or label readme."""
    out: dict[str, dict[int, str]] = {}
    current = None
    for line in text.splitlines():
        low = line.strip().lower()
        if low.startswith("node labels"):
            current = "node"
            out.setdefault(current, {})
            continue
        if low.startswith("edge labels"):
            current = "edge"
            out.setdefault(current, {})
            continue
        if current is None:
            continue
        if low.startswith("component") or not low:
            continue
        m = _ENTRY.match(line)
        if m:
            out[current][int(m.group(1))] = m.group(2)
        elif out[current]:  # the first non-entry line after entries ends the section
            current = None
    return out


def label_names(raw_dir: str | Path, name: str) -> dict[str, dict[int, str]]:
    """Node and edge label names found in the TU folder's readme files (empty when none)."""
    raw = Path(raw_dir)
    for f in (raw / f"{name}_label_readme.txt", raw / "README.txt"):
        if f.is_file():
            found = _sections(f.read_text(errors="replace"))
            if found.get("node"):
                return found
    return {}


def bond_order(label: str) -> float | None:
    """Bond order of an edge label name (``aromatic`` → 1.5, ``2`` → 2.0), None when unknown."""
    if label.lower() in BOND_ORDER:
        return BOND_ORDER[label.lower()]
    try:
        return float(label)
    except ValueError:
        return None


@dataclass
class Molecules:
    """Valence data of a molecular dataset: per graph, every node's label and clean valence;
    per label, the maximum valence an atom may reach; whether bond orders are known."""

    node_label: list[Tensor]       # per graph [n] label id
    valence: list[Tensor]          # per graph [n] Σ bond orders (degree when orders are unknown)
    max_valence: Tensor            # [L] per label
    element: list[str | None]      # per label
    edge_orders: list[Tensor] | None  # per graph [E] order of every directed edge (None: unknown)

    @property
    def bond_orders(self) -> bool:
        return self.edge_orders is not None

    def describe(self) -> str:
        names = [f"{e or i}≤{v:g}" for i, (e, v) in enumerate(zip(self.element, self.max_valence.tolist()))]
        kind = "bond orders" if self.bond_orders else "degrees (unnamed labels)"
        return f"valence by {kind}: " + ", ".join(names)


def molecules(graphs, edge_orders: list[Tensor] | None, node_names: dict[int, str] | None,
              label_offset: int = 0) -> Molecules:
    """:class:`Molecules` of ``graphs`` whose one-hot node labels are ``x[:, label_offset:]``;
    ``edge_orders[i]``: bond order of every directed edge of graph i (None: unnamed → degrees)."""
    labels, valences = [], []
    num_labels = graphs[0].x.size(1) - label_offset
    for i, g in enumerate(graphs):
        lab = g.x[:, label_offset:].argmax(1)
        w = edge_orders[i] if edge_orders is not None else torch.ones(g.edge_index.size(1))
        val = torch.zeros(g.num_nodes, dtype=torch.float64).index_add_(0, g.edge_index[0], w.double())
        labels.append(lab)
        valences.append(val)
    lab_all, val_all = torch.cat(labels), torch.cat(valences)
    observed = torch.zeros(num_labels, dtype=torch.float64).scatter_reduce(0, lab_all, val_all, reduce="amax")
    element = [node_names.get(i) if node_names else None for i in range(num_labels)]
    std = torch.tensor([float(STANDARD_VALENCE.get(e, 0)) if e else 0.0 for e in element], dtype=torch.float64)
    return Molecules(labels, valences, torch.maximum(observed, std), element, edge_orders)
