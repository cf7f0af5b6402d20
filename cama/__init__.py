"""cama: Graph-CAM based adversarial attacks and a benchmark for GNN graph classifiers."""

__version__ = "0.1.0"
