"""Victim checkpoints and the victim cache.

A checkpoint is a plain dict (loadable with ``torch.load(..., weights_only=True)``) holding
the state dict, the architecture config, the training config, dataset name, featurizer config,
split indices and clean val/test accuracy. The cache stores one checkpoint per
(dataset, architecture, seed, hyper-parameters, featurizer) under ``<cache>/victims/``.

Two protocols (:data:`cama.cv.PROTOCOLS`) make victims: ``seeds`` (v1) trains one configuration on
the seeded 80/10/10 split of its seed; ``cv10`` (v2) is fold f of stratified 10-fold
cross-validation, the configuration selected on the fold's inner validation split
(:func:`cama.cv.cross_validate`); the victim's index is then the fold (``-f3-`` in its key), its
checkpoint adds ``protocol`` and ``base_config`` (the configuration the grid varies).
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from cama.data import GraphDataset
from cama.device import resolve_device
from cama.errors import CamaError
from cama.paths import cache_root, is_writable_dir
from cama.records import atomic_torch_save, load_torch_file

from . import ARCHITECTURES
from .defenses import check_arch  # noqa: F401  (re-exported: victims.store.check_arch)
from .models import GraphClassifier, VictimConfig
from .train import TrainConfig, build_victim, default_split, train_model

CHECKPOINT_FORMAT = "cama-victim/1"
_REQUIRED = ("format", "state_dict", "victim_config", "train_config", "dataset", "featurizer", "split",
             "seed", "val_acc", "test_acc")


@dataclass
class Victim:
    """A trained victim and everything needed to reproduce its evaluation."""

    model: GraphClassifier
    arch: str
    dataset: str
    seed: int
    split: dict[str, Tensor]
    val_acc: float
    test_acc: float
    train_config: TrainConfig
    featurizer: dict
    path: Path | None = None
    epochs: int = 0
    train_seconds: float = 0.0  #: wall time of training (0 for checkpoints written before it was recorded)
    source: str = "file"  #: where it came from: "zoo", "cache", "trained" or "file"
    protocol: str = "seeds"  #: "seeds" (``seed`` is the victim seed) or "cv10" (``seed`` is the fold)
    base_config: TrainConfig | None = None  #: cv10: the configuration the selection grid varied

    @property
    def request_config(self) -> TrainConfig:
        """The configuration this victim was asked for (its cache key): the trained one under
        ``seeds``, the grid's base under ``cv10``."""
        return self.base_config or self.train_config

    def to_checkpoint(self) -> dict:
        extra = {} if self.protocol == "seeds" else {"protocol": self.protocol,
                                                     "base_config": self.request_config.to_dict()}
        return extra | {"format": CHECKPOINT_FORMAT, "state_dict": {k: v.cpu() for k, v in self.model.state_dict().items()},
                "victim_config": self.model.config.to_dict(), "train_config": self.train_config.to_dict(),
                "dataset": self.dataset, "featurizer": self.featurizer, "seed": self.seed,
                "split": {k: v.cpu() for k, v in self.split.items()}, "val_acc": self.val_acc,
                "test_acc": self.test_acc, "epochs": self.epochs, "train_seconds": self.train_seconds}


def resolve_spec(arch: str, cfg: TrainConfig | None) -> tuple[str, TrainConfig | None]:
    """``(architecture, training config)`` of a victim name that may carry a defence."""
    if arch in ARCHITECTURES:
        return arch, cfg
    from dataclasses import replace

    from .defenses import parse_victim

    spec = parse_victim(arch)  # unknown names → one clear error
    return spec.arch, replace(cfg or TrainConfig(), defense=spec.defense)


def save_victim(victim: Victim, path: str | Path) -> Path:
    path = Path(path)
    atomic_torch_save(victim.to_checkpoint(), path)
    return path


def load_victim(path: str | Path, device: str | torch.device = "auto") -> Victim:
    """Load a checkpoint written by :func:`save_victim`; clear errors for missing/corrupt/foreign files."""
    path = Path(path)
    ckpt = load_torch_file(path, "train one with `cama train` (or delete the file and retrain).")
    victim = victim_from_checkpoint(ckpt, device, source=str(path))
    victim.path = path
    return victim


def victim_from_checkpoint(ckpt: dict, device: str | torch.device = "auto", source: str = "checkpoint") -> Victim:
    """Rebuild a :class:`Victim` from a checkpoint dict (as :meth:`Victim.to_checkpoint` returns)."""
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT or any(k not in ckpt for k in _REQUIRED):
        raise CamaError(f"{source} is not a cama victim checkpoint (expected format {CHECKPOINT_FORMAT}); "
                        "use a file written by `cama train`, or `cama evaluate` for your own model.")
    cfg = VictimConfig(**ckpt["victim_config"])
    check_arch(cfg.arch)
    model = GraphClassifier(cfg)
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as exc:
        raise CamaError(f"Checkpoint {source} does not match its architecture config ({str(exc)[:200]}); retrain it.") from exc
    model.to(resolve_device(device)).eval()
    return Victim(model=model, arch=cfg.arch, dataset=ckpt["dataset"], seed=int(ckpt["seed"]), split=ckpt["split"],
                  val_acc=float(ckpt["val_acc"]), test_acc=float(ckpt["test_acc"]),
                  train_config=TrainConfig(**ckpt["train_config"]), featurizer=ckpt["featurizer"],
                  epochs=int(ckpt.get("epochs", 0)), train_seconds=float(ckpt.get("train_seconds", 0.0)),
                  protocol=ckpt.get("protocol", "seeds"),
                  base_config=TrainConfig(**ckpt["base_config"]) if "base_config" in ckpt else None)


