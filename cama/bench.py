"""Benchmark sweeps: datasets × victims × victim seeds × attacks × budgets, resumable.

A *cell* is (dataset, victim architecture, victim seed, attack spec). A cell reuses the cached
victim (training it when missing), attacks the victim's correctly classified test graphs once
for all budgets, and yields one JSON record per budget (:mod:`cama.records`). Records are
written atomically by the driver, and only after their cell has finished, so a killed sweep
leaves whole records of whole cells; a rerun skips every cell whose records all exist
(``force`` recomputes). The attack seed is the victim seed, as in ``cama attack``.

Configuration (TOML; every key optional, flags of ``cama bench`` override them)::

    datasets = ["MUTAG", "PROTEINS"]         # any TU name
    victims = ["gcn", "gin", "graphsage", "gat"]
    seeds = [0, 1, 2]                        # victim seeds
    budgets = [0.05, 0.10, 0.20]
    budget_kind = "ratio"                    # or "count"
    importance = "gradcam"                   # for CAMA attacks
    runs = "results/runs/bench"              # record folder
    max_graphs = 0                           # 0 = every correct test graph
    max_graphs_by = {REDDIT-BINARY = 50}     # a grid-wide sample on some datasets (attacks' own values win)

    [attacks.cama]                           # table name = label in the leaderboard
    [attacks.prbcd]
    max_graphs = 50                          # seeded sample for an expensive baseline
    [attacks.grbcd]
    max_graphs = {DD = 20}                   # a sample on one dataset only ({DD = 10, "*" = 30}: others 30)
    [attacks.cama-node-1pass]
    attack = "cama-node"                     # registry name when the label differs
    rounds = 0                               # other keys are attack parameters
    rerank = 0

Transfer grids add ``surrogates = ["gcn", "gin", ...]``: every cell then runs once per surrogate
architecture (the zoo/cache victim of that architecture and seed, so the same split), in
transfer mode with ``transfer_margin`` (κ; default ``cama.evaluate.DEFAULT_TRANSFER_MARGIN``);
where the surrogate is the victim's own architecture the cell is white-box (the matrix diagonal).

Executors: ``local`` runs cells one after another in this process; ``ray`` turns victims to
train and cells into Ray tasks (an existing cluster via ``ray_address``, else a local Ray
instance). Tasks return checkpoints and records to the driver, which writes them, so workers
need no shared filesystem (each loads datasets from its own data root or downloads them).
"""
from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from .errors import CamaError
from .records import run_config, run_id, write_record

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

EXECUTORS = ("local", "ray")


@dataclass(frozen=True)
class AttackSpec:
    """One attack column of the grid: registry name, parameters, optional sample size."""

    label: str
    attack: str
    params: tuple[tuple[str, object], ...] = ()
    max_graphs: int | None = None
    #: per-dataset sample sizes, overriding ``max_graphs`` (TOML ``max_graphs = {DD = 20}``)
    max_graphs_by: tuple[tuple[str, int], ...] = ()

    def build(self, importance: str):
        from attacks import make_attack

        return make_attack(self.attack, importance=importance, **dict(self.params))


