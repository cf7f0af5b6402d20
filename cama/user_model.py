"""Loading a user's model: ``path/to/file.py:factory`` → ``factory(num_features=…, num_classes=…)``.

Every user mistake ends in one :class:`CamaError` naming the fix: missing file, missing
callable, a factory that raises, a checkpoint that does not fit the architecture.
"""
from __future__ import annotations

import contextlib
import importlib.util
import inspect
import sys
import traceback
from pathlib import Path

import torch

from .errors import CamaError
from .records import load_torch_file


def import_user_file(path: Path, module_name: str):
    """Import a user's Python file as module ``module_name``; a failing import is one CamaError."""
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        raise CamaError(f"Importing {path} failed: {type(exc).__name__}: {exc}") from exc
    return module


def load_factory(spec: str):
    """Import ``file.py:name`` and return the callable ``name``."""
    if ":" not in spec:
        raise CamaError(f"--model expects path/to/file.py:factory, got {spec!r}.")
    file, _, attr = spec.rpartition(":")
    path = Path(file)
    if not path.is_file():
        raise CamaError(f"Model file {path} not found; pass --model path/to/file.py:factory.")
    module = import_user_file(path, f"cama_user_{path.stem}")
    factory = getattr(module, attr, None)
    if not callable(factory):
        names = [n for n, v in vars(module).items() if callable(v) and not n.startswith("_")]
        raise CamaError(f"{path} has no callable named '{attr}'; callables there: {', '.join(names) or 'none'}.")
    return factory


def build_user_model(factory, num_features: int, num_classes: int) -> torch.nn.Module:
    """Call the factory with the dataset's facts (by keyword when it names them, else positionally)."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        params = {}
    try:
        if "num_features" in params or "num_classes" in params:
            model = factory(num_features=num_features, num_classes=num_classes)
        else:
            model = factory(num_features, num_classes)
    except Exception as exc:
        raise CamaError(f"The model factory raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(model, torch.nn.Module):
        raise CamaError(f"The model factory returned {type(model).__name__}, not a torch.nn.Module.")
    return model


def load_user_weights(model: torch.nn.Module, checkpoint: str | Path) -> None:
    path = Path(checkpoint)
    state = load_torch_file(path, "save a state dict with torch.save(model.state_dict(), path).")
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise CamaError(f"Checkpoint {path} does not fit this model (state-dict mismatch: {str(exc)[:300]}); "
                        "it belongs to another architecture or another dataset's sizes.") from exc


class ModelFailure(CamaError):
    """The user's model raised inside its own forward (training, prediction or an attack)."""


@contextlib.contextmanager
def model_phase(name: str, phase: str):
    """Inside: any exception that is not a :class:`CamaError` (or Ctrl-C) becomes one
    :class:`ModelFailure` naming the model, the phase and the exception with the line that raised it."""
    try:
        yield
    except (CamaError, KeyboardInterrupt):
        raise
    except Exception as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
        raise ModelFailure(f"Model {name} failed during {phase}: {type(exc).__name__}: {str(exc)[:300]}{where}. Its "
                           "forward(x, edge_index, batch[, edge_weight]) must accept every batch of the dataset's "
                           "graphs (any size, perturbed ones too); fix the model and re-run.") from exc


def majority_rate(labels: torch.Tensor) -> float:
    """Share of the most frequent class among ``labels`` (what a constant classifier scores)."""
    labels = labels.view(-1)
    return float(torch.bincount(labels).max()) / max(len(labels), 1)


def check_not_trivial(name: str, clean_acc: float, labels: torch.Tensor, allow_weak: bool) -> None:
    """Refuse a model no better than predicting the majority class: every ASR on it is meaningless."""
    rate = majority_rate(labels)
    if clean_acc <= rate + 1e-6 and not allow_weak:  # clean_acc may be a float32 mean
        raise CamaError(f"Model {name} has clean accuracy {clean_acc:.3f}, no better than always predicting the "
                        f"majority class ({rate:.3f} of the test graphs): is it trained? Train it first (Python: "
                        "train=True; CLI: cama evaluate without --checkpoint trains it), or pass allow_weak=True / "
                        "--allow-weak-model to attack it anyway.")
