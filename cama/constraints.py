"""Unnoticeability: domain constraints every attack obeys, and tests of adversarial graphs.

Three constraints (``--constraints NAME[,NAME]``):

* ``valence`` (molecular datasets, :mod:`cama.chemistry`): the edited molecule stays valid to
  RDKit. On the Kekulé form of a clean molecule that is a node-level rule: every atom keeps
  ``Σ bond orders + explicit H ≤ max_valence(element, charge)`` (RDKit's limit). An added bond
  is single (order 1); a removed bond is counted as freeing one unit (exact for single bonds,
  conservative for double ones), so the rule needs only node-level data and holds for every
  prefix of a ranked list. A feature edit that switches an atom's element (the atom becomes
  neutral) is allowed only if the atom's clean valence fits the new element, and the atom's
  flips then obey the smaller of both limits. Unnamed labels (NCI1) use the observed-degree limits instead.
* ``degree``: Nettack's power-law likelihood-ratio test (Zügner et al., KDD 2018) between the
  clean and the perturbed graph's degree sequences (degrees ≥ ``D_MIN`` = 2): with
  ``α(n, S) = 1 + n / (S − n log(D_MIN − ½))`` and
  ``ℓ(n, S) = n log α + n α log D_MIN − (α + 1) S`` (``n`` degrees, ``S = Σ log d``),
  ``Λ = −2 ℓ(D_clean ∪ D_adv) + 2 (ℓ(D_clean) + ℓ(D_adv))`` must stay below
  ``LR_THRESHOLD`` = 0.004 (Nettack's threshold). **Small graphs**: a graph with fewer than
  ``MIN_TESTED`` = 10 nodes of degree ≥ 2 is too small for a power-law fit and is exempt (it
  passes; records report the share of graphs tested).
* ``connected``: no flip increases the number of connected components (so no flip disconnects
  a connected graph or isolates a node; additions are always allowed).

**One place.** :meth:`ConstraintState.enforce` filters any edit list greedily in rank order
(a flip is kept iff it is allowed after the flips kept before it; feature edits first), so
every attack's output obeys the active constraints and a budget's prefix stays a prefix.
Attacks also use :meth:`ConstraintState.allowed` to drop disallowed candidates before ranking
(CAMA and the search attacks, GRBCD's greedy step, PRBCD's blocks), so they spend their budget
on flips that survive.

**Noticeability** (:meth:`ConstraintState.measure`, every record with or without constraints):
per adversarial graph whether it is a valid molecule (``valence_ok``: RDKit sanitizes it, where
atoms and bonds are named; the observed-degree rule on NCI1), its change in RDKit's QED
drug-likeness (``qed_change``, RDKit-valid molecules), whether it passes the degree test and
keeps its number of components, and its Λ.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import Tensor
from torch_geometric.utils import degree as node_degree

from .edits import EditList, apply_flips, is_edge, pair_keys, rank_within_graph, undirected_edges
from .errors import CamaError

CONSTRAINTS = ("valence", "degree", "connected")
D_MIN = 2
LR_THRESHOLD = 0.004
MIN_TESTED = 10
_TOL = 1e-9


def parse_constraints(spec) -> tuple[str, ...]:
    """``"valence,connected"`` / a list → sorted tuple of known names; unknown names are an error."""
    if not spec:
        return ()
    names = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    bad = [n for n in names if n not in CONSTRAINTS]
    if bad:
        raise CamaError(f"Unknown constraint(s) {', '.join(bad)}; choose from {', '.join(CONSTRAINTS)}.")
    return tuple(sorted(set(names), key=CONSTRAINTS.index))


def check_applicable(names: tuple[str, ...], dataset) -> None:
    if "valence" in names and dataset.extra.get("molecules") is None:
        raise CamaError(f"The valence constraint needs a molecular dataset with atom labels (MUTAG, PTC_MR, "
                        f"Mutagenicity, NCI1, ...); {dataset.name} has none. Use degree,connected instead.")


def unnoticeable_tests(dataset) -> tuple[str, ...]:
    """The tests an adversarial graph must pass to count as unnoticeable on this dataset:
    valence and connectivity on molecules, the degree test and connectivity otherwise."""
    return ("valence", "connected") if dataset.extra.get("molecules") is not None else ("degree", "connected")


# --- degree statistics ----------------------------------------------------------------------

def degree_stats(deg: Tensor, graph: Tensor, num_graphs: int) -> tuple[Tensor, Tensor]:
    """Per graph: the number ``n`` of degrees ≥ D_MIN and ``S = Σ log d`` over them (float64)."""
    big = deg >= D_MIN
    n = torch.zeros(num_graphs, dtype=torch.float64, device=deg.device).index_add_(0, graph, big.double())
    s = torch.zeros(num_graphs, dtype=torch.float64, device=deg.device).index_add_(
        0, graph, torch.where(big, deg.double().clamp(min=1).log(), torch.zeros_like(deg, dtype=torch.float64)))
    return n, s


def _loglik(n: Tensor, s: Tensor) -> Tensor:
    denom = (s - n * math.log(D_MIN - 0.5)).clamp(min=1e-12)
    alpha = 1 + n / denom
    ll = n * alpha.log() + n * alpha * math.log(D_MIN) - (alpha + 1) * s
    return torch.where(n > 0, ll, torch.zeros_like(ll))


def likelihood_ratio(n0: Tensor, s0: Tensor, n1: Tensor, s1: Tensor) -> Tensor:
    """Nettack's Λ between two degree samples given by their (n, S)."""
    return -2 * _loglik(n0 + n1, s0 + s1) + 2 * (_loglik(n0, s0) + _loglik(n1, s1))


