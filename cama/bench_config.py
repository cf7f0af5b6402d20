"""The configuration of a ``cama bench`` grid: attack specs, the TOML format, flags over it.

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
    sample_from = "correct"                  # a sample of correct test graphs, or "test": of test graphs

    [attacks.cama]                           # table name = label in the leaderboard
    [attacks.prbcd]
    max_graphs = 50                          # seeded sample for an expensive baseline
    [attacks.grbcd]
    max_graphs = {DD = 20}                   # a sample on one dataset only ({DD = 10, "*" = 30}: others 30;
                                             # "DD/gat" = 10: one dataset × victim)
    [attacks.cama-node-1pass]
    attack = "cama-node"                     # registry name when the label differs
    rounds = 0                               # other keys are attack parameters
    rerank = 0

Protocol v2 grids add ``protocol = "cv10"``: each victim is the selected model of one fold of
stratified 10-fold cross-validation (:mod:`cama.cv`), ``folds = [0, …, 9]`` (the default; ``folds``
is the name of ``seeds`` there) and every correctly classified test graph of every fold is
attacked once; ``max_graphs`` is then a seeded sample *per fold* (stratified over folds).

``sample_from = "test"`` draws a sample of ``max_graphs`` *test graphs* (seeded by the victim's
seed or fold, so the same for every victim of a split) and attacks the ones the victim classifies
correctly: two victims of a split are then compared on the same graphs (the defended grids'
paired tests). The default ``"correct"`` samples ``max_graphs`` correctly classified test graphs.

Transfer grids add ``surrogates = ["gcn", "gin", ...]``: every cell then runs once per surrogate
architecture (the zoo/cache victim of that architecture and seed, so the same split), in
transfer mode with ``transfer_margin`` (κ; default ``cama.evaluate.DEFAULT_TRANSFER_MARGIN``);
where the surrogate is the victim's own architecture the cell is white-box (the matrix diagonal).

Constrained grids add ``constraints`` (:mod:`cama.constraints`): one string, or a table per
dataset, e.g. ``constraints = {MUTAG = "valence,connected", "*" = "degree,connected"}``; their
records carry ``params.constraints`` (so their run ids differ from the unconstrained grid's).
"""
from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from .errors import CamaError
from .records import SAMPLE_FROM

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


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
    #: domain constraints (cama.constraints): one string for every dataset, or a table per dataset
    #: with "*" for the rest, e.g. {MUTAG = "valence,connected", "*" = "degree,connected"}
    constraints: str | dict[str, str] = ""
    #: where victims come from (cama.cv.PROTOCOLS): "seeds" (v1) or "cv10" (v2; seeds are folds)
    protocol: str = "seeds"
    #: what a max_graphs sample is drawn from: "correct" test graphs, or "test" graphs (same for every victim)
    sample_from: str = "correct"

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
        allowed = {f.name for f in fields(cls)} | {"folds"}
        unknown = sorted(set(raw) - allowed)
        if unknown:
            raise CamaError(f"{source}: unknown key(s) {unknown}; allowed: {sorted(allowed)}.")
        kw = {k: v for k, v in raw.items() if k not in ("attacks", "folds")}
        if "folds" in raw:
            if "seeds" in raw:
                raise CamaError(f"{source}: give folds (protocol cv10) or seeds (protocol seeds), not both.")
            if raw.get("protocol", "seeds") == "seeds":
                raise CamaError(f"{source}: folds need protocol = \"cv10\"; seeded victims take seeds = [...].")
            kw["seeds"] = raw["folds"]
        elif raw.get("protocol") == "cv10" and "seeds" not in raw:
            kw["seeds"] = list(range(10))
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
        from .cv import cv_protocol

        cv = cv_protocol(self.protocol)  # unknown protocol → one clear error
        if cv is not None and not all(0 <= s < cv.folds for s in self.seeds):
            raise CamaError(f"{source}: folds of {self.protocol} are 0..{cv.folds - 1}, got {self.seeds}.")
        self.budgets = [b.value for b in parse_budgets(self.budgets, self.budget_kind)]  # validated, sorted
        for spec in self.attacks:
            if spec.attack not in ATTACKS and ":" not in spec.attack:
                raise CamaError(f"{source}: attack '{spec.label}' names unknown attack '{spec.attack}'; "
                                f"choose from {', '.join(ATTACKS)} (or path/to/file.py:ClassName).")
            spec.build(self.importance)  # unknown parameters, a missing attack file → one clear error
        if not isinstance(self.constraints, (str, dict)):
            raise CamaError(f"{source}: constraints must be a string or a table per dataset, e.g. "
                            f'{{MUTAG = "valence,connected", "*" = "degree,connected"}}; got {self.constraints!r}.')
        for d in ([self.constraints] if isinstance(self.constraints, str) else self.constraints.values()):
            from .constraints import parse_constraints

            parse_constraints(d)  # unknown names → one clear error
        if self.max_graphs is not None and (not isinstance(self.max_graphs, int) or self.max_graphs < 1):
            raise CamaError(f"{source}: max_graphs must be a positive integer (or 0 for all), got {self.max_graphs!r}.")
        if self.sample_from not in SAMPLE_FROM:
            raise CamaError(f"{source}: sample_from must be one of {', '.join(SAMPLE_FROM)}, got {self.sample_from!r}.")
        if not isinstance(self.max_graphs_by, dict) or not all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in self.max_graphs_by.values()):
            raise CamaError(f"{source}: max_graphs_by must be a table of non-negative integers per dataset, "
                            f"e.g. {{REDDIT-BINARY = 50}}; got {self.max_graphs_by!r}.")

    def constraints_for(self, dataset: str) -> tuple[str, ...]:
        from .constraints import parse_constraints

        spec = self.constraints
        if isinstance(spec, dict):
            spec = spec.get(dataset, spec.get("*", ""))
        return parse_constraints(spec)

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
                 runs: str | None = None, constraints: str | None = None, protocol: str | None = None) -> BenchConfig:
    """The grid of ``cama bench``: the TOML at ``config_path`` (else the defaults), then every given
    flag over it. ``attacks`` (names, or ``["all"]``) replace the config's attacks: a name that
    labels one of the config's ``[attacks.*]`` tables keeps that table (its parameters and
    samples, so ``-a grbcd`` reruns the leaderboard's GRBCD column, run ids included), any other
    name runs at its registry defaults; with ``params`` every named attack takes those
    parameters instead; ``exclude`` drops attack labels; ``max_graphs = 0`` means every graph;
    ``constraints = "none"`` runs the grid unconstrained; ``protocol = "cv10"`` over a seeded grid
    takes every fold unless ``seeds`` (the folds) are given."""
    from .budget import parse_budgets

    cfg = BenchConfig.from_toml(config_path) if config_path else BenchConfig()
    flags: dict = {"datasets": datasets, "victims": victims, "seeds": seeds, "budget_kind": budget_kind,
                   "importance": importance, "runs": runs, "protocol": protocol}
    if protocol == "cv10" and cfg.protocol != "cv10" and seeds is None:
        flags["seeds"] = list(range(10))
    if constraints is not None:
        flags["constraints"] = "" if constraints == "none" else constraints
    if budgets:
        flags["budgets"] = [b.value for b in parse_budgets(budgets, budget_kind or cfg.budget_kind)]
    if attacks:
        from attacks import ATTACKS

        names = list(ATTACKS) if attacks == ["all"] else attacks
        table = {} if params else {spec.label: spec for spec in cfg.attacks}  # the config's own columns
        fresh = {spec.label: spec for spec in specs_from_names([n for n in names if n not in table], params or {})}
        flags["attacks"] = [table.get(n) or fresh[n] for n in names]
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


