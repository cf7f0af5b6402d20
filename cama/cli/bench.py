"""`cama bench` (grids) and `cama leaderboard` (their aggregation)."""
from __future__ import annotations

import sys

import click

from .common import (
    cache_opt,
    command_line,
    data_root_opt,
    device_opt,
    parse_archs,
    parse_params,
    parse_seeds,
    split_list,
)


@click.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="TOML grid (format above); flags override its values.")
@click.option("-d", "--dataset", "datasets_", default=None, help="Datasets, comma-separated [config, else MUTAG].")
@click.option("-m", "--model", "victims_", default=None, help="Victim architectures, comma-separated, or all [gcn].")
@click.option("--seeds", "--folds", "seeds", default=None,
              help="Victim seeds, comma-separated [0]; under --protocol cv10 the folds [0-9].")
@click.option("--protocol", type=click.Choice(["seeds", "cv10"]), default=None,
              help="Victims: seeds = seeded 80/10/10 split per seed; cv10 = the selected model of each fold of "
                   "stratified 10-fold CV (cama cv), every graph attacked once [config, else seeds].")
@click.option("-a", "--attack", "attack_names", default=None,
              help="Attacks, comma-separated, or all; replaces the config's [attacks] [all]. A name with a "
                   "table in the config keeps its parameters and samples (unless -p is given).")
@click.option("-p", "--param", "params", multiple=True, help="Attack parameter key=value for -a attacks (repeatable).")
@click.option("-x", "--exclude", default=None, help="Drop these attack labels from the grid (e.g. -x prbcd,genetic).")
@click.option("-b", "--budget", "budgets", default=None, help="Budgets, comma-separated [0.05,0.1,0.2].")
@click.option("--budget-kind", type=click.Choice(["ratio", "count"]), default=None, help="[ratio]")
@click.option("--importance", type=click.Choice(["cam", "gradcam", "gradcam-avg"]), default=None, help="[gradcam]")
@click.option("--max-graphs", type=int, default=None,
              help="Attack a seeded sample of at most N correct test graphs per cell (0 = all) [all].")
@click.option("--runs", default=None, type=click.Path(file_okay=False),
              help="Folder for the JSON records [config, else results/runs/bench].")
@click.option("--constraints", default=None, metavar="NAME[,NAME]|none",
              help="Domain constraints for every cell (over the config's; none = unconstrained), see cama attack.")
@click.option("--force", is_flag=True, help="Recompute cells whose records exist.")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True)
@click.option("--ray-address", default=None, help="Ray cluster address (ray://head:10001 or auto); default: a local Ray instance.")
@click.option("--dry-run", is_flag=True, help="Print every cell as done, pending or n/a (its attack cannot apply to the dataset); run nothing.")
@click.option("--leaderboard", "leaderboard_out", default=None, type=click.Path(file_okay=False),
              help="Afterwards aggregate the records into this folder (as `cama leaderboard`).")
@data_root_opt
@cache_opt
@device_opt
def bench(config_path, datasets_, victims_, seeds, protocol, attack_names, params, exclude, budgets, budget_kind, importance, max_graphs,
          runs, constraints, force, executor, ray_address, dry_run, leaderboard_out, data_root, cache_dir, device):
    """Run a grid: datasets × victims × seeds (or folds) × attacks × budgets, one JSON record per budget.

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
      cama bench --config constrained.toml                 # under domain constraints (issue 16)
      cama bench --config constrained.toml --constraints none  # same cells unconstrained, noticeability measured

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
    from .common import require_writable

    require_writable(leaderboard_out, "--leaderboard")
    from ..bench import (
        DONE,
        NOT_APPLICABLE,
        PENDING,
        bench_config,
        describe,
        make_cells,
        plan_cells,
        run_bench,
    )

    cfg = bench_config(config_path, datasets=split_list(datasets_) if datasets_ else None,
                       victims=parse_archs(victims_) if victims_ else None,
                       seeds=parse_seeds(seeds) if seeds else None,
                       attacks=split_list(attack_names) if attack_names else None, params=parse_params(params),
                       exclude=split_list(exclude) if exclude else None, budgets=budgets, budget_kind=budget_kind,
                       importance=importance, max_graphs=max_graphs, runs=runs, constraints=constraints,
                       protocol=protocol)
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
        from ..leaderboard import write_leaderboard

        for path in write_leaderboard(cfg.runs, leaderboard_out, command_line()):
            click.echo(f"wrote {path}")


@click.command()
@click.option("--runs", default="results/runs", show_default=True, type=click.Path(file_okay=False),
              help="Folder of JSON run records (searched recursively).")
@click.option("--out", default="results", show_default=True, type=click.Path(file_okay=False))
@click.option("--victims-md", default=None, type=click.Path(dir_okay=False, exists=True),
              help="Clean-accuracy table to include [results/victims.md when it exists here].")
@click.option("--transfer-runs", default=None, type=click.Path(file_okay=False, exists=True),
              help="Records of a transfer grid (cama bench --config transfer.toml): adds the surrogate × victim "
                   "transferability matrix (tables, transfer.csv, heatmaps).")
@click.option("--constrained-runs", default=None, type=click.Path(file_okay=False, exists=True),
              help="Records of a constrained grid run with and without its constraints (cama bench --config "
                   "constrained.toml [--constraints none]): adds the unnoticeable view (tables, unnoticeable.csv).")
@click.option("--cost-runs", default=None, type=click.Path(file_okay=False, exists=True),
              help="Records of the cost grid (cama bench --config cost.toml): adds ASR against victim passes "
                   "(tables, cost.csv, plots/cost.png).")
@click.option("--defended-runs", default=None, type=click.Path(file_okay=False, exists=True),
              help="Records of the defended-victim grid (cama bench --config defended.toml): adds worst-case robust "
                   "accuracy over the standard suite, defended against undefended (tables, robust.csv, "
                   "plots/robust.png).")
def leaderboard(runs, out, victims_md, transfer_runs, constrained_runs, cost_runs, defended_runs):
    """Aggregate run records into LEADERBOARD.md, leaderboard.csv/.tex/.html (one self-contained
    page: summary, plots, a sortable and filterable table of every cell) and plots/.

    \b
    Examples:
      cama leaderboard --runs results/runs --out results/
      cama leaderboard --runs results/runs/bench --transfer-runs results/runs/transfer --out results/
      cama leaderboard --runs results/runs/bench --defended-runs results/runs/defended --out results/
    """
    from ..leaderboard import write_leaderboard
    from .common import require_writable

    require_writable(out, "--out")
    if victims_md is None:
        from pathlib import Path

        victims_md = "results/victims.md" if Path("results/victims.md").is_file() else None
    for path in write_leaderboard(runs, out, command_line(), victims_md, transfer_runs, constrained_runs,
                                  cost_runs, defended_runs):
        click.echo(f"wrote {path}")
    if victims_md is None:  # after the records loaded: a run without records gets its one error alone
        click.echo("note: no victims section (results/victims.md is not in this folder); pass --victims-md PATH "
                   "to include the clean-accuracy table", err=True)
