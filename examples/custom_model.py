"""A GNN unlike cama's victims, evaluated with cama's robustness report.

GraphConv layers, attention pooling and an MLP head; the forward takes no ``edge_weight``, so
gradient attacks that need edge weights are skipped with a reason, and Graph-CAM is computed
with Grad-CAM hooks on the last message-passing layer (found automatically).

Evaluate it (trains it with the standard trainer when no checkpoint is given):

    cama evaluate --model examples/custom_model.py:build_model -d MUTAG -a cama-node,cama-feature,random --name attn-graphconv
    python examples/custom_model.py          # the same from Python
"""
from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import GraphConv
from torch_geometric.nn.aggr import AttentionalAggregation


class AttnGraphConv(nn.Module):
    def __init__(self, num_features: int, num_classes: int, hidden: int = 64):
        super().__init__()
        self.conv1 = GraphConv(num_features, hidden)
        self.conv2 = GraphConv(hidden, hidden)
        self.pool = AttentionalAggregation(gate_nn=nn.Linear(hidden, 1))
        self.mlp = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(0.3), nn.Linear(hidden, num_classes))

    def forward(self, x, edge_index, batch):
        h = torch.relu(self.conv1(x, edge_index))
        h = torch.relu(self.conv2(h, edge_index))
        return self.mlp(self.pool(h, batch))


def build_model(num_features: int, num_classes: int) -> nn.Module:
    return AttnGraphConv(num_features, num_classes)


if __name__ == "__main__":
    from cama import evaluate_robustness
    from cama.data import load_dataset
    from cama.splits import stratified_split
    from victims.train import TrainConfig, train_model

    ds = load_dataset("MUTAG")
    model = build_model(ds.num_features, ds.num_classes)
    train_model(model, ds, stratified_split(ds.y, seed=0), TrainConfig(), seed=0, device=torch.device("cpu"))
    report = evaluate_robustness(model, ds, attacks=["cama-node", "cama-feature", "random"], name="attn-graphconv")
    print(report.to_markdown())
