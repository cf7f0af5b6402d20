"""Run records: one JSON file per (dataset, victim, victim seed or fold, attack, params, budget).

Protocol v1 records (seeded 80/10/10 victims) carry ``victim_seed``; protocol v2 records carry
``protocol = "cv10"`` and ``fold`` instead (the victim of that fold, :mod:`cama.cv`).
:func:`load_records` gives every record a ``victim_seed`` — the fold under v2 — so aggregation
has one replicate index either way, and ``protocol`` (``"seeds"`` where absent).

The file name is the ``run_id``, a hash of the record's configuration, so a rerun finds what
exists; files are written atomically (temporary file + rename), so a killed run never leaves a
half-written record.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

SCHEMA = "cama-run/1"
CONFIG_FIELDS = ("dataset", "victim", "victim_seed", "attack", "params", "budget_kind", "budget", "seed",
                 "surrogate", "max_graphs")
#: configuration fields present only where they apply (absent otherwise, and then not in the run id):
#: protocol v2's protocol and fold; ``sample_from = "test"`` for a sample drawn from the test graphs
PROTOCOL_FIELDS = ("protocol", "fold", "sample_from")
#: what a ``max_graphs`` sample is drawn from (:func:`cama.evaluate.evaluate_attack`)
SAMPLE_FROM = ("correct", "test")


def run_config(dataset: str, victim: str, victim_seed: int, attack: str, params: dict, budget, seed: int,
               surrogate: str | None = None, max_graphs: int | None = None, protocol: str = "seeds",
               sample_from: str = "correct") -> dict:
    """The configuration fields of a record for one budget (a ``Budget``): ``CONFIG_FIELDS``, with
    ``protocol`` and ``fold`` in place of ``victim_seed`` under a cross-validation protocol, and
    ``sample_from`` where a sample (``max_graphs``) is drawn from the test graphs
    (:func:`cama.evaluate.evaluate_attack`)."""
    replicate = {"victim_seed": victim_seed} if protocol == "seeds" else {"protocol": protocol, "fold": victim_seed}
    sample = {"sample_from": sample_from} if sample_from != "correct" and max_graphs is not None else {}
    return {"dataset": dataset, "victim": victim} | replicate | {
        "attack": attack, "params": params, "budget_kind": budget.kind, "budget": budget.value, "seed": seed,
        "surrogate": surrogate, "max_graphs": max_graphs} | sample


def record_protocol(record: dict) -> str:
    return record.get("protocol", "seeds")


def single_protocol(groups: dict[str, list[dict]]) -> str:
    """The one protocol of every record in ``groups`` (folder → its records); records of two
    protocols are never aggregated together → one clear error naming the folders."""
    from .errors import CamaError

    found: dict[str, set[str]] = {}
    for folder, records in groups.items():
        for r in records:
            found.setdefault(record_protocol(r), set()).add(folder)
    if len(found) > 1:
        where = "; ".join(f"{p}: {', '.join(sorted(f))}" for p, f in sorted(found.items()))
        raise CamaError(f"Records of two protocols ({where}); a leaderboard takes one protocol: point every "
                        "--*-runs folder at records of the same protocol (e.g. results/runs/v2/…).")
    return next(iter(found), "seeds")


def run_id(config: dict) -> str:
    fields = {k: config.get(k) for k in CONFIG_FIELDS} | {k: config[k] for k in PROTOCOL_FIELDS if k in config}
    blob = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def versions() -> dict:
    import torch
    import torch_geometric

    from ._version import __version__
    return {"cama": __version__, "torch": torch.__version__, "torch_geometric": torch_geometric.__version__,
            "python": platform.python_version()}


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def current_umask() -> int:
    """The process's umask (read by setting and restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: str | Path, write: Callable[[str], None], suffix: str = ".part") -> Path:
    """The one atomic writer: ``write(tmp)`` fills a temporary file beside ``path``, which then
    replaces ``path`` (readers see the old or the new file, never half of one; a failed write
    leaves no temporary file). The file gets the mode ``open()`` would give it (0666 less the umask). Temporary names start with ``.tmp-`` (never a ``*.json`` record)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=suffix)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; a written file follows the umask
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: Path, text: str) -> None:
    """``text`` written through :func:`atomic_write` (flushed to disk before the rename)."""
    def write(tmp: str) -> None:
        with open(tmp, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())

    atomic_write(path, write)


def write_json_atomic(path: Path, obj) -> None:
    write_text_atomic(path, json.dumps(obj, indent=1, sort_keys=True))


def record_path(folder: str | Path, record: dict) -> Path:
    return Path(folder) / f"{record['run_id']}.json"


def write_record(folder: str | Path, record: dict) -> Path:
    path = record_path(folder, record)
    write_json_atomic(path, record)
    return path


def load_records(folder: str | Path) -> list[dict]:
    out = []
    for p in sorted(Path(folder).glob("**/*.json")):
        if p.name.startswith("."):
            continue
        try:
            rec = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(rec, dict) and rec.get("schema") == SCHEMA:
            if "fold" in rec:
                rec["victim_seed"] = rec["fold"]
            out.append(rec)
    return out


def atomic_torch_save(obj, path: Path) -> None:
    """``torch.save`` through :func:`atomic_write` (never a half-written file)."""
    import torch

    atomic_write(path, lambda tmp: torch.save(obj, tmp), suffix=".pt")


def load_torch_file(path: str | Path, fix: str):
    """``torch.load(path, weights_only=True)`` with one clear error (naming ``fix``) when the file
    is missing, corrupt or holds more than tensors and plain containers."""
    import torch

    from .errors import CamaError

    path = Path(path)
    if not path.is_file():
        raise CamaError(f"Checkpoint {path} does not exist; {fix}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CamaError(f"Checkpoint {path} cannot be read with weights_only=True ({type(exc).__name__}); it is "
                        f"corrupt or not a plain PyTorch weights file; {fix}") from exc
