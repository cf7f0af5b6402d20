"""Atoms and bonds of molecular TU datasets: RDKit molecules, their validity, the valence limits.

The TU files name their labels in a README (MUTAG, PTC_MR: ``Node labels:`` / ``Edge labels:``
followed by ``id  name`` lines) or a ``*_label_readme.txt`` (Mutagenicity: ``Component 0:``
blocks). :func:`label_names` parses both. Bond orders: single 1, double 2, triple 3, aromatic
1.5 (or the number itself where the file names bonds by valence, as Mutagenicity does).

**Named atoms and bonds → RDKit** (:func:`clean_molecule`). A graph becomes an RDKit molecule
(aromatic bonds flagged aromatic, hydrogens implicit unless the file draws them as nodes), and
RDKit's sanitization decides validity. The TU drawings leave charges out; three documented rules,
applied in this order, restore what the drawing implies (:data:`REPAIR_RULES`):

1. ``charge``: an atom outside an aromatic ring whose bond orders exceed its neutral valence —
   first every terminal ``=O``/``=S`` beyond one valence unit of excess becomes ``–O⁻`` with
   the atom one charge up (hypervalent halogen oxides); then a still over-valent N, O, S, P or
   As atom becomes the onium cation (charge +1, e.g. quaternary N), and one terminal
   single-bonded O/S neighbour of it the balancing anion: MUTAG's nitro groups, drawn
   ``C–N(–O)=O``, become ``C–[N+](=O)[O-]``;
2. ``pyrrole-H``: a ring RDKit cannot kekulize gets an explicit H on one (then two) aromatic
   N with two ring bonds (pyrrole-type ``[nH]``);
3. ``drawing-error``: an atom still over-valent with two double bonds keeps the one inside a
   fully conjugated six-ring; its other double bonds become single (MUTAG graphs 82 and 187
   draw a carbon with bonds 1 + 2 + 2).

The valid molecule is then kekulized: every bond single, double or triple, so an edit never
leaves a half-aromatic ring. Validity of an **edited** molecule (:func:`edited_valid`): bonds
added single, removed bonds dropped, a switched atom neutral and without explicit H; RDKit
sanitizes it. On a Kekulé structure sanitization fails only when some atom's explicit valence
(Σ bond orders + explicit H) exceeds RDKit's maximum for its element and charge
(:func:`max_valence`), which is the node-level rule the ``valence`` constraint applies
(:mod:`cama.constraints`) — the tests check both give the same verdict.

**Unnamed labels** (NCI1): no chemistry is known, so the maximum per label is the highest degree
the dataset's clean graphs show for it (every clean graph is valid by construction), stated as
the ``observed-degree`` check.
"""
from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

#: the rules :func:`clean_molecule` may apply (module docstring), in order
REPAIR_RULES = ("charge", "pyrrole-H", "drawing-error")
#: a limit for elements RDKit does not bound (metals: valence list -1)
UNBOUNDED = 99.0
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


def is_element(symbol: str) -> bool:
    """Whether RDKit knows ``symbol`` as an element."""
    from rdkit import Chem

    try:
        return Chem.GetPeriodicTable().GetAtomicNumber(symbol) > 0
    except RuntimeError:
        return False


@functools.lru_cache(maxsize=None)
def max_valence(symbol: str, charge: int = 0) -> float:
    """RDKit's largest permitted explicit valence of ``symbol`` with formal ``charge``, found by
    sanitizing the atom bonded to k explicit hydrogens (:data:`UNBOUNDED` when 8 pass)."""
    from rdkit import Chem

    best = -1
    for k in range(9):
        m = Chem.RWMol()
        a = Chem.Atom(symbol)
        a.SetFormalCharge(charge)
        a.SetNoImplicit(True)
        m.AddAtom(a)
        for _ in range(k):
            m.AddBond(0, m.AddAtom(Chem.Atom(1)), Chem.BondType.SINGLE)
        if _sanitize(m) is None:
            best = k
    return UNBOUNDED if best == 8 else float(max(best, 0))


