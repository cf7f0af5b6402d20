"""cama: Graph-CAM based adversarial attacks and a benchmark for GNN graph classifiers."""

__version__ = "0.1.0"


def evaluate_robustness(*args, **kwargs):
    """Robustness report for a user's model; see :func:`cama.robustness.evaluate_robustness`."""
    from .robustness import evaluate_robustness as _impl
    return _impl(*args, **kwargs)