def _flip_stats(n: Tensor, s: Tensor, graph: Tensor, du: Tensor, dv: Tensor, delta: Tensor) -> tuple[Tensor, Tensor]:
    """(n, S) of each pair's graph after changing the degrees of both endpoints by ``delta``."""
    n, s = n[graph].clone(), s[graph].clone()
    for d in (du, dv):
        old, new = d, d + delta
        n = n - (old >= D_MIN).double() + (new >= D_MIN).double()
        s = s - torch.where(old >= D_MIN, old.double().clamp(min=1).log(), 0.0) \
              + torch.where(new >= D_MIN, new.double().clamp(min=1).log(), 0.0)
    return n, s


# --- connectivity ---------------------------------------------------------------------------

def components(edge_index: Tensor, graph: Tensor, num_graphs: int) -> Tensor:
    """Connected components per graph (isolated nodes count), by scipy on the whole batch."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = graph.numel()
    ei = edge_index.cpu().numpy()
    adj = coo_matrix((np.ones(ei.shape[1]), (ei[0], ei[1])), shape=(n, n))
    _, labels = connected_components(adj, directed=False)
    labels = torch.as_tensor(labels, device=graph.device)
    first = torch.full((int(labels.max()) + 1 if n else 0,), n, dtype=torch.long, device=graph.device)
    first = first.scatter_reduce(0, labels, torch.arange(n, device=graph.device), reduce="amin")
    return torch.bincount(graph[first], minlength=num_graphs)


def bridges(edge_index: Tensor, num_nodes: int) -> Tensor:
    """Sorted pair keys of the bridges of the undirected graph (networkx)."""
    import networkx as nx

    e = undirected_edges(edge_index).cpu()
    g = nx.Graph()
    g.add_edges_from(e.tolist())
    found = [(min(a, b), max(a, b)) for a, b in nx.bridges(g)]
    if not found:
        return torch.zeros(0, dtype=torch.long, device=edge_index.device)
    t = torch.tensor(found, dtype=torch.long, device=edge_index.device)
    return torch.sort(pair_keys(t[:, 0], t[:, 1], num_nodes))[0]


def _member(keys: Tensor, sorted_keys: Tensor) -> Tensor:
    if sorted_keys.numel() == 0 or keys.numel() == 0:
        return torch.zeros_like(keys, dtype=torch.bool)
    pos = torch.searchsorted(sorted_keys, keys).clamp(max=sorted_keys.numel() - 1)
    return sorted_keys[pos] == keys


# --- the state of one batch -----------------------------------------------------------------

@dataclass
class ConstraintState:
    """Constraint data of one batch of clean graphs (node ids as in the batch).

    ``names``: the active constraints (empty: measure only). ``label0``/``valence0``: clean atom
    label and exact valence per node (molecules); ``max_valence`` per label; ``bond_keys`` /
    ``bond_orders``: the clean bonds (sorted pair keys) and their orders, for exact measurement."""

    names: tuple[str, ...]
    ptr: Tensor
    graph: Tensor
    deg0: Tensor
    n0: Tensor
    s0: Tensor
    comps0: Tensor
    label_offset: int = 0
    label0: Tensor | None = None
    valence0: Tensor | None = None
    max_valence: Tensor | None = None
    bond_keys: Tensor | None = None
    bond_orders: Tensor | None = None
    limit0: Tensor | None = None
    molecules: object | None = None      # cama.chemistry.Molecules (RDKit validity in measure)
    graph_ids: list[int] | None = None   # dataset index of each graph of the batch
    #: (edge_index, its bridges) of the last graph :meth:`_bridges` was asked about
    _bridge_cache: tuple | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def num_graphs(self) -> int:
        return self.ptr.numel() - 1

    @property
    def molecular(self) -> bool:
        return self.label0 is not None

    @classmethod
    def build(cls, batch, names: tuple[str, ...] = (), dataset=None, graph_ids: list[int] | None = None
              ) -> ConstraintState:
        """The state of ``batch`` (whose graph i is ``dataset[graph_ids[i]]`` when given)."""
        dev = batch.x.device
        N, G = batch.num_nodes, batch.num_graphs
        deg0 = node_degree(batch.edge_index[0], N, dtype=torch.long)
        n0, s0 = degree_stats(deg0, batch.batch, G)
        state = cls(names, batch.ptr.to(dev), batch.batch, deg0, n0, s0,
                    components(batch.edge_index, batch.batch, G))
        mol = dataset.extra.get("molecules") if dataset is not None else None
        if mol is not None and graph_ids is not None:
            state.label_offset = dataset.featurizer.continuous[1] if dataset.featurizer.continuous else 0
            state.label0 = torch.cat([mol.node_label[i] for i in graph_ids]).to(dev)
            state.valence0 = torch.cat([mol.valence[i] for i in graph_ids]).to(dev)
            state.max_valence = mol.max_valence.to(dev)
            state.limit0 = torch.cat([mol.node_limit[i] for i in graph_ids]).to(dev)
            state.molecules, state.graph_ids = mol, list(graph_ids)
            if mol.bond_orders:
                state.bond_keys, state.bond_orders = cls._bonds(batch, mol, graph_ids)
        elif "valence" in names:
            raise CamaError("The valence constraint needs a molecular dataset (atom labels).")
        return state

    @staticmethod
    def _bonds(batch, mol, graph_ids) -> tuple[Tensor, Tensor]:
        """Sorted keys of the clean undirected bonds and their orders (from the valences' source)."""
        orders = torch.cat([mol.edge_orders[i] for i in graph_ids]).to(batch.x.device)
        ei = batch.edge_index
        keep = ei[0] < ei[1]
        keys = pair_keys(ei[0][keep], ei[1][keep], batch.num_nodes)
        order = torch.argsort(keys)
        return keys[order], orders[keep][order]

    def select(self, ids: Tensor) -> ConstraintState:
        """The state of the sub-batch of graphs ``ids`` (in that order), as :func:`select_graphs` cuts it."""
        ids = ids.to(self.ptr.device)
        sizes = (self.ptr[1:] - self.ptr[:-1])[ids]
        starts = self.ptr[ids]
        node = torch.repeat_interleave(starts, sizes) + torch.arange(int(sizes.sum()), device=ids.device) - \
            torch.repeat_interleave(torch.cumsum(sizes, 0) - sizes, sizes)
        ptr = torch.cat([sizes.new_zeros(1), torch.cumsum(sizes, 0)])
        pick = (lambda t: None if t is None else t[node])
        return replace(self, ptr=ptr, graph=torch.repeat_interleave(torch.arange(ids.numel(), device=ids.device), sizes),
                       deg0=self.deg0[node], n0=self.n0[ids], s0=self.s0[ids], comps0=self.comps0[ids],
                       label0=pick(self.label0), valence0=pick(self.valence0), limit0=pick(self.limit0),
                       bond_keys=None, bond_orders=None, molecules=None,
                       graph_ids=None if self.graph_ids is None else [self.graph_ids[i] for i in ids.tolist()])

    # --- labels and limits --------------------------------------------------------------
    def _labels(self, x: Tensor) -> Tensor:
        L = self.max_valence.numel()
        return x[:, self.label_offset:self.label_offset + L].argmax(1)

    def _limit(self, x: Tensor | None) -> Tensor:
        """Per node: the valence limit under the constraint — the clean atom's (element and charge),
        and where ``x`` switched the atom the smaller of that and the neutral new element's."""
        if x is None:
            return self.limit0
        return torch.minimum(self.limit0, self.max_valence[self._labels(x)])

    def allowed_labels(self) -> Tensor:
        """[N, L] bool: may node i become label l (its clean valence fits l's maximum)?"""
        return self.valence0.unsqueeze(1) <= self.max_valence.unsqueeze(0) + _TOL

    def _tested(self) -> Tensor:
        return self.n0 >= MIN_TESTED

    # --- single flips on the current graph ----------------------------------------------
    def allowed(self, edge_index: Tensor, pairs: Tensor, x: Tensor | None = None) -> Tensor:
        """Bool per candidate pair: may it be flipped alone on the current graph ``edge_index``
        (same nodes as the clean batch; ``x``: current features, for edited atoms)?"""
        ok = torch.ones(pairs.size(0), dtype=torch.bool, device=pairs.device)
        if not self.names or pairs.numel() == 0:
            return ok
        N = self.graph.numel()
        u, v = pairs[:, 0], pairs[:, 1]
        keys = pair_keys(u, v, N)
        present = is_edge(pairs, edge_index, N)
        deg = node_degree(edge_index[0], N, dtype=torch.long)
        if "valence" in self.names:
            free = self._limit(x) - self.valence0 + (self.deg0 - deg).double()
            ok &= present | ((free[u] >= 1 - _TOL) & (free[v] >= 1 - _TOL))
        if "degree" in self.names:
            g = self.graph[u]
            n1, s1 = degree_stats(deg, self.graph, self.num_graphs)
            delta = torch.where(present, -1, 1)
            nn_, ss = _flip_stats(n1, s1, g, deg[u], deg[v], delta)
            lr = likelihood_ratio(self.n0[g], self.s0[g], nn_, ss)
            ok &= (lr < LR_THRESHOLD) | ~self._tested()[g]
        if "connected" in self.names and present.any():
            ok &= ~(present & _member(keys, self._bridges(edge_index)))
        return ok

    def _bridges(self, edge_index: Tensor) -> Tensor:
        """:func:`bridges` of ``edge_index``, cached for the last graph asked (PRBCD asks about
        the same clean graph every epoch)."""
        if self._bridge_cache is None or self._bridge_cache[0] is not edge_index:
            self._bridge_cache = (edge_index, bridges(edge_index, self.graph.numel()))
        return self._bridge_cache[1]

    # --- greedy filter of an edit list ----------------------------------------------------
    def enforce(self, batch, edits: EditList) -> EditList:
        """The edits of ``edits`` (on the clean ``batch``) that the constraints allow, kept
        greedily in rank order and re-ranked (module docstring)."""
        if not self.names:
            return edits
        dev = batch.x.device
        N, G = batch.num_nodes, batch.num_graphs
        fn, fv, fr = edits.feat_node, edits.feat_value, edits.feat_rank
        x_eff = None
        if "valence" in self.names and fn.numel():
            new_lab = self._labels(fv.to(batch.x.dtype))
            ok = self.valence0[fn] <= self.max_valence[new_lab] + _TOL
            fn, fv, fr = fn[ok], fv[ok], fr[ok]
            fr = rank_within_graph(batch.batch[fn], -fr.double(), G)
            x_eff = batch.x.clone()
            x_eff[fn] = fv.to(x_eff.dtype)
        f, r = edits.flips, edits.flip_rank
        if f.numel() == 0:
            return EditList(f, r, fn, fv, fr)
        graph = batch.batch[f[:, 0]]
        r = rank_within_graph(graph, -r.double(), G)  # unique ranks: one flip per graph and step
        present = is_edge(f, batch.edge_index, N)
        deg = self.deg0.clone()
        limit = self._limit(x_eff) if "valence" in self.names else None
        tested = self._tested()
        edge_index = batch.edge_index
        keep = torch.zeros(f.size(0), dtype=torch.bool, device=dev)
        for step in range(int(r.max()) + 1):
            idx = (r == step).nonzero(as_tuple=True)[0]
            if idx.numel() == 0:
                continue
            u, v, pres, g = f[idx, 0], f[idx, 1], present[idx], graph[idx]
            ok = torch.ones(idx.numel(), dtype=torch.bool, device=dev)
            if limit is not None:
                free = limit - self.valence0 + (self.deg0 - deg).double()
                ok &= pres | ((free[u] >= 1 - _TOL) & (free[v] >= 1 - _TOL))
            if "degree" in self.names:
                n1, s1 = degree_stats(deg, self.graph, G)
                nn_, ss = _flip_stats(n1, s1, g, deg[u], deg[v], torch.where(pres, -1, 1))
                ok &= (likelihood_ratio(self.n0[g], self.s0[g], nn_, ss) < LR_THRESHOLD) | ~tested[g]
            if "connected" in self.names and bool((pres & ok).any()):
                rem = idx[pres & ok]
                before = components(edge_index, self.graph, G)
                after = components(apply_flips(edge_index, f[rem], N), self.graph, G)
                ok &= ~(pres & (after > before)[g])
            acc = idx[ok]
            keep[acc] = True
            delta = torch.where(present[acc], -1, 1)
            deg.index_add_(0, f[acc, 0], delta).index_add_(0, f[acc, 1], delta)
            if "connected" in self.names:
                edge_index = apply_flips(edge_index, f[acc], N)
        f, graph, r = f[keep], graph[keep], r[keep]
        return EditList(f, rank_within_graph(graph, -r.double(), G), fn, fv, fr)

    # --- measurement ----------------------------------------------------------------------
    def measure(self, clean, adv, flips: Tensor) -> dict[str, Tensor]:
        """Per graph of the adversarial batch ``adv`` (= ``clean`` with ``flips``): ``valence_ok``
        (molecules; exact bond orders when known), ``degree_lr`` (Λ), ``degree_ok``,
        ``degree_tested``, ``connected_ok``."""
        N, G = clean.num_nodes, clean.num_graphs
        deg = node_degree(adv.edge_index[0], N, dtype=torch.long)
        n1, s1 = degree_stats(deg, self.graph, G)
        lr = likelihood_ratio(self.n0, self.s0, n1, s1)
        tested = self._tested()
        out = {"degree_lr": torch.where(tested, lr, torch.zeros_like(lr)), "degree_tested": tested,
               "degree_ok": (lr < LR_THRESHOLD) | ~tested,
               "connected_ok": components(adv.edge_index, self.graph, G) <= self.comps0}
        if self.molecules is not None and self.molecules.rdkit:
            out |= self._rdkit(clean, adv, flips)
        elif self.molecular:
            val = self.valence0.clone()
            if flips.numel():
                keys = pair_keys(flips[:, 0], flips[:, 1], N)
                present = is_edge(flips, clean.edge_index, N)
                if self.bond_keys is not None and self.bond_keys.numel():
                    pos = torch.searchsorted(self.bond_keys, keys).clamp(max=self.bond_keys.numel() - 1)
                    order = torch.where(present, self.bond_orders[pos].double(), torch.ones_like(keys, dtype=torch.float64))
                else:
                    order = torch.ones_like(keys, dtype=torch.float64)
                change = torch.where(present, -order, order)
                val.index_add_(0, flips[:, 0], change).index_add_(0, flips[:, 1], change)
            bad = val > self.max_valence[self._labels(adv.x)] + _TOL  # observed degree of the current label
            out["valence_ok"] = torch.bincount(self.graph[bad], minlength=G) == 0
        return out

    def _rdkit(self, clean, adv, flips: Tensor) -> dict[str, Tensor]:
        """``valence_ok`` (RDKit sanitizes the edited molecule) and ``qed_change`` (QED of the
        edited minus the clean molecule; 0 where either is not valid) per graph."""
        from .chemistry import edited_valid, qed

        mol, G, dev = self.molecules, clean.num_graphs, clean.x.device
        labels = self._labels(adv.x).cpu()
        ptr = self.ptr.cpu()
        by_graph = [[] for _ in range(G)]
        for u, v in flips.cpu().tolist():
            by_graph[int(self.graph[u])].append((u, v))
        valid, change = torch.zeros(G, dtype=torch.bool), torch.zeros(G, dtype=torch.float64)
        ei = clean.edge_index.cpu()
        for g in range(G):
            lo, hi = int(ptr[g]), int(ptr[g + 1])
            i = self.graph_ids[g]
            own = ei[:, (ei[0] >= lo) & (ei[0] < hi)] - lo
            bonds = mol.bonds(i, own)
            for u, v in by_graph[g]:
                key = (u - lo, v - lo)
                if bonds.pop(key, None) is None:
                    bonds[key] = 1.0
            if not by_graph[g] and bool((labels[lo:hi] == mol.node_label[i]).all()):
                valid[g] = i not in mol.invalid  # unedited: the clean molecule, QED unchanged
                continue
            atoms = mol.atoms(i, labels[lo:hi])
            valid[g] = edited_valid(*atoms, bonds)
            if valid[g] and i not in mol.invalid:
                before, after = self._clean_qed(i, mol.atoms(i), mol.bonds(i, own)), qed(*atoms, bonds)
                change[g] = 0.0 if before is None or after is None else after - before
        return {"valence_ok": valid.to(dev), "qed_change": change.to(dev)}

    def _clean_qed(self, i: int, atoms, bonds) -> float | None:
        from .chemistry import qed

        cache = self.molecules.qed_cache
        if i not in cache:
            cache[i] = qed(*atoms, bonds)
        return cache[i]