@dataclass
class BenchConfig:
    datasets: list[str] = field(default_factory=lambda: ["MUTAG"])
    victims: list[str] = field(default_factory=lambda: ["gcn"])
    seeds: list[int] = field(default_factory=lambda: [0])
    attacks: list[AttackSpec] = field(default_factory=list)
    budgets: list[float] = field(default_factory=lambda: [0.05, 0.1, 0.2])
    budget_kind: str = "ratio"
    importance: str = "gradcam"
    runs: str = "results/runs/bench"
    max_graphs: int | None = None
    max_graphs_by: dict[str, int] = field(default_factory=dict)  #: grid-wide per-dataset samples
    surrogates: list[str] = field(default_factory=list)  #: transfer grid: surrogate architectures
    transfer_margin: float | None = None  #: κ of transfer mode (None: the default)

    def __post_init__(self) -> None:
        if not self.attacks:
            from attacks import ATTACKS

            self.attacks = [AttackSpec(n, n) for n in ATTACKS]

    @classmethod
    def from_toml(cls, path: str | Path) -> BenchConfig:
        path = Path(path)
        try:
            raw = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise CamaError(f"Config file {path} does not exist; pass --config path/to/bench.toml.") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise CamaError(f"{path} is not valid TOML ({exc}); see `cama bench --help` for the format.") from None
        return cls.from_dict(raw, source=str(path))

    @classmethod
    def from_dict(cls, raw: dict, source: str = "config") -> BenchConfig:
        allowed = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - allowed)
        if unknown:
            raise CamaError(f"{source}: unknown key(s) {unknown}; allowed: {sorted(allowed)}.")
        kw = {k: v for k, v in raw.items() if k != "attacks"}
        if "attacks" in raw:
            kw["attacks"] = parse_attack_table(raw["attacks"], source)
        if kw.get("max_graphs") == 0:
            kw["max_graphs"] = None
        cfg = cls(**kw)
        cfg.validate(source)
        return cfg

    def with_overrides(self, **flags) -> BenchConfig:
        cfg = replace(self, **{k: v for k, v in flags.items() if v is not None})
        cfg.validate("flags")
        return cfg

    def validate(self, source: str) -> None:
        from attacks import ATTACKS
        from victims.store import check_arch

        from .budget import parse_budgets

        for key in ("datasets", "victims", "seeds", "budgets", "attacks"):
            if not isinstance(getattr(self, key), list) or not getattr(self, key):
                raise CamaError(f"{source}: '{key}' must be a non-empty list.")
        for v in [*self.victims, *self.surrogates]:
            check_arch(v)
        if self.transfer_margin is not None and not (isinstance(self.transfer_margin, (int, float))
                                                     and 0 <= self.transfer_margin <= 1):
            raise CamaError(f"{source}: transfer_margin must be a number in [0, 1], got {self.transfer_margin!r}.")
        if not all(isinstance(s, int) and not isinstance(s, bool) for s in self.seeds):
            raise CamaError(f"{source}: seeds must be integers, got {self.seeds}.")
        self.budgets = [b.value for b in parse_budgets(self.budgets, self.budget_kind)]  # validated, sorted
        for spec in self.attacks:
            if spec.attack not in ATTACKS and ":" not in spec.attack:
                raise CamaError(f"{source}: attack '{spec.label}' names unknown attack '{spec.attack}'; "
                                f"choose from {', '.join(ATTACKS)} (or path/to/file.py:ClassName).")
            spec.build(self.importance)  # unknown parameters, a missing attack file → one clear error
        if self.max_graphs is not None and (not isinstance(self.max_graphs, int) or self.max_graphs < 1):
            raise CamaError(f"{source}: max_graphs must be a positive integer (or 0 for all), got {self.max_graphs!r}.")
        if not isinstance(self.max_graphs_by, dict) or not all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in self.max_graphs_by.values()):
            raise CamaError(f"{source}: max_graphs_by must be a table of non-negative integers per dataset, "
                            f"e.g. {{REDDIT-BINARY = 50}}; got {self.max_graphs_by!r}.")

    def kappa(self) -> float:
        from .evaluate import DEFAULT_TRANSFER_MARGIN

        return DEFAULT_TRANSFER_MARGIN if self.transfer_margin is None else float(self.transfer_margin)

    def budget_list(self):
        from .budget import Budget

        return [Budget(self.budget_kind, b) for b in self.budgets]