def _sanitize(m) -> str | None:
    """None when RDKit sanitizes ``m`` (in place), else the first line of its complaint."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    try:
        Chem.SanitizeMol(m)
        return None
    except Exception as exc:  # RDKit raises its own AtomValenceException, KekulizeException, ...
        return str(exc).split("\n")[0]


def _bond_type(order: float):
    from rdkit import Chem

    return {1.0: Chem.BondType.SINGLE, 2.0: Chem.BondType.DOUBLE, 3.0: Chem.BondType.TRIPLE,
            1.5: Chem.BondType.AROMATIC}[float(order)]


def _neutral_max(atom) -> float:
    return max_valence(atom.GetSymbol(), 0)


def _charge_rule(m) -> bool:
    """Rule 1 (module docstring); True when it changed a charge."""
    from rdkit import Chem

    changed = False
    for a in m.GetAtoms():
        if a.GetIsAromatic():
            continue
        val = sum(b.GetBondTypeAsDouble() for b in a.GetBonds())
        cap = _neutral_max(a)
        while val - cap >= 2:
            term = [b for b in a.GetBonds() if b.GetBondType() == Chem.BondType.DOUBLE
                    and b.GetOtherAtom(a).GetSymbol() in ("O", "S") and b.GetOtherAtom(a).GetDegree() == 1]
            if not term:
                break
            term[0].SetBondType(Chem.BondType.SINGLE)
            term[0].GetOtherAtom(a).SetFormalCharge(-1)
            a.SetFormalCharge(a.GetFormalCharge() + 1)
            val, changed = val - 1, True
        if val > cap and a.GetFormalCharge() == 0 and a.GetSymbol() in ("N", "O", "S", "P", "As"):
            a.SetFormalCharge(1)
            changed = True
            anion = [b.GetOtherAtom(a) for b in a.GetBonds() if b.GetBondType() == Chem.BondType.SINGLE
                     and b.GetOtherAtom(a).GetSymbol() in ("O", "S") and b.GetOtherAtom(a).GetDegree() == 1
                     and b.GetOtherAtom(a).GetFormalCharge() == 0]
            if anion:
                anion[0].SetFormalCharge(-1)
    return changed


def _pyrrole_rule(m):
    """Rule 2: a copy of ``m`` that sanitizes with explicit H on one or two aromatic N, or None."""
    from rdkit import Chem

    cands = [a.GetIdx() for a in m.GetAtoms() if a.GetIsAromatic() and a.GetSymbol() == "N" and a.GetDegree() == 2]
    for k in (1, 2):
        for combo in itertools.combinations(cands, k):
            t = Chem.RWMol(m)
            for i in combo:
                t.GetAtomWithIdx(i).SetNumExplicitHs(1)
            if _sanitize(t) is None:
                return t
    return None


def _drawing_rule(m):
    """Rule 3: a copy of ``m`` whose over-valent atoms keep one double bond (the one inside a
    fully conjugated six-ring), or None when that does not sanitize."""
    from rdkit import Chem

    t = Chem.RWMol(m)
    t.UpdatePropertyCache(strict=False)
    Chem.FastFindRings(t)
    rings = [set(r) for r in t.GetRingInfo().AtomRings() if len(r) == 6]
    double = lambda a: [b for b in a.GetBonds() if b.GetBondType() == Chem.BondType.DOUBLE]
    conjugated = [r for r in rings if all(double(t.GetAtomWithIdx(i)) for i in r)]
    for a in t.GetAtoms():
        if a.GetExplicitValence() <= _neutral_max(a) or len(double(a)) < 2:
            continue
        inside = lambda b: any({b.GetBeginAtomIdx(), b.GetEndAtomIdx()} <= r for r in conjugated)
        keep = sorted(double(a), key=lambda b: not inside(b))[0]
        for b in double(a):
            if b.GetIdx() != keep.GetIdx():
                b.SetBondType(Chem.BondType.SINGLE)
    return t if _sanitize(t) is None else None


def clean_molecule(elements: list[str], pairs: list[tuple[int, int]], orders: list[float]):
    """``(mol, rules, error)``: the kekulized RDKit molecule of a TU graph (atoms ``elements``,
    undirected bonds ``pairs`` of TU ``orders``), the repair rules it needed, and RDKit's
    complaint when even they do not make it valid (``mol`` is then the unsanitized drawing)."""
    from rdkit import Chem

    m = Chem.RWMol()
    for e in elements:
        m.AddAtom(Chem.Atom(e))
    for (u, v), o in zip(pairs, orders):
        m.AddBond(int(u), int(v), _bond_type(o))
        if float(o) == 1.5:
            m.GetBondBetweenAtoms(int(u), int(v)).SetIsAromatic(True)
            m.GetAtomWithIdx(int(u)).SetIsAromatic(True)
            m.GetAtomWithIdx(int(v)).SetIsAromatic(True)
    rules = ["charge"] if _charge_rule(m) else []
    err = _sanitize(Chem.RWMol(m))
    if err and "kekulize" in err.lower():
        fixed = _pyrrole_rule(m)
        if fixed is not None:
            m, err, rules = fixed, None, rules + ["pyrrole-H"]
    if err and "valence" in err.lower():
        fixed = _drawing_rule(m)
        if fixed is not None:
            m, err, rules = fixed, None, rules + ["drawing-error"]
    if err is None:
        m = Chem.RWMol(m)
        _sanitize(m)
        Chem.Kekulize(m, clearAromaticFlags=True)
    return m, rules, err


def edited_valid(elements: list[str], charges: list[int], hydrogens: list[int], bonds: dict[tuple[int, int], float]
                 ) -> bool:
    """Does RDKit sanitize the molecule of atoms ``elements`` (formal ``charges``, explicit
    ``hydrogens``) and Kekulé ``bonds`` ``{(u, v): order}``?"""
    return _sanitize(_build(elements, charges, hydrogens, bonds)) is None


def _build(elements, charges, hydrogens, bonds):
    from rdkit import Chem

    m = Chem.RWMol()
    for e, c, h in zip(elements, charges, hydrogens):
        a = Chem.Atom(e)
        a.SetFormalCharge(int(c))
        a.SetNumExplicitHs(int(h))
        m.AddAtom(a)
    for (u, v), o in bonds.items():
        m.AddBond(int(u), int(v), _bond_type(o))
    return m


def qed(elements, charges, hydrogens, bonds) -> float | None:
    """RDKit's QED drug-likeness of the molecule (None when it does not sanitize)."""
    from rdkit.Chem import QED

    m = _build(elements, charges, hydrogens, bonds)
    if _sanitize(m) is not None:
        return None
    try:
        return float(QED.qed(m))
    except Exception:  # QED's descriptors can fail on exotic valences; the metric is then absent
        return None