def victim_key(dataset: GraphDataset, arch: str, seed: int, cfg: TrainConfig, protocol: str = "seeds") -> str:
    """The cache and zoo key: ``DATASET-ARCH-s<seed>-<hash>`` (``-f<fold>-`` under ``cv10``), the hash
    over everything that determines the victim (the protocol's folds, seed and grid included)."""
    from cama.cv import cv_protocol

    cv = cv_protocol(protocol)
    blob = {"format": CHECKPOINT_FORMAT, "dataset": dataset.name, "arch": arch, "seed": seed,
            "train": cfg.to_dict(), "featurizer": dataset.featurizer.to_config(), "n_graphs": len(dataset)}
    if cv is not None:
        blob["protocol"] = cv.to_dict(dataset.name)
    digest = hashlib.sha1(json.dumps(blob, sort_keys=True).encode()).hexdigest()[:10]
    name = arch + (f"+{cfg.defense}".replace(":", "-").replace("@", "-") if cfg.defense else "")  # gcn+guard-0.1
    return f"{dataset.name}-{name}-{'f' if cv else 's'}{seed}-{digest}"


def victim_cache_dir(cache_dir: str | Path | None = None) -> Path:
    return Path(cache_dir) if cache_dir is not None else cache_root() / "victims"


def train_victim(dataset: GraphDataset, arch: str, seed: int = 0, cfg: TrainConfig | None = None,
                 device: str | torch.device = "auto", progress: bool = True, protocol: str = "seeds") -> Victim:
    """Train a fresh victim: on the seeded stratified 80/10/10 split (``seeds``), or as fold ``seed``
    of ``cv10`` (the selected configuration of that fold, ``cfg`` the grid's base)."""
    from cama.cv import cross_validate, cv_protocol

    check_arch(arch)
    cfg = cfg or TrainConfig()
    dev = resolve_device(device)
    cv = cv_protocol(protocol)
    if cv is not None:
        if not 0 <= seed < cv.folds:
            raise CamaError(f"Fold {seed} does not exist under {protocol}; folds are 0..{cv.folds - 1}.")
        if cfg.defense:
            return defended_fold_victim(dataset, arch, seed, cfg, dev, progress, protocol)
        r = next(cross_validate(dataset, arch, cv.folds, cv.grid_for(dataset.name), cfg, cv.seed, cv.inner_val, dev,
                                only=[seed], progress=progress))
        return fold_victim(dataset, arch, r, cfg, protocol)
    split = default_split(dataset, seed)
    torch.manual_seed(seed)
    model = build_victim(arch, dataset, cfg)
    start = time.perf_counter()
    stats = train_model(model, dataset, split, cfg, seed, dev, progress, desc=f"{dataset.name}/{arch}/s{seed}")
    seconds = time.perf_counter() - start
    model.eval()
    return Victim(model=model, arch=arch, dataset=dataset.name, seed=seed, split=split, val_acc=stats["val_acc"],
                  test_acc=stats["test_acc"], train_config=cfg, featurizer=dataset.featurizer.to_config(),
                  epochs=stats["epochs"], train_seconds=seconds)


def defended_fold_victim(dataset: GraphDataset, arch: str, fold: int, cfg: TrainConfig, device: torch.device,
                         progress: bool = True, protocol: str = "cv10") -> Victim:
    """A defended victim of fold ``fold`` (``cfg.defense`` set): the defence trained with the
    configuration model selection chose for the undefended architecture on that fold, on the same
    split and seed, so the defended and undefended victims of a fold differ by the defence alone
    (the defence's own parameters, e.g. τ, are fixed by its name; no second selection)."""
    from dataclasses import replace

    plain = get_victim(dataset, arch, fold, replace(cfg, defense=""), device=device, progress=progress,
                       protocol=protocol)
    chosen = replace(plain.train_config, defense=cfg.defense)
    torch.manual_seed(fold)
    model = build_victim(arch, dataset, chosen)
    start = time.perf_counter()
    stats = train_model(model, dataset, plain.split, chosen, fold, device, progress,
                        desc=f"{dataset.name}/{arch}+{cfg.defense}/f{fold}")
    model.eval()
    return Victim(model=model, arch=arch, dataset=dataset.name, seed=fold, split=plain.split,
                  val_acc=stats["val_acc"], test_acc=stats["test_acc"], train_config=chosen,
                  featurizer=dataset.featurizer.to_config(), epochs=stats["epochs"],
                  train_seconds=time.perf_counter() - start, protocol=protocol, base_config=cfg)


