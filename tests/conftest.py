"""Shared fixtures: real TU data from ../shared/data/TU through a read-only copy, isolated caches."""
from __future__ import annotations

import os
import shutil
import stat
import warnings
from pathlib import Path

import pytest

warnings.filterwarnings("ignore", message=".*contrib.*experimental.*")

if os.environ.get("PYTEST_XDIST_WORKER"):
    # One torch thread per xdist worker (and per CLI subprocess it starts), as the grids run: two
    # workers × two OpenMP threads on two cores made small-op code spin — PyG's per-graph PRBCD on
    # 16 MUTAG graphs took 43 s instead of 2 s.
    import torch

    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)

SHARED_TU = Path(__file__).resolve().parents[2] / "shared" / "data" / "TU"
if not SHARED_TU.is_dir():  # checkout placed elsewhere: allow an override
    SHARED_TU = Path(os.environ.get("CAMA_TEST_TU", "../shared/data/TU")).resolve()


def _make_read_only(path: Path) -> None:
    for p in sorted(path.rglob("*"), reverse=True):
        p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory) -> Path:
    """One victim cache for the whole run, shared by pytest-xdist workers (writes are atomic)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    cache = base / "cama-cache"
    cache.mkdir(parents=True, exist_ok=True)
    os.environ["CAMA_CACHE"] = str(cache)
    return cache


@pytest.fixture(scope="session")
def tu_root(tmp_path_factory, session_cache) -> Path:
    """A read-only copy of the shared TU folder (only the datasets the tests use)."""
    if not SHARED_TU.is_dir():
        pytest.skip(f"shared TU data not found at {SHARED_TU}")
    root = tmp_path_factory.mktemp("tu-readonly")
    for name in ("MUTAG", "PROTEINS", "IMDB-BINARY", "ENZYMES", "IMDB-MULTI", "REDDIT-BINARY", "PTC_MR", "NCI1",
                 "Mutagenicity"):
        shutil.copytree(SHARED_TU / name / "raw", root / name / "raw")
    _make_read_only(root)
    yield root
    for p in [root, *root.rglob("*")]:
        p.chmod(p.stat().st_mode | stat.S_IWUSR)


@pytest.fixture(scope="session")
def mutag(tu_root):
    from cama.data import load_dataset
    return load_dataset("MUTAG", root=tu_root)


@pytest.fixture(scope="session")
def proteins(tu_root):
    from cama.data import load_dataset
    return load_dataset("PROTEINS", root=tu_root)


@pytest.fixture(scope="session")
def imdb(tu_root):
    from cama.data import load_dataset
    return load_dataset("IMDB-BINARY", root=tu_root)


@pytest.fixture(scope="session")
def synthetic(session_cache):
    from cama.data import load_dataset
    return load_dataset("synthetic-motifs")


@pytest.fixture(scope="session")
def mutag_gcn(mutag, session_cache):
    from victims.store import get_victim
    return get_victim(mutag, "gcn", seed=0, device="cpu", progress=False)


@pytest.fixture(scope="session")
def mutag_gin(mutag, session_cache):
    from victims.store import get_victim
    return get_victim(mutag, "gin", seed=0, device="cpu", progress=False)


@pytest.fixture(scope="session")
def synthetic_gcn(synthetic, session_cache):
    from victims.store import get_victim
    return get_victim(synthetic, "gcn", seed=0, device="cpu", progress=False)
