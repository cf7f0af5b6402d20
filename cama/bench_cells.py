"""Grid cells: what a cell is, its records' ids, which cells are done, and running one cell.

A *cell* is (dataset, victim architecture, victim seed, attack spec[, surrogate]). Executors
(:mod:`cama.bench`, :mod:`cama.bench_ray`) hand cells to :func:`run_cell`; both import this module,
never each other's.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .bench_config import AttackSpec, BenchConfig
from .records import run_config, run_id


@dataclass(frozen=True)
class Cell:
    dataset: str
    victim: str
    seed: int
    spec: AttackSpec
    surrogate: str | None = None  #: transfer mode: the surrogate's architecture (same seed)
    protocol: str = "seeds"  #: "cv10": ``seed`` is the victim's fold

    @property
    def name(self) -> str:
        sur = f"←{self.surrogate}" if self.surrogate else ""
        return f"{self.dataset}/{self.victim}{sur}/{'s' if self.protocol == 'seeds' else 'f'}{self.seed}/{self.spec.label}"


def make_cells(cfg: BenchConfig) -> list[Cell]:
    """The grid's cells; with ``surrogates``, one per surrogate (white-box where it is the victim's
    own architecture)."""
    from .data import canonical_name

    surrogates = cfg.surrogates or [None]
    return [Cell(canonical_name(d), v, s, spec, None if sur == v else sur, cfg.protocol) for d in cfg.datasets
            for v in cfg.victims for s in cfg.seeds for sur in surrogates for spec in cfg.attacks]


def cell_max_graphs(cell: Cell, cfg: BenchConfig) -> int | None:
    """The cell's sample size (None = all): the attack's value for the dataset and victim
    (``"DD/gat"``), else for the dataset, else the attack's, else the grid's for the dataset and
    victim or the dataset (``max_graphs_by``), else the grid's."""
    keys = (f"{cell.dataset}/{cell.victim}", cell.dataset)
    by = dict(cell.spec.max_graphs_by)
    for key in keys:
        if key in by:
            return by[key] or None
    if cell.spec.max_graphs is not None:
        return cell.spec.max_graphs
    for key in keys:
        if key in cfg.max_graphs_by:
            return cfg.max_graphs_by[key] or None
    return cfg.max_graphs


def expected_run_ids(cell: Cell, cfg: BenchConfig) -> list[str]:
    """The run ids of the records a cell produces (:func:`cama.records.run_config`, as in ``evaluate_attack``)."""
    atk = cell.spec.build(cfg.importance)
    from .evaluate import run_params

    params = run_params(atk, cfg.kappa() if cell.surrogate else None, cfg.constraints_for(cell.dataset))
    return [run_id(run_config(cell.dataset, cell.victim, cell.seed, atk.name, params, b, cell.seed,
                              cell.surrogate, cell_max_graphs(cell, cfg), cell.protocol, cfg.sample_from))
            for b in cfg.budget_list()]


def cell_done(cell: Cell, cfg: BenchConfig, runs: Path) -> bool:
    return all((runs / f"{rid}.json").is_file() for rid in expected_run_ids(cell, cfg))


DONE, PENDING, NOT_APPLICABLE = "done", "pending", "n/a"


def plan_cells(cells: list[Cell], cfg: BenchConfig, runs: Path, force: bool = False,
               data_root: str | None = None) -> dict[Cell, str]:
    """Each cell's status: ``done`` (all its records exist; never with ``force``), ``n/a`` (its
    attack cannot apply to the dataset, e.g. a feature attack on degree features: it never
    writes records, so it is not run again and again) or ``pending``. Applicability needs the
    dataset's featurizer, so each dataset with a cell not done is loaded once."""
    from functools import cache

    from .data import load_dataset

    featurizer = cache(lambda name: load_dataset(name, root=data_root).featurizer)
    status = {}
    for c in cells:
        if not force and cell_done(c, cfg, runs):
            status[c] = DONE
        elif c.spec.build(cfg.importance).inapplicable(featurizer(c.dataset)):
            status[c] = NOT_APPLICABLE
        else:
            status[c] = PENDING
    return status


def clean_partial_files(runs: Path) -> int:
    """Remove temporary files a killed writer left behind (records themselves are never partial)."""
    n = 0
    for p in runs.glob("**/.tmp-*"):
        p.unlink(missing_ok=True)
        n += 1
    return n


def run_cell(cell: Cell, cfg: BenchConfig, dataset, victim, surrogate=None) -> list[dict]:
    """Attack one victim (through ``surrogate``, a Victim, in transfer cells) with one attack spec
    for all budgets → records (not yet written); no records when the attack cannot apply to the
    dataset (``Attack.inapplicable``; the planner does not schedule such cells, :func:`plan_cells`)."""
    from .evaluate import evaluate_attack

    atk = cell.spec.build(cfg.importance)
    if atk.inapplicable(dataset.featurizer):  # e.g. a feature attack on degree features: no records
        return []
    out = evaluate_attack(victim.model, dataset, victim.split["test"], atk, cfg.budget_list(),
                          victim_name=cell.victim, victim_seed=cell.seed, seed=cell.seed,
                          max_graphs=cell_max_graphs(cell, cfg), transfer_margin=cfg.kappa(),
                          constraints=cfg.constraints_for(cell.dataset),
                          surrogate=surrogate.model if cell.surrogate else None, surrogate_name=cell.surrogate,
                          protocol=cell.protocol, sample_from=cfg.sample_from)
    for rec in out.records:
        if cell.spec.label != cell.spec.attack:
            rec["label"] = cell.spec.label
    return out.records
