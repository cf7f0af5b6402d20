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
import site
import sys
from importlib import metadata


def _site_dirs() -> list[str]:
    """The interpreter's own site-packages folders (not folders a library adds to ``sys.path``)."""
    dirs = list(site.getsitepackages()) if hasattr(site, "getsitepackages") else []
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    return [d for d in dirs if d in sys.path] or list(sys.path)


@functools.lru_cache(maxsize=1)
def packages() -> dict[str, str]:
    """Every distribution installed in this interpreter's site-packages, ``{name: version}``.

    Only the site folders count: a Ray worker puts Ray's vendored copies (``ray/thirdparty_files``:
    colorama, psutil) on ``sys.path``, and the same run must record the same package set in a
    worker as in the driver.
    """
    found = {}
    for dist in metadata.distributions(path=_site_dirs()):
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