def describe(cfg: BenchConfig) -> str:
    def sample(s: AttackSpec) -> str:
        parts = ([f"sample {s.max_graphs}"] if s.max_graphs else []) + [f"{d} sample {n}" for d, n in s.max_graphs_by]
        return f" ({', '.join(parts)})" if parts else ""

    attacks = ", ".join(s.label + sample(s) for s in cfg.attacks)
    unit = "test graphs" if cfg.sample_from == "test" else "correct test graphs"
    grid_wide = ([f"sample {cfg.max_graphs} {unit}"] if cfg.max_graphs else []) + [
        f"{d} {f'sample {n}' if n else 'every graph'}" for d, n in cfg.max_graphs_by.items()]
    if grid_wide:
        attacks += "; otherwise " + ", ".join(grid_wide)
    transfer = (f" × surrogates {', '.join(cfg.surrogates)} (transfer, κ = {cfg.kappa():g}; own architecture = "
                "white-box)") if cfg.surrogates else ""
    per = {d: ",".join(cfg.constraints_for(d)) or "none" for d in cfg.datasets}
    constrained = (" under constraints " + "; ".join(f"{d} {c}" for d, c in per.items())) \
        if any(v != "none" for v in per.values()) else ""
    replicates = "seeds" if cfg.protocol == "seeds" else f"{cfg.protocol} folds"
    return (f"datasets {', '.join(cfg.datasets)} × victims {', '.join(cfg.victims)} × {replicates} "
            f"{', '.join(map(str, cfg.seeds))} × attacks [{attacks}] × budgets "
            f"{', '.join(f'{b:g}' for b in cfg.budgets)} ({cfg.budget_kind}){transfer}{constrained}")
