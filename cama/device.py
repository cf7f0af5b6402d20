"""Device selection: ``auto`` picks CUDA when present, else CPU."""
from __future__ import annotations

import torch

from .errors import CamaError


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise CamaError(f"Unknown device {device!r}; use 'auto', 'cpu' or 'cuda[:i]'.") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise CamaError(f"Device {device!r} requested but CUDA is not available; use --device cpu or auto.")
    return dev


def synchronize(device: torch.device) -> None:
    """Waits for the device's queued kernels (CUDA runs asynchronously), so wall clocks around
    device work measure it; a no-op on the CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