def parse_attack_table(table, source: str = "config") -> list[AttackSpec]:
    """``{label: {attack?, max_graphs?, **params}}`` (TOML ``[attacks.<label>]``) → specs."""
    if not isinstance(table, dict):
        raise CamaError(f"{source}: 'attacks' must be a table of [attacks.<name>] sections.")
    specs = []
    for label, body in table.items():
        if not isinstance(body, dict):
            raise CamaError(f"{source}: [attacks.{label}] must be a table.")
        body = dict(body)
        name = body.pop("attack", label)
        mg = body.pop("max_graphs", None)
        by = {}
        if isinstance(mg, dict):  # per dataset, e.g. {DD = 20}; "*" for every other dataset
            by = dict(mg)
            mg = by.pop("*", None)
        for value in [mg, *by.values()]:
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise CamaError(f"{source}: [attacks.{label}] max_graphs must be a non-negative integer "
                                "or a table of them per dataset (e.g. {DD = 20}).")
        specs.append(AttackSpec(label, name, tuple(sorted(body.items())), mg or None,
                                tuple(sorted((k, v) for k, v in by.items()))))
    return specs


def specs_from_names(names: Iterable[str], params: dict) -> list[AttackSpec]:
    """Specs for ``-a`` names with ``-p`` parameters, each attack taking the ones it knows."""
    from attacks import make_attacks, params_for

    names = list(names)
    make_attacks(names, params)  # validates names and stray parameters
    return [AttackSpec(n, n, tuple(sorted(params_for(n, params).items()))) for n in names]


def bench_config(config_path: str | Path | None = None, *, datasets: list[str] | None = None,
                 victims: list[str] | None = None, seeds: list[int] | None = None, attacks: list[str] | None = None,
                 params: dict | None = None, exclude: list[str] | None = None, budgets: str | None = None,
                 budget_kind: str | None = None, importance: str | None = None, max_graphs: int | None = None,
                 runs: str | None = None) -> BenchConfig:
    """The grid of ``cama bench``: the TOML at ``config_path`` (else the defaults), then every given
    flag over it. ``attacks`` (names, or ``["all"]``) with ``params`` replace the config's
    attacks; ``exclude`` drops attack labels; ``max_graphs = 0`` means every graph."""
    from .budget import parse_budgets

    cfg = BenchConfig.from_toml(config_path) if config_path else BenchConfig()
    flags: dict = {"datasets": datasets, "victims": victims, "seeds": seeds, "budget_kind": budget_kind,
                   "importance": importance, "runs": runs}
    if budgets:
        flags["budgets"] = [b.value for b in parse_budgets(budgets, budget_kind or cfg.budget_kind)]
    if attacks:
        from attacks import ATTACKS

        flags["attacks"] = specs_from_names(list(ATTACKS) if attacks == ["all"] else attacks, params or {})
    elif params:
        raise CamaError("-p/--param applies to the attacks named with -a; in a config, put parameters "
                        "under [attacks.<name>].")
    if exclude:
        specs = flags.get("attacks") or cfg.attacks
        unknown = sorted(set(exclude) - {s.label for s in specs})
        if unknown:
            raise CamaError(f"--exclude {', '.join(unknown)}: not in the grid; its attacks are "
                            f"{', '.join(s.label for s in specs)}.")
        flags["attacks"] = [s for s in specs if s.label not in exclude]
    cfg = cfg.with_overrides(**flags)
    if max_graphs is not None:
        if max_graphs < 0:
            raise CamaError("--max-graphs must be ≥ 0 (0 = every correct test graph).")
        cfg.max_graphs = max_graphs or None
    return cfg


@dataclass(frozen=True)
class Cell:
    dataset: str
    victim: str
    seed: int
    spec: AttackSpec
    surrogate: str | None = None  #: transfer mode: the surrogate's architecture (same seed)

    @property
    def name(self) -> str:
        sur = f"←{self.surrogate}" if self.surrogate else ""
        return f"{self.dataset}/{self.victim}{sur}/s{self.seed}/{self.spec.label}"


def make_cells(cfg: BenchConfig) -> list[Cell]:
    """The grid's cells; with ``surrogates``, one per surrogate (white-box where it is the victim's
    own architecture)."""
    from .data import canonical_name

    surrogates = cfg.surrogates or [None]
    return [Cell(canonical_name(d), v, s, spec, None if sur == v else sur) for d in cfg.datasets
            for v in cfg.victims for s in cfg.seeds for sur in surrogates for spec in cfg.attacks]


