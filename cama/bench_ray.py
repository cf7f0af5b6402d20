"""Ray executor for :mod:`cama.bench`: victims to train and grid cells become Ray tasks.

The driver loads each dataset once (to find cached victims), ships cached checkpoints through
the object store, trains missing victims as tasks (and stores the returned checkpoints in its
own cache), and runs one task per cell. Tasks return records; the driver writes them, so the
workers need no shared filesystem. Every worker needs ``cama`` installed (``pip install
'cama[ray]'``) and either the TU raw files under its own data root or internet access.
"""
from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from .errors import CamaError


def _import_ray():
    try:
        import ray
    except ImportError:
        raise CamaError("The ray executor needs Ray, which is not installed; run "
                        "`pip install 'cama[ray]'` (or `pip install ray`), or use --executor local.") from None
    return ray


@lru_cache(maxsize=2)
def _dataset(name: str, data_root: str | None):
    from .data import load_dataset

    return load_dataset(name, root=data_root)


def _train_task(dataset: str, arch: str, seed: int, data_root: str | None, protocol: str = "seeds") -> dict:
    from victims.store import train_victim

    from .runtime import tune_allocator

    tune_allocator()  # once per worker process, as the cama command does

    return train_victim(_dataset(dataset, data_root), arch, seed, device="cpu", progress=False,
                        protocol=protocol).to_checkpoint()


def _cell_task(cell, cfg, checkpoint: dict, data_root: str | None, device: str,
               surrogate_checkpoint: dict | None = None) -> list[dict]:
    from victims.store import victim_from_checkpoint

    from .bench_cells import run_cell
    from .runtime import tune_allocator

    tune_allocator()  # once per worker process, as the cama command does

    victim = victim_from_checkpoint(checkpoint, device)
    surrogate = victim_from_checkpoint(surrogate_checkpoint, device) if surrogate_checkpoint is not None else None
    return run_cell(cell, cfg, _dataset(cell.dataset, data_root), victim, surrogate)


def run_ray(pending: list, cfg, address: str | None, data_root: str | None, cache_dir: str | None,
            device: str, trained: list[float]) -> Iterator[tuple[object, list[dict]]]:
    """Yield ``(cell, records)`` as Ray tasks finish (see module docstring); the training seconds of
    every victim trained here are appended to ``trained``."""
    ray = _import_ray()
    if not pending:
        return
    from victims.store import locate_victim, save_victim, victim_from_checkpoint

    from .records import load_torch_file

    started = not ray.is_initialized()
    if started:
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        except Exception as exc:  # no cluster at the address, port clash, …
            where = f"the Ray cluster at {address}" if address else "a local Ray instance"
            raise CamaError(f"Could not start or reach {where} ({type(exc).__name__}: {str(exc)[:200]}); "
                            "check --ray-address (e.g. ray://head:10001 or auto) or use --executor local.") from exc
    gpu = 1 if device.startswith("cuda") else 0
    train = ray.remote(num_cpus=1, num_gpus=gpu)(_train_task)
    attack = ray.remote(num_cpus=1, num_gpus=gpu)(_cell_task)
    try:
        checkpoints, training = {}, {}
        for key in dict.fromkeys((c.dataset, arch, c.seed) for c in pending for arch in (c.victim, c.surrogate) if arch):
            path, _ = locate_victim(_dataset(key[0], data_root), key[1], key[2], cache_dir=cache_dir,
                                    protocol=cfg.protocol)
            if path.is_file():
                checkpoints[key] = ray.put(load_torch_file(path, "delete it to retrain"))
            else:  # trained on a worker; cells that need it wait for it
                checkpoints[key] = train.remote(*key, data_root, cfg.protocol)
                training[checkpoints[key]] = path
        refs = {attack.remote(cell, cfg, checkpoints[(cell.dataset, cell.victim, cell.seed)], data_root, device,
                              checkpoints[(cell.dataset, cell.surrogate, cell.seed)] if cell.surrogate else None): cell
                for cell in pending}
        while refs or training:
            if training:  # keep the driver's victim cache complete, as soon as a victim is trained
                ready, _ = ray.wait(list(training), num_returns=len(training), timeout=0 if refs else None)
                for ref in ready:
                    victim = victim_from_checkpoint(_get(ray, ref, "training a victim"), "cpu")
                    save_victim(victim, training.pop(ref))
                    trained.append(victim.train_seconds)
            if not refs:
                continue
            done, _ = ray.wait(list(refs), num_returns=1)
            for ref in done:
                cell = refs.pop(ref)
                yield cell, _get(ray, ref, f"cell {cell.name}")
    finally:
        if started:
            ray.shutdown()


def _get(ray, ref, what: str):
    """``ray.get`` with a worker's CamaError re-raised as itself, anything else as one CamaError."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, CamaError):
            raise CamaError(str(cause)) from None
        raise CamaError(f"{what} failed on a Ray worker: {str(cause or exc)[:500]}") from None
