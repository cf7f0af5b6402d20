"""The software and hardware stack a record was computed on (the reproducibility contract).

Committed cells are exact on the pinned stack (``constraints.txt``: every package version a
fresh install resolves, for the Python the records were made with) *and* the same CPU kernel
family: PyTorch dispatches its CPU kernels by instruction set (``ATEN_CPU_CAPABILITY``:
default, avx2, avx512), and a different kernel can change a float in the last place, which
can flip a near-tie in an attack's ranking. Every record carries the full resolved package set
(:func:`packages`) and :func:`hardware`, so a difference can be traced to its cause.
"""
from __future__ import annotations

import functools
import platform
from importlib import metadata


@functools.lru_cache(maxsize=1)
def packages() -> dict[str, str]:
    """Every installed distribution of this interpreter, ``{name: version}`` sorted by name."""
    found = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found[name.lower().replace("_", "-")] = dist.version
    return dict(sorted(found.items()))


@functools.lru_cache(maxsize=1)
def _cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else :func:`platform.processor`)."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware() -> dict[str, str | int]:
    """CPU model, the CPU kernel family PyTorch dispatches to, and its intra-op threads now."""
    import torch

    return {"cpu": _cpu_model(), "machine": platform.machine(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(), "torch_threads": torch.get_num_threads()}