def cell_max_graphs(cell: Cell, cfg: BenchConfig) -> int | None:
    """The cell's sample size (None = all): the attack's value for the dataset, else the attack's,
    else the grid's for the dataset (``max_graphs_by``), else the grid's."""
    by = dict(cell.spec.max_graphs_by)
    if cell.dataset in by:
        return by[cell.dataset] or None
    if cell.spec.max_graphs is not None:
        return cell.spec.max_graphs
    if cell.dataset in cfg.max_graphs_by:
        return cfg.max_graphs_by[cell.dataset] or None
    return cfg.max_graphs


def expected_run_ids(cell: Cell, cfg: BenchConfig) -> list[str]:
    """The run ids of the records a cell produces (:func:`cama.records.run_config`, as in ``evaluate_attack``)."""
    atk = cell.spec.build(cfg.importance)
    params = atk.describe_params() | ({"transfer_margin": cfg.kappa()} if cell.surrogate else {})
    return [run_id(run_config(cell.dataset, cell.victim, cell.seed, atk.name, params, b, cell.seed,
                              cell.surrogate, cell_max_graphs(cell, cfg)))
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
                          surrogate=surrogate.model if cell.surrogate else None, surrogate_name=cell.surrogate)
    for rec in out.records:
        if cell.spec.label != cell.spec.attack:
            rec["label"] = cell.spec.label
    return out.records


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
        if executor == "local":
            results = _run_local(pending, cfg, data_root, cache_dir, device, trained)
        else:
            from .bench_ray import run_ray

            results = run_ray(pending, cfg, ray_address, data_root, cache_dir, device, trained)
        for cell, records in results:
            for rec in records:
                write_record(runs, rec)
                written += 1
            advance(cell=cell.name)
    return BenchSummary(len(cells), n_done, len(pending), written, time.perf_counter() - t0, runs, n_na,
                        len(trained), sum(trained))


def _run_local(pending: list[Cell], cfg: BenchConfig, data_root, cache_dir, device, trained: list[float]
               ) -> Iterator[tuple[Cell, list[dict]]]:
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
                fresh = not locate_victim(ds, arch, cell.seed, cache_dir=cache_dir)[0].is_file()
                victims[arch, cell.seed] = get_victim(ds, arch, cell.seed, device=device, cache_dir=cache_dir,
                                                      progress=False)
                if fresh:
                    trained.append(victims[arch, cell.seed].train_seconds)
        yield cell, run_cell(cell, cfg, ds, victims[cell.victim, cell.seed], victims.get((cell.surrogate, cell.seed)))


def describe(cfg: BenchConfig) -> str:
    def sample(s: AttackSpec) -> str:
        parts = ([f"sample {s.max_graphs}"] if s.max_graphs else []) + [f"{d} sample {n}" for d, n in s.max_graphs_by]
        return f" ({', '.join(parts)})" if parts else ""

    attacks = ", ".join(s.label + sample(s) for s in cfg.attacks)
    if cfg.max_graphs_by:
        attacks += "; otherwise " + ", ".join(f"{d} sample {n}" for d, n in cfg.max_graphs_by.items())
    transfer = (f" × surrogates {', '.join(cfg.surrogates)} (transfer, κ = {cfg.kappa():g}; own architecture = "
                "white-box)") if cfg.surrogates else ""
    return (f"datasets {', '.join(cfg.datasets)} × victims {', '.join(cfg.victims)} × seeds "
            f"{', '.join(map(str, cfg.seeds))} × attacks [{attacks}] × budgets "
            f"{', '.join(f'{b:g}' for b in cfg.budgets)} ({cfg.budget_kind}){transfer}")


__all__ = ["AttackSpec", "BenchConfig", "BenchSummary", "Cell", "make_cells", "plan_cells", "run_bench"]
