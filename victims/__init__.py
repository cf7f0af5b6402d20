"""Victim GNN graph classifiers, their training and checkpoints.

``ARCHITECTURES`` is the registry of victim names accepted on the command line.
"""
from .models import GraphClassifier, VictimConfig

#: name → short description; every name builds through :class:`GraphClassifier`.
ARCHITECTURES = {
    "gcn": "GCNConv stack (Kipf & Welling), native edge weights",
    "gin": "GINConv stack with 2-layer MLPs (Xu et al.)",
    "graphsage": "SAGEConv stack, mean aggregation (Hamilton et al.)",
    "gat": "GATConv stack, 4 heads concatenated (Velickovic et al.)",
}


def registry_rank(arch: str) -> int:
    """Position of ``arch`` in :data:`ARCHITECTURES`, the order tables list victims in; any other
    name (a defended victim, a user model) ranks after them."""
    return list(ARCHITECTURES).index(arch) if arch in ARCHITECTURES else len(ARCHITECTURES)


__all__ = ["ARCHITECTURES", "GraphClassifier", "VictimConfig", "registry_rank"]