def fold_victim(dataset: GraphDataset, arch: str, result, base: TrainConfig, protocol: str = "cv10") -> Victim:
    """The :class:`Victim` of one fold of :func:`cama.cv.cross_validate` (a ``FoldResult``)."""
    return Victim(model=result.model, arch=arch, dataset=dataset.name, seed=result.fold, split=result.split,
                  val_acc=result.val_acc, test_acc=result.test_acc, train_config=result.config,
                  featurizer=dataset.featurizer.to_config(), epochs=result.epochs, train_seconds=result.seconds,
                  protocol=protocol, base_config=base)


def victim_path(dataset: GraphDataset, arch: str, seed: int = 0, cfg: TrainConfig | None = None,
                cache_dir: str | Path | None = None, protocol: str = "seeds") -> Path:
    """Where the cache keeps the victim for (dataset, arch, seed or fold, cfg, protocol)."""
    return victim_cache_dir(cache_dir) / f"{victim_key(dataset, arch, seed, cfg or TrainConfig(), protocol)}.pt"


def locate_victim(dataset: GraphDataset, arch: str, seed: int = 0, cfg: TrainConfig | None = None,
                  cache_dir: str | Path | None = None, protocol: str = "seeds") -> tuple[Path, str]:
    """Where the victim for (dataset, arch, seed, cfg) is: ``(zoo file, "zoo")`` when the victim
    zoo holds it (:mod:`victims.zoo`), else ``(cache file, "cache")`` — which may not exist yet."""
    from .zoo_index import zoo_path

    arch, cfg = resolve_spec(arch, cfg)
    cfg = cfg or TrainConfig()
    found = zoo_path(victim_key(dataset, arch, seed, cfg, protocol))
    if found is not None:
        return found, "zoo"
    return victim_path(dataset, arch, seed, cfg, cache_dir, protocol), "cache"


def get_victim(dataset: GraphDataset, arch: str, seed: int = 0, cfg: TrainConfig | None = None,
               device: str | torch.device = "auto", cache_dir: str | Path | None = None, retrain: bool = False,
               progress: bool = True, protocol: str = "seeds") -> Victim:
    """The victim for (dataset, arch, seed, cfg) — under ``protocol="cv10"`` ``seed`` is the fold: from the victim zoo when it holds it, else from the
    cache, else trained and cached (``retrain`` skips zoo and cache). ``Victim.source`` says which.
    ``arch`` may name a defended victim (``gcn+guard``, ``gin+adv``; :mod:`victims.defenses`)."""
    arch, cfg = resolve_spec(arch, cfg)
    path, source = locate_victim(dataset, arch, seed, cfg, cache_dir, protocol)
    if path.is_file() and not retrain:
        victim = load_victim(path, device)
        victim.source = source
        return victim
    path = victim_path(dataset, arch, seed, cfg, cache_dir, protocol)
    if not is_writable_dir(path.parent):
        raise CamaError(f"Victim cache {path.parent} is not writable; set CAMA_CACHE or pass --cache-dir to a writable folder.")
    victim = train_victim(dataset, arch, seed, cfg, device, progress, protocol)
    victim.path = save_victim(victim, path)
    victim.source = "trained"
    return victim


def get_surrogate(dataset: GraphDataset, spec: str, seed: int = 0, device: str | torch.device = "auto",
                  cache_dir: str | Path | None = None, progress: bool = True, protocol: str = "seeds") -> Victim:
    """The surrogate of transfer mode: ``spec`` is an architecture (the zoo/cache/trained victim of
    that architecture with ``seed``, i.e. trained on the same split) or a checkpoint file written
    by ``cama train``. A checkpoint must have been trained on ``dataset`` with the same
    featurizer — the attacker's perturbed graphs are featurized once, for both models — else one
    clear error."""
    if spec in ARCHITECTURES:
        return get_victim(dataset, spec, seed, device=device, cache_dir=cache_dir, progress=progress, protocol=protocol)
    if not Path(spec).is_file():
        raise CamaError(f"Surrogate '{spec}' is neither an architecture ({', '.join(ARCHITECTURES)}) nor a "
                        "checkpoint file written by `cama train`.")
    sur = load_victim(spec, device)
    if sur.dataset != dataset.name:
        raise CamaError(f"Surrogate checkpoint {spec} was trained on {sur.dataset}, the victim on {dataset.name}; "
                        f"train a surrogate on {dataset.name} (`cama train -d {dataset.name} -m gcn --out sur.pt`).")
    if sur.featurizer != dataset.featurizer.to_config():
        raise CamaError(f"Surrogate checkpoint {spec} expects node features {sur.featurizer}, but {dataset.name} is "
                        f"featurized as {dataset.featurizer.to_config()} here; both models must read the same "
                        f"features: retrain the surrogate with this cama (`cama train -d {dataset.name} --out sur.pt`).")
    return sur