@dataclass
class Molecules:
    """Valence data of a molecular dataset.

    Per graph: every node's label, its clean valence (Σ Kekulé bond orders + explicit H; the
    degree for unnamed labels), its limit (:func:`max_valence` of its element and charge), its
    formal charge and explicit H, and the order of every directed edge. Per label: the limit of
    the neutral element (what a switched atom may carry). ``check`` names the validity test:
    ``rdkit`` (named atoms and bonds) or ``observed-degree`` (unnamed labels)."""

    node_label: list[Tensor]          # per graph [n] label id
    valence: list[Tensor]             # per graph [n]
    max_valence: Tensor               # [L] per label (neutral element / highest observed degree)
    element: list[str | None]         # per label
    edge_orders: list[Tensor] | None  # per graph [E] Kekulé order of every directed edge (None: unnamed)
    node_limit: list[Tensor] = field(default_factory=list)  # per graph [n]
    charge: list[Tensor] | None = None                      # per graph [n] formal charge (rdkit)
    hydrogens: list[Tensor] | None = None                   # per graph [n] explicit H (rdkit)
    check: str = "observed-degree"
    repairs: dict[str, list[int]] = field(default_factory=dict)  # rule → graphs it was applied to
    invalid: dict[int, str] = field(default_factory=dict)        # clean graphs RDKit rejects → why
    qed_cache: dict[int, float | None] = field(default_factory=dict, repr=False)  # clean QED per graph

    @property
    def bond_orders(self) -> bool:
        return self.edge_orders is not None

    @property
    def rdkit(self) -> bool:
        return self.check == "rdkit"

    def describe(self) -> str:
        names = [f"{e or i}≤{v:g}" for i, (e, v) in enumerate(zip(self.element, self.max_valence.tolist()))]
        kind = "RDKit sanitization (Kekulé bond orders)" if self.rdkit else "observed degrees (unnamed labels)"
        return f"validity by {kind}: " + ", ".join(names)

    def atoms(self, i: int, labels: Tensor | None = None) -> tuple[list[str], list[int], list[int]]:
        """Elements, formal charges and explicit H of clean graph ``i``'s atoms; with ``labels`` (its
        current node labels) an atom whose label changed is the new element, neutral and without
        explicit H (the edit rule of :func:`edited_valid`)."""
        lab0 = self.node_label[i]
        lab = lab0 if labels is None else labels
        changed = lab != lab0
        elements = [self.element[j] for j in lab.tolist()]
        charges = torch.where(changed, 0, self.charge[i]).tolist()
        hydrogens = torch.where(changed, 0, self.hydrogens[i]).tolist()
        return elements, charges, hydrogens

    def bonds(self, i: int, edge_index: Tensor) -> dict[tuple[int, int], float]:
        """Kekulé bonds ``{(u, v): order}`` (u < v) of clean graph ``i`` with edges ``edge_index``."""
        keep = edge_index[0] < edge_index[1]
        return dict(zip(map(tuple, edge_index[:, keep].t().tolist()), self.edge_orders[i][keep].tolist()))


