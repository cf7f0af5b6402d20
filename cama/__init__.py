"""cama: Graph-CAM based adversarial attacks and a benchmark for GNN graph classifiers."""

from ._version import __version__  # noqa: F401


def evaluate_robustness(*args, **kwargs):
    """Robustness report for a user's model; see :func:`cama.robustness.evaluate_robustness`."""
    from .robustness import evaluate_robustness as _impl
    return _impl(*args, **kwargs)
