"""Looking victims up in the zoo (folder, manifest, path by cache key); see :mod:`victims.zoo`.

Kept apart from :mod:`victims.zoo`, which adds checkpoints and needs :mod:`victims.store`,
so that the store can consult the zoo without an import cycle.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from cama.errors import CamaError

ZOO_ENV = "CAMA_ZOO"
MANIFEST = "manifest.json"


def zoo_dir() -> Path | None:
    """The zoo folder: ``$CAMA_ZOO`` (``none`` = no zoo), else ``results/zoo`` of this checkout."""
    env = os.environ.get(ZOO_ENV)
    if env:
        return None if env.lower() == "none" else Path(env)
    return Path(__file__).resolve().parents[1] / "results" / "zoo"


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_manifest(folder: Path | None = None) -> list[dict]:
    folder = folder or zoo_dir()
    path = folder / MANIFEST if folder else None
    if path is None or not path.is_file():
        return []
    try:
        entries = json.loads(path.read_text())["victims"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CamaError(f"Zoo manifest {path} is unreadable ({type(exc).__name__}); restore it from git "
                        f"or set {ZOO_ENV}=none.") from exc
    return entries


def zoo_path(key: str, folder: Path | None = None) -> Path | None:
    """The zoo checkpoint for cache key ``key`` when the zoo holds it (listed in the manifest)."""
    folder = folder or zoo_dir()
    if folder is None:
        return None
    path = folder / f"{key}.pt"
    if path.is_file() and any(e["file"] == path.name for e in read_manifest(folder)):
        return path
    return None
