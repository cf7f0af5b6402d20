"""Loading a user's model: ``path/to/file.py:factory`` → ``factory(num_features=…, num_classes=…)``.

Every user mistake ends in one :class:`CamaError` naming the fix: missing file, missing
callable, a factory that raises, a checkpoint that does not fit the architecture.
"""
from __future__ import annotations

import importlib.util
import inspect
import sys
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
