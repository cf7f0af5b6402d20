"""The victim zoo: the leaderboard's trained victims, committed with the repository.

A cached victim is only reproducible on a machine with the same torch thread count (float
reductions in training depend on it), so the leaderboard's victims ship as files:
``results/zoo/<victim key>.pt`` plus ``results/zoo/manifest.json``, one entry per checkpoint
(dataset, architecture, seed, training config, featurizer config, clean val/test accuracy,
training wall time, size and sha256). The file name is the cache key
(:func:`victims.store.victim_key`: dataset, architecture, seed, training config, featurizer,
number of graphs), so a zoo victim matches exactly the request it was trained for.

:func:`victims.store.get_victim` looks in the zoo first, then in the cache, then trains.
``$CAMA_ZOO`` points elsewhere (``none`` disables the zoo).
"""
from __future__ import annotations

import shutil
from pathlib import Path

from cama.errors import CamaError
from cama.records import load_torch_file, write_json_atomic

from .zoo_index import MANIFEST, ZOO_ENV, read_manifest, sha256, zoo_dir, zoo_path  # noqa: F401 (re-exported)


def manifest_entry(path: Path) -> dict:
    ckpt = load_torch_file(path, "it is not a victim checkpoint")
    return {"file": path.name, "dataset": ckpt["dataset"], "arch": ckpt["victim_config"]["arch"],
            "seed": int(ckpt["seed"]), "protocol": ckpt.get("protocol", "seeds"), "train_config": ckpt["train_config"], "featurizer": ckpt["featurizer"],
            "victim_config": ckpt["victim_config"], "val_acc": float(ckpt["val_acc"]),
            "test_acc": float(ckpt["test_acc"]), "epochs": int(ckpt.get("epochs", 0)),
            "train_seconds": round(float(ckpt.get("train_seconds", 0.0)), 2), "bytes": path.stat().st_size,
            "sha256": sha256(path)}


def add_to_zoo(checkpoints: list[Path], folder: Path | None = None) -> list[dict]:
    """Copy victim checkpoints into the zoo (named by their cache key) and rewrite the manifest."""
    from cama.data import load_dataset

    from .store import load_victim, victim_key

    folder = folder or zoo_dir()
    if folder is None:
        raise CamaError(f"The zoo is disabled ({ZOO_ENV}=none); set {ZOO_ENV} to a folder.")
    folder.mkdir(parents=True, exist_ok=True)
    entries = {e["file"]: e for e in read_manifest(folder)}
    datasets = {}
    for src in map(Path, checkpoints):
        v = load_victim(src, "cpu")
        if v.dataset not in datasets:
            datasets[v.dataset] = load_dataset(v.dataset)
        key = victim_key(datasets[v.dataset], v.arch, v.seed, v.request_config, v.protocol)
        dst = folder / f"{key}.pt"
        if src.resolve() != dst.resolve():
            shutil.copyfile(src, dst)
        entries[dst.name] = manifest_entry(dst)
    ordered = sorted(entries.values(), key=lambda e: (e.get("protocol", "seeds"), e["dataset"], e["arch"], e["seed"]))
    write_json_atomic(folder / MANIFEST, {"format": "cama-zoo/1", "victims": ordered})
    return ordered


def verify_entry(entry: dict, folder: Path | None = None) -> None:
    """The entry's file exists and has its checksum (raises CamaError otherwise)."""
    folder = folder or zoo_dir()
    path = folder / entry["file"]
    if not path.is_file():
        raise CamaError(f"Zoo file {path} listed in the manifest is missing.")
    if sha256(path) != entry["sha256"]:
        raise CamaError(f"Zoo file {path} does not match its sha256 in the manifest.")


def zoo_size(folder: Path | None = None) -> int:
    folder = folder or zoo_dir()
    return sum(p.stat().st_size for p in folder.glob("*.pt")) if folder and folder.is_dir() else 0


def main(argv: list[str] | None = None) -> None:
    """``python -m victims.zoo CHECKPOINT…``: add victim checkpoints to the zoo, print the manifest size."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m victims.zoo",
                                     description="Add victim checkpoints to the zoo (results/zoo, or $CAMA_ZOO), "
                                                 "named by their cache key, and rewrite its manifest.")
    parser.add_argument("checkpoints", nargs="+", type=Path, metavar="CHECKPOINT.pt")
    args = parser.parse_args(argv)
    try:
        entries = add_to_zoo(args.checkpoints)
    except CamaError as err:
        raise SystemExit(f"Error: {err}") from None
    print(f"{len(entries)} victims in {zoo_dir()} ({zoo_size() / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()


__all__ = ["add_to_zoo", "read_manifest", "verify_entry", "zoo_dir", "zoo_path", "zoo_size"]
