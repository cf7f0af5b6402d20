"""Published clean test accuracies (%) used beside our victims table.

Transcribed from: Errica et al., "A Fair Comparison of Graph Neural Networks for Graph
Classification", ICLR 2020, Table 3 (10-fold CV, model selection inside each fold; social
datasets with degree features); Xu et al., "How Powerful are Graph Neural Networks?",
ICLR 2019, Table 1 (GIN-0, and the mean-aggregation GCN/GraphSAGE variants). Different
protocols from ours (single 80/10/10 splits over seeds), so read them as context, not targets.
"""
from __future__ import annotations

ERRICA_2020 = {
    ("DD", "gin"): 75.3, ("ENZYMES", "gin"): 59.6, ("NCI1", "gin"): 80.0, ("PROTEINS", "gin"): 73.3,
    ("IMDB-BINARY", "gin"): 71.2,
    ("DD", "graphsage"): 72.9, ("ENZYMES", "graphsage"): 58.2, ("NCI1", "graphsage"): 76.0,
    ("PROTEINS", "graphsage"): 73.0, ("IMDB-BINARY", "graphsage"): 68.8,
    ("IMDB-MULTI", "gin"): 48.5, ("REDDIT-BINARY", "gin"): 89.9,
    ("IMDB-MULTI", "graphsage"): 47.6, ("REDDIT-BINARY", "graphsage"): 84.3,
}
XU_2019 = {
    ("MUTAG", "gin"): 89.4, ("PROTEINS", "gin"): 76.2, ("NCI1", "gin"): 82.7, ("IMDB-BINARY", "gin"): 75.1,
    ("MUTAG", "gcn"): 85.6, ("PROTEINS", "gcn"): 76.0, ("NCI1", "gcn"): 80.2, ("IMDB-BINARY", "gcn"): 74.0,
    ("MUTAG", "graphsage"): 85.1, ("PROTEINS", "graphsage"): 75.9, ("NCI1", "graphsage"): 77.7,
    ("IMDB-BINARY", "graphsage"): 72.3,
}


def literature(dataset: str, victim: str) -> dict:
    return {"errica2020": ERRICA_2020.get((dataset, victim)), "xu2019": XU_2019.get((dataset, victim))}
