"""The ``cama`` command line: a thin layer over the Python API."""
from __future__ import annotations

import json
import os
import shlex
import sys
import warnings

import click

from .errors import CamaError

warnings.filterwarnings("ignore", message=".*contrib.*experimental.*")


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _command_line() -> str:
    return "cama " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _print_table(rows: list[dict], columns: list[str], title: str | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for c in columns:
        table.add_column(c, justify="left" if c in ("dataset", "victim", "attack", "kind") else "right")
    for r in rows:
        table.add_row(*[(f"{r[c]:.3f}" if isinstance(r[c], float) else str(r[c])) for c in columns])
    Console(width=max(Console().width, 150)).print(table)


data_root_opt = click.option("--data-root", type=click.Path(file_okay=False), default=None,
                             help="Folder holding <NAME>/raw/ TU files (default: $CAMA_DATA, else the user cache; "
                                  "PyG downloads there when online).")
cache_opt = click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
                         help="Victim checkpoint cache (default: $CAMA_CACHE/victims or ~/.cache/cama/victims).")
device_opt = click.option("--device", default="auto", show_default=True, help="auto (CUDA if present), cpu, cuda:0 …")


class CamaGroup(click.Group):
    """Turns a :class:`CamaError` into one message on stderr and exit status 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CamaError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(2)


@click.group(cls=CamaGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cama")
def cli():
    """cama: Graph-CAM adversarial attacks and a robustness benchmark for GNN graph classifiers.

    \b
    Examples:
      cama datasets --data-root ../shared/data/TU
      cama train -d MUTAG,PROTEINS -m all --seed 0,1,2
      cama attack -d PROTEINS -m gin -a cama-node -b 0.05,0.1,0.2 --seed 0
      cama explain -d MUTAG -m gcn --graph 7 --method gradcam --out fig.png
      cama evaluate --model examples/custom_model.py:build_model -d MUTAG --name my-gnn
    """


@cli.command()
@data_root_opt
def datasets(data_root):
    """List known and locally available datasets with their statistics.

    \b
    Example:
      cama datasets --data-root ../shared/data/TU
    """
    from .data import DEFAULT_NODE_ATTR, KNOWN_TU, load_dataset, local_datasets
    from .paths import data_root as resolve_root
    from .tu_stats import raw_stats

    rows = [load_dataset("synthetic-motifs").stats() | {"local": "embedded"}]
    local = local_datasets(data_root)
    for name in local:  # counts from the raw files (cached); no feature matrix is built
        try:
            rows.append(raw_stats(resolve_root(data_root), name, name in DEFAULT_NODE_ATTR) | {"local": "yes"})
        except (OSError, ValueError) as exc:
            click.echo(f"skipping {name}: unreadable raw files ({type(exc).__name__}: {str(exc)[:120]})", err=True)
    _print_table(rows, ["dataset", "graphs", "classes", "avg_nodes", "avg_edges", "features", "feature_kind", "local"],
                 title=f"Datasets (data root: {resolve_root(data_root)})")
    others = [n for n in KNOWN_TU if n not in local]
    click.echo("Also loadable by name when online (PyG download): " + ", ".join(others))


@cli.command("attacks")
def list_attacks():
    """List every registered attack: threat model (knowledge, targets) and parameters with defaults.

    \b
    Example:
      cama attacks
      cama attack -d MUTAG -a cama-node -p anchors=16 -p rerank=0
    """
    from attacks import ATTACKS

    rows = []
    for name, cls in ATTACKS.items():
        params = dict(cls.defaults)
        if cls.has_rounds():
            params |= {"rounds": cls.default_rounds, "adaptive_every": 0}
        rows.append({"attack": name, "knowledge": cls.knowledge, "targets": "+".join(sorted(cls.targets)),
                     "edge weights": "yes" if cls.needs_edge_weight else "",
                     "parameters (-p key=value)": ", ".join(f"{k}={v}" for k, v in params.items()) or "–"})
    _print_table(rows, list(rows[0]), title="Attacks (knowledge: gradients ⊃ queries ⊃ none)")


def _train_config(epochs, hidden, layers, lr, batch_size):
    from victims.train import TrainConfig

    kw = {k: v for k, v in dict(epochs=epochs, hidden=hidden, num_layers=layers, lr=lr, batch_size=batch_size).items()
          if v is not None}
    return TrainConfig(**kw)


train_opts = [
    click.option("--epochs", type=int, default=None, help="Maximum epochs (default 150, early stopping patience 40)."),
    click.option("--hidden", type=int, default=None, help="Hidden size (default 64)."),
    click.option("--layers", type=int, default=None, help="Message-passing layers (default 3)."),
    click.option("--lr", type=float, default=None, help="Adam learning rate (default 0.01)."),
    click.option("--batch-size", type=int, default=None, help="Graphs per mini-batch (default 64)."),
]


def _with(opts):
    def deco(f):
        for o in reversed(opts):
            f = o(f)
        return f
    return deco


def _archs(text: str) -> list[str]:
    from victims import ARCHITECTURES
    from victims.store import check_arch

    return list(ARCHITECTURES) if text == "all" else [check_arch(a) for a in _split(text)]


def _seeds(text: str) -> list[int]:
    try:
        return [int(s) for s in _split(str(text))]
    except ValueError:
        raise CamaError(f"Seeds must be integers like 0 or 0,1,2, got {text!r}.") from None


@cli.command()
@click.option("-d", "--dataset", "datasets_", default="synthetic-motifs", show_default=True,
              help="Dataset name(s), comma-separated (any TU name, or synthetic-motifs).")
@click.option("-m", "--model", "models", default="gin", show_default=True,
              help="Architecture(s): gcn, gin, graphsage, gat, comma-separated, or all.")
@click.option("--seed", "seeds", default="0", show_default=True, help="Seed(s), comma-separated: split + init + order.")
@_with(train_opts)
@click.option("--retrain", is_flag=True, help="Train even if the cache holds this victim.")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Also copy the checkpoint here (single run).")
@click.option("--table", type=click.Path(file_okay=False), default=None,
              help="Write victims.md / victims.csv (clean accuracy mean ± std over seeds) into this folder.")
@data_root_opt
@cache_opt
@device_opt
def train(datasets_, models, seeds, epochs, hidden, layers, lr, batch_size, retrain, out, table, data_root, cache_dir,
          device):
    """Train victims (cached) and print their val/test accuracy and checkpoint path.

    \b
    Examples:
      cama train -d PROTEINS -m gin --seed 0
      cama train -d MUTAG,PROTEINS,NCI1,IMDB-BINARY,DD,ENZYMES -m all --seed 0,1,2 --table results/
    """
    from victims.store import get_victim, save_victim

    from .data import load_dataset

    cfg = _train_config(epochs, hidden, layers, lr, batch_size)
    archs, seed_list = _archs(models), _seeds(seeds)
    names = _split(datasets_)
    if out and len(names) * len(archs) * len(seed_list) != 1:
        raise CamaError("--out copies a single checkpoint; train one dataset × model × seed, or drop --out.")
    rows = []
    for name in names:
        ds = load_dataset(name, root=data_root)
        for arch in archs:
            for seed in seed_list:
                v = get_victim(ds, arch, seed, cfg, device=device, cache_dir=cache_dir, retrain=retrain)
                if out:
                    save_victim(v, out)
                rows.append({"dataset": ds.name, "victim": arch, "seed": seed, "val_acc": v.val_acc,
                             "test_acc": v.test_acc, "epochs": v.epochs, "checkpoint": str(v.path)})
                click.echo(f"{ds.name:>14} {arch:>9} seed {seed}: val {v.val_acc:.3f}  test {v.test_acc:.3f}  "
                           f"{v.source} {v.path}")
    if table:
        from .tables import write_victims_table
        csv, md = write_victims_table(rows, table, _command_line())
        click.echo(f"wrote {csv} and {md}")


def _parse_params(items: tuple[str, ...]) -> dict:
    params = {}
    for item in items:
        if "=" not in item:
            raise CamaError(f"--param expects key=value, got {item!r}.")
        k, v = item.split("=", 1)
        params[k.strip()] = v.strip()
    return params


@cli.command()
@click.option("-d", "--dataset", default="synthetic-motifs", show_default=True, help="Dataset name.")
@click.option("-m", "--model", default="gcn", show_default=True, help="Victim architecture.")
@click.option("-a", "--attack", "attack_names", default="cama-node,cama-subgraph,random,degree,gradargmax",
              show_default=True, help="Attack name(s), comma-separated, or all.")
@click.option("-b", "--budget", "budgets", default="0.05,0.1,0.2", show_default=True,
              help="Budgets, comma-separated (ratios of |E_g| flips / |V_g| feature nodes, or counts).")
@click.option("--budget-kind", type=click.Choice(["ratio", "count"]), default="ratio", show_default=True)
@click.option("--seed", default=0, show_default=True, type=int, help="Victim seed (split, training) and attack seed.")
@click.option("--surrogate", default=None,
              help="Transfer mode: attack this surrogate (an architecture, trained on the victim's split, or a "
                   "checkpoint from `cama train`) and score the adversarial graphs on the victim, which the "
                   "attack never queries.")
@click.option("--transfer-margin", default=None, type=click.FloatRange(0, 1),
              help="Transfer mode: stop spending a graph's budget once the surrogate's probability margin is "
                   "below −κ (default 1.0 = never stop early; see README).")
@click.option("--importance", default="gradcam", show_default=True,
              type=click.Choice(["cam", "gradcam", "gradcam-avg"]), help="Node importance for CAMA attacks.")
@click.option("--adaptive-every", default=0, type=int, help="Re-score importance every k flips (0 = off).")
@click.option("-p", "--param", "params", multiple=True, help="Attack parameter key=value (repeatable).")
@click.option("--max-graphs", type=int, default=None, help="Attack a seeded sample of at most N correct graphs.")
@click.option("--save-adversarial", type=click.Path(dir_okay=False), default=None,
              help="Write the adversarial graphs (all budgets) to this file (see cama.adversarial).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="runs", show_default=True,
              help="Folder for JSON run records.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@data_root_opt
@cache_opt
@device_opt
def attack(dataset, model, attack_names, budgets, budget_kind, seed, surrogate, transfer_margin, importance,
           adaptive_every, params, max_graphs, save_adversarial, out_dir, fmt, data_root, cache_dir, device):
    """Attack a (cached or freshly trained) victim and print ASR per budget.

    \b
    Examples:
      cama attack -d PROTEINS -m gin -a cama-node -b 0.05,0.1,0.2 --seed 0
      cama attack -d MUTAG -m gcn -a cama,grbcd --surrogate gin --format json
      cama attack -d IMDB-BINARY -m gin -a cama-node -p rerank=16 --adaptive-every 2
    """
    from attacks import ATTACKS, make_attacks
    from victims.store import check_arch, get_surrogate, get_victim

    from .budget import parse_budgets
    from .data import load_dataset
    from .evaluate import DEFAULT_TRANSFER_MARGIN, evaluate_attack
    from .records import write_record

    check_arch(model)
    if transfer_margin is not None and not surrogate:
        raise CamaError("--transfer-margin only applies in transfer mode; add --surrogate ARCH.")
    names = list(ATTACKS) if attack_names == "all" else _split(attack_names)
    atks = make_attacks(names, _parse_params(params), importance=importance, adaptive_every=adaptive_every)
    budget_list = parse_budgets(budgets, budget_kind)
    ds = load_dataset(dataset, root=data_root)
    blocked = {a.name: a.inapplicable(ds.featurizer) for a in atks if a.inapplicable(ds.featurizer)}
    if blocked:  # fail before training a victim
        raise CamaError(f"{', '.join(blocked)} cannot run on {ds.name}: {next(iter(blocked.values()))}")
    victim = get_victim(ds, model, seed, device=device, cache_dir=cache_dir)
    if fmt != "json":
        click.echo(f"victim {ds.name}/{model}/s{seed}: {victim.source} {victim.path}", err=True)
    sur, sur_name = None, surrogate
    if surrogate:
        sur_victim = get_surrogate(ds, surrogate, seed, device=device, cache_dir=cache_dir)
        sur = sur_victim.model
        if surrogate != sur_victim.arch:  # a checkpoint file: records name its architecture and file
            sur_name = f"{sur_victim.arch}:{os.path.basename(surrogate)}"
    rows, adversarial = [], {}
    for atk in atks:
        outcome = evaluate_attack(victim.model, ds, victim.split["test"], atk, budget_list, victim_name=model,
                                  victim_seed=seed, seed=seed, surrogate=sur, surrogate_name=sur_name,
                                  max_graphs=max_graphs, keep_adversarial=bool(save_adversarial),
                                  progress=fmt == "table", transfer_margin=(
                                      DEFAULT_TRANSFER_MARGIN if transfer_margin is None else transfer_margin))
        for rec in outcome.records:
            write_record(out_dir, rec)
            rows.append(rec)
            if fmt == "json":
                click.echo(json.dumps(rec, sort_keys=True))
        for b, graphs in outcome.adversarial.items():
            adversarial[f"{atk.name}@{b}"] = graphs
    if save_adversarial:
        from .adversarial import save_adversarial as save
        save(save_adversarial, adversarial, {"dataset": ds.name, "victim": model, "seed": seed})
        click.echo(f"adversarial graphs written to {save_adversarial}", err=True)
    if fmt == "table":
        title = (f"{ds.name} / {model} (seed {seed}, clean acc {victim.test_acc:.3f}"
                 f"{', surrogate ' + surrogate if surrogate else ''}): attack success rate per budget")
        print_attack_table(rows, title)
        click.echo(f"{len(rows)} run records in {out_dir}/", err=True)


def print_attack_table(records: list[dict], title: str) -> None:
    """One row per attack: ASR per budget, edits used and cost at the largest budget."""
    budgets = sorted({r["budget"] for r in records})
    kind = records[0]["budget_kind"] if records else "ratio"
    rows = []
    for name in dict.fromkeys(r["attack"] for r in records):
        mine = {r["budget"]: r for r in records if r["attack"] == name}
        last = mine[max(mine)]
        row = {"attack": name, "attacked": last["n_attacked"]}
        row |= {f"ASR@{b:g}": mine[b]["asr"] if b in mine else float("nan") for b in budgets}
        row |= {"flips": last["mean_edge_flips"], "feat nodes": last["mean_feature_edits"],
                "s/graph": last["seconds_per_graph"], "queries/graph": last["queries_per_graph"]}
        rows.append(row)
    cols = list(rows[0]) if rows else []
    _print_table(rows, cols, title=title + ("" if kind == "ratio" else " (budget = edit count)"))


@cli.command()
@click.option("--model", "model_spec", required=True, help="path/to/file.py:factory; factory(num_features, num_classes).")
@click.option("--checkpoint", type=click.Path(dir_okay=False), default=None,
              help="State dict to load (weights_only=True); without it the model is trained with the standard trainer.")
@click.option("-d", "--dataset", default="MUTAG", show_default=True)
@click.option("-a", "--attack", "attack_names", default="all", show_default=True, help="Attacks, comma-separated, or all.")
@click.option("-b", "--budget", "budgets", default="0.05,0.1,0.2", show_default=True)
@click.option("--budget-kind", type=click.Choice(["ratio", "count"]), default="ratio", show_default=True)
@click.option("--name", default=None, help="Victim name in records and the leaderboard (default: the factory name).")
@click.option("--seed", default=0, type=int, show_default=True, help="Split, training and attack seed.")
@click.option("--cam-layer", default=None, help="Module name whose output are node embeddings (default: last MessagePassing).")
@click.option("--max-graphs", type=int, default=None, help="Attack a seeded sample of at most N graphs.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="runs", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table", show_default=True)
@click.option("--allow-unfaithful", is_flag=True,
              help="Run gradient attacks even when the model fails the edge-weight checks (README \"Edge weights\").")
@data_root_opt
@device_opt
def evaluate(model_spec, checkpoint, dataset, attack_names, budgets, budget_kind, name, seed, cam_layer, max_graphs,
             out_dir, fmt, allow_unfaithful, data_root, device):
    """Robustness report for your own GNN: clean accuracy, accuracy and ASR under every applicable attack.

    \b
    Example:
      cama evaluate --model examples/custom_model.py:build_model -d MUTAG -a cama-node,random --name my-gnn
    """
    from victims.train import TrainConfig, train_model

    from .data import load_dataset
    from .device import resolve_device
    from .records import write_record
    from .robustness import check_model_output, evaluate_robustness
    from .splits import stratified_split
    from .user_model import build_user_model, load_factory, load_user_weights

    factory = load_factory(model_spec)
    ds = load_dataset(dataset, root=data_root)
    dev = resolve_device(device)
    model = build_user_model(factory, ds.num_features, ds.num_classes).to(dev)
    split = stratified_split(ds.y, seed=seed)
    if checkpoint:
        load_user_weights(model, checkpoint)
        model.to(dev)
        check_model_output(model.eval(), ds, dev)
    else:
        check_model_output(model.eval(), ds, dev)
        stats = train_model(model, ds, split, TrainConfig(), seed, dev, progress=fmt == "table",
                            desc=f"train {model_spec}")
        click.echo(f"trained: val {stats['val_acc']:.3f}, test {stats['test_acc']:.3f}", err=True)
    names = attack_names if attack_names == "all" else _split(attack_names)
    report = evaluate_robustness(model, ds, attacks=names, budgets=_split(budgets), budget_kind=budget_kind,
                                 device=str(dev), seed=seed, split=split, name=name or factory.__name__,
                                 cam_layer=cam_layer, max_graphs=max_graphs, allow_unfaithful=allow_unfaithful)
    for rec in report.records:
        write_record(out_dir, rec)
        if fmt == "json":
            click.echo(json.dumps(rec, sort_keys=True))
    if fmt == "markdown":
        click.echo(report.to_markdown())
    elif fmt == "table":
        if report.records:
            print_attack_table(report.records, f"{report.name} on {ds.name}: clean acc {report.clean_acc:.3f}")
        else:
            click.echo(f"{report.name} on {ds.name}: clean acc {report.clean_acc:.3f}; no attack applicable")
        for k, v in report.skipped.items():
            click.echo(f"skipped {k}: {v}")


@cli.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="TOML grid (format above); flags override its values.")
@click.option("-d", "--dataset", "datasets_", default=None, help="Datasets, comma-separated [config, else MUTAG].")
@click.option("-m", "--model", "victims_", default=None, help="Victim architectures, comma-separated, or all [gcn].")
@click.option("--seeds", default=None, help="Victim seeds, comma-separated [0].")
@click.option("-a", "--attack", "attack_names", default=None,
              help="Attacks, comma-separated, or all; replaces the config's [attacks] [all].")
@click.option("-p", "--param", "params", multiple=True, help="Attack parameter key=value for -a attacks (repeatable).")
@click.option("-x", "--exclude", default=None, help="Drop these attack labels from the grid (e.g. -x prbcd,genetic).")
@click.option("-b", "--budget", "budgets", default=None, help="Budgets, comma-separated [0.05,0.1,0.2].")
@click.option("--budget-kind", type=click.Choice(["ratio", "count"]), default=None, help="[ratio]")
@click.option("--importance", type=click.Choice(["cam", "gradcam", "gradcam-avg"]), default=None, help="[gradcam]")
@click.option("--max-graphs", type=int, default=None,
              help="Attack a seeded sample of at most N correct test graphs per cell (0 = all) [all].")
@click.option("--runs", default=None, type=click.Path(file_okay=False),
              help="Folder for the JSON records [config, else results/runs/bench].")
@click.option("--force", is_flag=True, help="Recompute cells whose records exist.")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True)
@click.option("--ray-address", default=None, help="Ray cluster address (ray://head:10001 or auto); default: a local Ray instance.")
@click.option("--dry-run", is_flag=True, help="Print every cell as done, pending or n/a (its attack cannot apply to the dataset); run nothing.")
@click.option("--leaderboard", "leaderboard_out", default=None, type=click.Path(file_okay=False),
              help="Afterwards aggregate the records into this folder (as `cama leaderboard`).")
@data_root_opt
@cache_opt
@device_opt
def bench(config_path, datasets_, victims_, seeds, attack_names, params, exclude, budgets, budget_kind, importance, max_graphs,
          runs, force, executor, ray_address, dry_run, leaderboard_out, data_root, cache_dir, device):
    """Run a grid: datasets × victims × seeds × attacks × budgets, one JSON record per budget.

    Each cell (dataset, victim, seed, attack) reuses the cached victim (training it when
    missing) and attacks once for all budgets. Records are written atomically once their cell
    is done; a rerun skips finished cells (resume), --force recomputes them.

    \b
    Examples:
      cama bench --config bench.toml                       # the public leaderboard grid
      cama bench --config bench.toml --executor ray --ray-address auto
      cama bench -d MUTAG -m gcn,gin --seeds 0,1 -a cama,random -b 0.1 --runs runs/small
      cama bench --config bench.toml -d MUTAG --dry-run   # what would run
      cama bench --config bench.toml -x prbcd,grbcd,genetic  # without the optimisation baselines

    \b
    bench.toml (every key optional):
      datasets = ["MUTAG", "PROTEINS"]
      victims = ["gcn", "gin", "graphsage", "gat"]
      seeds = [0, 1, 2]
      budgets = [0.05, 0.10, 0.20]
      runs = "results/runs/bench"
      [attacks.cama]
      [attacks.prbcd]
      max_graphs = 50                  # seeded sample for an expensive baseline
      [attacks.cama-node-1pass]
      attack = "cama-node"             # registry name when the label differs
      rounds = 0                       # other keys: attack parameters
    """
    from .bench import (
        DONE,
        NOT_APPLICABLE,
        PENDING,
        BenchConfig,
        describe,
        make_cells,
        plan_cells,
        run_bench,
        specs_from_names,
    )
    from .budget import parse_budgets

    cfg = BenchConfig.from_toml(config_path) if config_path else BenchConfig()
    flags = {"datasets": _split(datasets_) if datasets_ else None,
             "victims": _archs(victims_) if victims_ else None,
             "seeds": _seeds(seeds) if seeds else None,
             "budget_kind": budget_kind, "importance": importance, "runs": runs}
    if budgets:
        flags["budgets"] = [b.value for b in parse_budgets(budgets, budget_kind or cfg.budget_kind)]
    if attack_names:
        from attacks import ATTACKS

        names = list(ATTACKS) if attack_names == "all" else _split(attack_names)
        flags["attacks"] = specs_from_names(names, _parse_params(params))
    elif params:
        raise CamaError("-p/--param applies to the attacks named with -a; in a config, put parameters "
                        "under [attacks.<name>].")
    if exclude:
        specs = flags.get("attacks") or cfg.attacks
        unknown = sorted(set(_split(exclude)) - {s.label for s in specs})
        if unknown:
            raise CamaError(f"--exclude {', '.join(unknown)}: not in the grid; its attacks are "
                            f"{', '.join(s.label for s in specs)}.")
        flags["attacks"] = [s for s in specs if s.label not in _split(exclude)]
    if max_graphs is not None:
        if max_graphs < 0:
            raise CamaError("--max-graphs must be ≥ 0 (0 = every correct test graph).")
        flags["max_graphs"] = max_graphs or None
    cfg = cfg.with_overrides(**flags)
    if max_graphs == 0:
        cfg.max_graphs = None
    click.echo(f"grid: {describe(cfg)}", err=True)
    if dry_run:
        from collections import Counter
        from pathlib import Path

        status = plan_cells(make_cells(cfg), cfg, Path(cfg.runs), force, data_root)
        for c, st in status.items():
            click.echo(f"{st:7s} {c.name}")
        counts = Counter(status.values())
        click.echo(f"{len(status)} cells: {counts[DONE]} done, {counts[NOT_APPLICABLE]} not applicable (feature attacks "
                   f"on structure-derived features), {counts[PENDING]} pending; records in {cfg.runs}/", err=True)
        return
    try:
        summary = run_bench(cfg, force=force, executor=executor, ray_address=ray_address, data_root=data_root,
                            cache_dir=cache_dir, device=device, log=lambda m: click.echo(m, err=True))
    except KeyboardInterrupt:
        click.echo(f"Interrupted. Finished cells are saved in {cfg.runs}/; rerun the same command to resume.", err=True)
        sys.exit(130)
    trained = (f" ({summary.victims_trained} victims trained, {summary.train_seconds:.0f} s of training)"
               if summary.victims_trained else "")
    na = f", {summary.inapplicable} not applicable" if summary.inapplicable else ""
    click.echo(f"{summary.ran} cells run, {summary.skipped} skipped{na}, {summary.records_written} records written to "
               f"{summary.runs}/ in {summary.seconds:.0f} s{trained}", err=True)
    if leaderboard_out:
        from .leaderboard import write_leaderboard

        for path in write_leaderboard(cfg.runs, leaderboard_out, _command_line()):
            click.echo(f"wrote {path}")


@cli.command()
@click.option("--runs", default="results/runs", show_default=True, type=click.Path(file_okay=False),
              help="Folder of JSON run records (searched recursively).")
@click.option("--out", default="results", show_default=True, type=click.Path(file_okay=False))
@click.option("--victims-md", default="results/victims.md", show_default=True,
              help="Clean-accuracy table to include (skipped when missing).")
@click.option("--transfer-runs", default=None, type=click.Path(file_okay=False, exists=True),
              help="Records of a transfer grid (cama bench --config transfer.toml): adds the surrogate × victim "
                   "transferability matrix (tables, transfer.csv, heatmaps).")
def leaderboard(runs, out, victims_md, transfer_runs):
    """Aggregate run records into LEADERBOARD.md, leaderboard.csv/.tex/.html (one self-contained
    page: summary, plots, a sortable and filterable table of every cell) and plots/.

    \b
    Examples:
      cama leaderboard --runs results/runs --out results/
      cama leaderboard --runs results/runs/bench --transfer-runs results/runs/transfer --out results/
    """
    from .leaderboard import write_leaderboard

    for path in write_leaderboard(runs, out, _command_line(), victims_md, transfer_runs):
        click.echo(f"wrote {path}")


@cli.command()
@click.option("-d", "--dataset", default="MUTAG", show_default=True)
@click.option("-m", "--model", default="gcn", show_default=True)
@click.option("--graph", "graph_idx", default=0, type=int, show_default=True, help="Graph index in the dataset.")
@click.option("--method", default="gradcam", type=click.Choice(["cam", "gradcam", "gradcam-avg"]), show_default=True)
@click.option("--target", default="true", show_default=True, help="true, pred, or a class index.")
@click.option("--hops", default=1, show_default=True, help="Ego-net radius for the top subgraph.")
@click.option("--seed", default=0, type=int, show_default=True)
@click.option("--out", default="explain.png", show_default=True, type=click.Path(dir_okay=False))
@data_root_opt
@cache_opt
@device_opt
def explain(dataset, model, graph_idx, method, target, hops, seed, out, data_root, cache_dir, device):
    """Draw one graph coloured by Graph-CAM importance; print top nodes and the top subgraph.

    \b
    Example:
      cama explain -d MUTAG -m gcn --graph 7 --method gradcam --out fig.png
    """
    from torch_geometric.data import Batch

    from victims.store import get_victim

    from .data import load_dataset
    from .explain import draw_importance, node_names, top_nodes_table
    from .importance import node_importance
    from .subgraphs import top_subgraphs

    ds = load_dataset(dataset, root=data_root)
    if not 0 <= graph_idx < len(ds):
        raise CamaError(f"--graph {graph_idx} is out of range; {ds.name} has graphs 0..{len(ds) - 1}.")
    victim = get_victim(ds, model, seed, device=device, cache_dir=cache_dir)
    g = ds[graph_idx]
    dev = next(victim.model.parameters()).device
    batch = Batch.from_data_list([g]).to(dev)
    tgt = int(target) if target.lstrip("-").isdigit() else target
    imp = node_importance(victim.model, batch, method, target=tgt)
    labels = node_names(g, ds.node_label_names, ds.featurizer.onehot if ds.featurizer.kind == "labels" else None)
    sub = top_subgraphs(imp.scores, batch.edge_index, batch.batch, 1, k=hops, top=1)[0]
    pred = int(imp.logits.argmax(-1))
    title = f"{ds.name} graph {graph_idx} ({model}, {method}): label {int(g.y)}, pred {pred}, class {int(imp.target)}"
    draw_importance(g, imp.scores, out, labels, title, highlight=sub[0].nodes.tolist() if sub else None, seed=seed)
    click.echo(title)
    _print_table([{"node": i, "label": lab, "importance": s} for i, lab, s in top_nodes_table(imp.scores, labels)],
                 ["node", "label", "importance"], title="top nodes")
    if sub:
        click.echo(f"top {hops}-hop subgraph: nodes {sorted(sub[0].nodes.tolist())}, score {sub[0].score:.3f}")
    click.echo(f"figure written to {out}")


def main() -> None:
    from .runtime import tune_allocator

    tune_allocator()
    cli(prog_name="cama")


if __name__ == "__main__":
    main()
