"""Foreign models and broken factories for the robustness-report tests."""
import torch
from torch import nn
from torch_geometric.nn import GCNConv, GraphConv, global_add_pool, global_max_pool


class MaxPoolMLP(nn.Module):
    """Non-mean pooling + MLP head; forward accepts edge_weight."""

    def __init__(self, num_features, num_classes):
        super().__init__()
        self.c1, self.c2 = GCNConv(num_features, 32), GCNConv(32, 32)
        self.head = nn.Sequential(nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, num_classes))

    def forward(self, x, edge_index, batch, edge_weight=None):
        h = torch.relu(self.c1(x, edge_index, edge_weight))
        h = torch.relu(self.c2(h, edge_index, edge_weight))
        return self.head(global_max_pool(h, batch))


class SumPoolNoWeight(nn.Module):
    """Forward without edge_weight; sum pooling and a linear head."""

    def __init__(self, num_features, num_classes):
        super().__init__()
        self.conv = GraphConv(num_features, 32)
        self.lin = nn.Linear(32, num_classes)

    def forward(self, x, edge_index, batch):
        return self.lin(global_add_pool(torch.relu(self.conv(x, edge_index)), batch))


def build_maxpool(num_features, num_classes):
    return MaxPoolMLP(num_features, num_classes)


def build_sumpool(num_features, num_classes):
    return SumPoolNoWeight(num_features, num_classes)


def build_raises(num_features, num_classes):
    raise ValueError("hidden size must be even")


class NodeLogits(nn.Module):
    def __init__(self, num_features, num_classes):
        super().__init__()
        self.conv = GraphConv(num_features, num_classes)

    def forward(self, x, edge_index, batch):
        return self.conv(x, edge_index)  # forgot to pool: [N, C]


def build_wrong_shape(num_features, num_classes):
    return NodeLogits(num_features, num_classes)


class NaNModel(SumPoolNoWeight):
    def forward(self, x, edge_index, batch):
        return super().forward(x, edge_index, batch) * float("nan")


def build_nan(num_features, num_classes):
    return NaNModel(num_features, num_classes)


class MaskedMeanSAGE(nn.Module):
    """Edge weights through PyG's explain masks on a mean aggregation: weight-0 pairs still count in
    the mean's denominator, so the relaxation is unfaithful (check (a) of cama.relaxation fails)."""

    def __init__(self, num_features, num_classes):
        super().__init__()
        from torch_geometric.nn import SAGEConv

        torch.manual_seed(0)
        self.conv = SAGEConv(num_features, 32, aggr="mean")
        self.head = nn.Linear(32, num_classes)

    def forward(self, x, edge_index, batch, edge_weight=None):
        from torch_geometric.explain.algorithm.utils import clear_masks, set_masks
        from torch_geometric.nn import global_mean_pool

        if edge_weight is not None:
            set_masks(self, edge_weight, edge_index, apply_sigmoid=False)
        try:
            return self.head(global_mean_pool(torch.relu(self.conv(x, edge_index)), batch))
        finally:
            clear_masks(self)


class RaisesLater(SumPoolNoWeight):
    """Passes the first check, then raises on forward call number $CAMA_TEST_RAISE_AFTER + 1."""

    calls = 0

    def forward(self, x, edge_index, batch):
        import os

        type(self).calls += 1
        if type(self).calls > int(os.environ.get("CAMA_TEST_RAISE_AFTER", "1")):
            raise RuntimeError("index 7 is out of bounds for dimension 0")
        return super().forward(x, edge_index, batch)


def build_raises_later(num_features, num_classes):
    RaisesLater.calls = 0
    return RaisesLater(num_features, num_classes)
