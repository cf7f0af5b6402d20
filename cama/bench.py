"""Benchmark sweeps: datasets × victims × victim seeds (or folds) × attacks × budgets, resumable.

A *cell* is (dataset, victim architecture, victim seed, attack spec). A cell reuses the cached
victim (training it when missing), attacks the victim's correctly classified test graphs once
for all budgets, and yields one JSON record per budget (:mod:`cama.records`). Records are
written atomically by the driver, and only after their cell has finished, so a killed sweep
leaves whole records of whole cells; a rerun skips every cell whose records all exist
(``force`` recomputes). The attack seed is the victim seed, as in ``cama attack``.

The grid's format is in :mod:`cama.bench_config`, cells and planning in :mod:`cama.bench_cells`.

Executors: ``local`` runs cells one after another in this process; ``ray`` turns victims to
train and cells into Ray tasks (an existing cluster via ``ray_address``, else a local Ray
instance). Tasks return checkpoints and records to the driver, which writes them, so workers
need no shared filesystem (each loads datasets from its own data root or downloads them).
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .bench_cells import (  # noqa: F401  (re-exported: the public names of cama.bench)
    DONE,
    NOT_APPLICABLE,
    PENDING,
    Cell,
    cell_done,
    cell_max_graphs,
    clean_partial_files,
    expected_run_ids,
    make_cells,
    plan_cells,
    run_cell,
)
from .bench_config import (  # noqa: F401
    AttackSpec,
    BenchConfig,
    bench_config,
    describe,
    parse_attack_table,
    specs_from_names,
)
from .errors import CamaError
from .records import write_record


@dataclass
class BenchSummary:
    cells: int
    skipped: int
    ran: int
    records_written: int
    seconds: float
    runs: Path
    inapplicable: int = 0  #: cells whose attack cannot apply to their dataset (no records, not run)
    victims_trained: int = 0
    train_seconds: float = 0.0  #: training wall time of the victims trained by this run (summed over tasks)


def run_bench(cfg: BenchConfig, *, force: bool = False, executor: str = "local", ray_address: str | None = None,
              data_root: str | None = None, cache_dir: str | None = None, device: str = "auto",
              progress: bool = True, log: Callable[[str], None] = lambda s: None) -> BenchSummary:
    """Run every pending cell of ``cfg`` and write its records under ``cfg.runs``."""
    if executor not in EXECUTORS:
        raise CamaError(f"Unknown executor '{executor}'; choose one of: {', '.join(EXECUTORS)}.")
    from .paths import is_writable_dir

    runs = Path(cfg.runs)
    try:
        runs.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass
    if not runs.is_dir() or not is_writable_dir(runs):
        raise CamaError(f"Records folder {runs} cannot be created or written; pass --runs to a writable folder.")
    stale = clean_partial_files(runs)
    if stale:
        log(f"removed {stale} temporary file(s) left by an interrupted run")
    cells = make_cells(cfg)
    status = plan_cells(cells, cfg, runs, force, data_root)
    pending = [c for c in cells if status[c] == PENDING]
    counts = Counter(status.values())
    n_done, n_na = counts[DONE], counts[NOT_APPLICABLE]
    log(f"{len(cells)} cells, {n_done} already done, {n_na} not applicable, {len(pending)} to run → {runs}/")
    t0 = time.perf_counter()
    written = 0
    trained: list[float] = []  # training seconds of every victim trained on the way
    from .progress import progress_bar

    with progress_bar(len(pending), "bench", enabled=progress and bool(pending)) as advance:
        results = EXECUTORS[executor](pending, cfg, address=ray_address, data_root=data_root, cache_dir=cache_dir,
                                      device=device, trained=trained)
        for cell, records in results:
            for rec in records:
                write_record(runs, rec)
                written += 1
            advance(cell=cell.name)
    return BenchSummary(len(cells), n_done, len(pending), written, time.perf_counter() - t0, runs, n_na,
                        len(trained), sum(trained))


def run_local(pending: list[Cell], cfg: BenchConfig, *, address=None, data_root=None, cache_dir=None,
              device: str = "auto", trained: list[float]) -> Iterator[tuple[Cell, list[dict]]]:
    """The local executor: cells one after another in this process (one dataset in memory)."""
    from victims.store import get_victim, locate_victim

    from .data import load_dataset

    datasets: dict[str, object] = {}
    victims: dict[tuple, object] = {}
    for cell in pending:
        if cell.dataset not in datasets:
            datasets.clear()
            victims.clear()  # one dataset in memory at a time (cells are dataset-major)
            datasets[cell.dataset] = load_dataset(cell.dataset, root=data_root)
        ds = datasets[cell.dataset]
        for arch in filter(None, (cell.victim, cell.surrogate)):
            if (arch, cell.seed) not in victims:
                fresh = not locate_victim(ds, arch, cell.seed, cache_dir=cache_dir, protocol=cell.protocol)[0].is_file()
                victims[arch, cell.seed] = get_victim(ds, arch, cell.seed, device=device, cache_dir=cache_dir,
                                                      progress=False, protocol=cell.protocol)
                if fresh:
                    trained.append(victims[arch, cell.seed].train_seconds)
        yield cell, run_cell(cell, cfg, ds, victims[cell.victim, cell.seed], victims.get((cell.surrogate, cell.seed)))


def run_ray_executor(pending: list[Cell], cfg: BenchConfig, **kw) -> Iterator[tuple[Cell, list[dict]]]:
    """The Ray executor (:mod:`cama.bench_ray`), imported only when chosen."""
    from .bench_ray import run_ray

    return run_ray(pending, cfg, kw["address"], kw["data_root"], kw["cache_dir"], kw["device"], kw["trained"])


#: Executor interface: ``executor(pending, cfg, *, address, data_root, cache_dir, device, trained)``
#: yields ``(cell, records)`` as cells finish and appends training seconds of victims it trains.
EXECUTORS: dict[str, Callable[..., Iterator[tuple[Cell, list[dict]]]]] = {"local": run_local, "ray": run_ray_executor}

__all__ = ["AttackSpec", "BenchConfig", "BenchSummary", "Cell", "make_cells", "plan_cells", "run_bench"]
