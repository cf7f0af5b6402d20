"""The one enforcer of the budget contract: every attack's edits are checked before they are scored.

For one budget's edits of a clean ``Batch`` (after :meth:`~cama.edits.EditList.prefix`),
:func:`check_edits` verifies, for built-in and user attacks alike:

* flips are ``[F, 2]`` integer node pairs with ``u < v``, both ends in the same graph, each
  unordered pair at most once, and at most ``struct_limit[g]`` per graph g (none without a
  structure budget);
* feature edits name each node at most once, at most ``feat_limit[g]`` per graph (none without
  a feature budget), replacement rows have the feature width, stay one-hot in the one-hot block
  (every entry 0 or 1, one 1) and within ``epsilon`` (L∞) of the clean row in the continuous
  block, and leave every other column unchanged; structure-derived features are never edited.

A violation raises :class:`~cama.errors.CamaError` naming the attack and what it did wrong.
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.data import Batch

from .edits import EditList, pair_keys
from .errors import CamaError
from .featurize import Featurizer

#: slack on the ε-ball (float32 arithmetic on standardised attributes)
EPSILON_SLACK = 1e-5


def check_edits(attack: str, batch: Batch, edits: EditList, struct_limit: Tensor | None,
                feat_limit: Tensor | None, featurizer: Featurizer, epsilon: float | None) -> None:
    """Raise a clear error if ``edits`` break the contract (module docstring)."""
    def fail(what: str) -> None:
        raise CamaError(f"Attack '{attack}' returned invalid edits: {what}.")

    G, n = batch.num_graphs, batch.num_nodes
    graph_of = batch.batch
    f = edits.flips
    if not isinstance(f, Tensor) or f.dim() != 2 or f.size(1) != 2 or f.dtype not in (torch.long, torch.int64):
        fail(f"flips must be a [F, 2] long tensor, got {getattr(f, 'shape', type(f).__name__)}")
    if f.numel():
        if int(f.min()) < 0 or int(f.max()) >= n:
            fail("a flip names a node outside the batch")
        if bool((f[:, 0] >= f[:, 1]).any()):
            fail("a flip is not an ordered pair u < v (self-loops and reversed pairs are not allowed)")
        if bool((graph_of[f[:, 0]] != graph_of[f[:, 1]]).any()):
            fail("a flip joins two different graphs")
        keys = pair_keys(f[:, 0], f[:, 1], n)
        if torch.unique(keys).numel() != keys.numel():
            fail("a node pair is flipped twice")
        if struct_limit is None:
            fail("it flips edges without a structure budget")
        per_graph = torch.bincount(graph_of[f[:, 0]], minlength=G)
        if bool((per_graph > struct_limit.to(per_graph.device)).any()):
            g = int((per_graph > struct_limit.to(per_graph.device)).nonzero()[0])
            fail(f"graph {g} gets {int(per_graph[g])} flips, over its budget of {int(struct_limit[g])}")
    node = edits.feat_node
    if node.numel() == 0:
        return
    if feat_limit is None:
        fail("it edits node features without a feature budget")
    if not featurizer.editable:
        fail(f"it edits node features that are derived from structure ({featurizer.kind})")
    if int(node.min()) < 0 or int(node.max()) >= n:
        fail("a feature edit names a node outside the batch")
    if torch.unique(node).numel() != node.numel():
        fail("a node's features are edited twice")
    per_graph = torch.bincount(graph_of[node], minlength=G)
    if bool((per_graph > feat_limit.to(per_graph.device)).any()):
        g = int((per_graph > feat_limit.to(per_graph.device)).nonzero()[0])
        fail(f"graph {g} gets {int(per_graph[g])} feature-edited nodes, over its budget of {int(feat_limit[g])}")
    new, old = edits.feat_value, batch.x[node]
    if new.shape != old.shape:
        fail(f"replacement feature rows have shape {tuple(new.shape)}, expected {tuple(old.shape)}")
    free = torch.ones(new.size(1), dtype=torch.bool, device=new.device)
    if featurizer.onehot is not None:
        a, b = featurizer.onehot
        block = new[:, a:b]
        if bool(((block != 0) & (block != 1)).any()) or bool((block.sum(1) != 1).any()):
            fail("a one-hot node label is no longer one-hot")
        free[a:b] = False
    if featurizer.continuous is not None:
        a, b = featurizer.continuous
        shift = (new[:, a:b] - old[:, a:b]).abs()
        bound = (epsilon or 0.0) + EPSILON_SLACK
        if shift.numel() and float(shift.max()) > bound:
            fail(f"a continuous attribute moves by {float(shift.max()):.4g}, outside the ε-ball of radius "
                 f"{epsilon or 0.0:g}")
        free[a:b] = False
    if bool((new[:, free] != old[:, free]).any()):
        fail("a feature column outside the one-hot and continuous blocks changed")
