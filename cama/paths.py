"""Where cama keeps data and caches.

Data root resolution: explicit argument > environment variable ``CAMA_DATA`` >
``<cache>/data``. Cache root: ``CAMA_CACHE`` > ``$XDG_CACHE_HOME/cama`` > ``~/.cache/cama``.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path


def cache_root() -> Path:
    env = os.environ.get("CAMA_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "cama"


def data_root(root: str | os.PathLike | None = None) -> Path:
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get("CAMA_DATA")
    if env:
        return Path(env).expanduser()
    return cache_root() / "data"


def is_writable_dir(path: Path) -> bool:
    """True when ``path`` (or its nearest existing parent) accepts new files."""
    p = path
    while not p.exists():
        if p.parent == p:
            return False
        p = p.parent
    if not p.is_dir() or not os.access(p, os.W_OK | os.X_OK):
        return False
    # honour the mode bits even for root (who may write anywhere): a folder marked
    # read-only is a data source we must not modify
    return bool(p.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