def _observed(graphs, label_offset: int) -> Molecules:
    labels, valences = [], []
    num_labels = graphs[0].x.size(1) - label_offset
    for g in graphs:
        labels.append(g.x[:, label_offset:].argmax(1))
        valences.append(torch.bincount(g.edge_index[0], minlength=g.num_nodes).double())
    observed = torch.zeros(num_labels, dtype=torch.float64).scatter_reduce(
        0, torch.cat(labels), torch.cat(valences), reduce="amax")
    return Molecules(labels, valences, observed, [None] * num_labels, None,
                     node_limit=[observed[lab] for lab in labels])


def molecules(graphs, edge_orders: list[Tensor] | None, node_names: dict[int, str] | None,
              label_offset: int = 0) -> Molecules:
    """:class:`Molecules` of ``graphs`` whose one-hot node labels are ``x[:, label_offset:]``;
    ``edge_orders[i]``: TU bond order of every directed edge of graph i. With named elements and
    bond orders the RDKit path of the module docstring; otherwise (unnamed labels) the
    observed-degree rule."""
    if not node_names or edge_orders is None:
        return _observed(graphs, label_offset)
    num_labels = graphs[0].x.size(1) - label_offset
    element = [node_names.get(i) for i in range(num_labels)]
    out = Molecules([], [], torch.tensor([max_valence(e) if e else 0.0 for e in element], dtype=torch.float64),
                    element, [], charge=[], hydrogens=[], check="rdkit")
    for i, g in enumerate(graphs):
        lab = g.x[:, label_offset:].argmax(1)
        ei, tu = g.edge_index, edge_orders[i]
        up = (ei[0] < ei[1]).nonzero(as_tuple=True)[0]
        pairs = ei[:, up].t().tolist()
        mol, rules, err = clean_molecule([element[j] for j in lab.tolist()], pairs, tu[up].tolist())
        for rule in rules:
            out.repairs.setdefault(rule, []).append(i)
        if err is not None:
            out.invalid[i] = err
        order_of = {}
        for b in mol.GetBonds():
            u, v = sorted((b.GetBeginAtomIdx(), b.GetEndAtomIdx()))
            order_of[(u, v)] = b.GetBondTypeAsDouble() if err is None else min(b.GetBondTypeAsDouble(), 2.0)
        orders = torch.tensor([order_of[(min(u, v), max(u, v))] for u, v in ei.t().tolist()], dtype=torch.float64)
        charge = torch.tensor([a.GetFormalCharge() for a in mol.GetAtoms()], dtype=torch.long)
        hydrogens = torch.tensor([a.GetNumExplicitHs() for a in mol.GetAtoms()], dtype=torch.long)
        valence = torch.zeros(g.num_nodes, dtype=torch.float64).index_add_(0, ei[0], orders) + hydrogens.double()
        limit = torch.tensor([max_valence(element[j], c) for j, c in zip(lab.tolist(), charge.tolist())],
                             dtype=torch.float64)
        out.node_label.append(lab)
        out.valence.append(valence)
        out.edge_orders.append(orders)
        out.charge.append(charge)
        out.hydrogens.append(hydrogens)
        out.node_limit.append(limit)
    return out
