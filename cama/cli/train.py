"""`cama train`: victims, cached, with an accuracy table; `cama cv`: protocol v2 victims (k-fold CV)."""
from __future__ import annotations

from pathlib import Path

import click

from ..errors import CamaError
from .common import (
    TRAIN_OPTIONS,
    cache_opt,
    command_line,
    data_root_opt,
    device_opt,
    parse_archs,
    parse_seeds,
    require_writable,
    split_list,
    train_config,
    with_options,
)


@click.command()
@click.option("-d", "--dataset", "datasets_", default="synthetic-motifs", show_default=True,
              help="Dataset name(s), comma-separated (any TU name, or synthetic-motifs).")
@click.option("-m", "--model", "models", default="gin", show_default=True,
              help="Architecture(s): gcn, gin, graphsage, gat, comma-separated, or all; defended: ARCH+guard[:τ] "
                   "(structure cleaning) or ARCH+adv[:ATTACK[@ρ]] (adversarial training), see victims/defenses.py.")
@click.option("--seed", "seeds", default="0", show_default=True, help="Seed(s), comma-separated: split + init + order.")
@with_options(TRAIN_OPTIONS)
@click.option("--retrain", is_flag=True, help="Train even if the cache holds this victim.")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Also copy the checkpoint here (single run).")
@click.option("--append", is_flag=True,
              help="With --table: keep the table's other rows, replace only the dataset × model × seed rows trained here.")
@click.option("--table", type=click.Path(file_okay=False), default=None,
              help="Write victims.md / victims.csv (clean accuracy mean ± std over seeds) into this folder.")
@data_root_opt
@cache_opt
@device_opt
def train(datasets_, models, seeds, epochs, hidden, layers, lr, batch_size, retrain, out, append, table, data_root,
          cache_dir, device):
    """Train victims (cached) and print their val/test accuracy and checkpoint path.

    \b
    Examples:
      cama train -d PROTEINS -m gin --seed 0
      cama train -d MUTAG,PROTEINS,NCI1,IMDB-BINARY,DD,ENZYMES -m all --seed 0,1,2 --table results/
      cama train -d PROTEINS -m gcn+guard,gcn+adv,gin+adv:grbcd@0.05 --seed 0
    """
    from victims.store import get_victim, save_victim

    from ..data import load_dataset

    cfg = train_config(epochs, hidden, layers, lr, batch_size)
    archs, seed_list = parse_archs(models), parse_seeds(seeds)
    names = split_list(datasets_)
    if append and not table:
        raise CamaError("--append adds rows to a --table; add --table DIR.")
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
        from ..tables import write_victims_table
        csv, md = write_victims_table(rows, table, command_line(), append=append)
        click.echo(f"wrote {csv} and {md}")


@click.command()
@click.option("-d", "--dataset", "datasets_", required=True,
              help="Dataset name(s), comma-separated (any TU name, or synthetic-motifs).")
@click.option("-m", "--model", "models", default="gcn,gin,graphsage,gat", show_default=True,
              help="Architecture(s): gcn, gin, graphsage, gat, comma-separated, or all.")
@click.option("--folds", type=click.IntRange(2, None), default=10, show_default=True, help="Outer folds k.")
@click.option("--grid", default="default", show_default=True,
              help="Model-selection grid KEY=V1,V2;KEY=… over hidden, dropout, lr, num_layers, batch_size, "
                   "weight_decay, epochs; default: hidden=32,64;dropout=0,0.5;lr=0.01,0.001 "
                   "(REDDIT-BINARY: hidden=64;dropout=0.5;lr=0.01, one configuration for cost).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the fold assignment and inner splits.")
@click.option("--fold", "only", default=None, help="Run only these folds (comma-separated), e.g. to split the work.")
@with_options(TRAIN_OPTIONS)
@click.option("--table", type=click.Path(file_okay=False), default=None,
              help="Write victims_cv.md / victims_cv.csv / victims_cv_folds.csv into this folder.")
@click.option("--append", is_flag=True,
              help="With --table: keep the table's other rows; replace only the dataset × model × fold rows run "
                   "here (so --fold runs add up).")
@click.option("--resume", is_flag=True,
              help="With --table: skip the folds the table already holds for this grid (and, with --save, whose "
                   "checkpoint exists), keep its other rows. The table is rewritten after every fold.")
@click.option("--save", type=click.Path(file_okay=False), default=None,
              help="Save each fold's selected victim here as DATASET-ARCH-fFOLD.pt, a cv10 victim checkpoint "
                   "(`python -m victims.zoo DIR/*.pt` adds them to the zoo).")
@data_root_opt
@device_opt
def cv(datasets_, models, folds, grid, seed, only, epochs, hidden, layers, lr, batch_size, table, append, resume,
       save, data_root, device):
    """Protocol v2 victims: stratified k-fold CV with model selection inside each fold (Errica et al.).

    Per fold: test = the fold; every grid configuration trains on an inner stratified 90/10 split
    of the other folds with early stopping; the best validation accuracy selects the fold's victim.
    Prints each fold's selection and the mean ± std beside the published figure.

    \b
    Examples:
      cama cv -d MUTAG -m gcn,gin --table results/
      cama cv -d PROTEINS -m gin --grid 'hidden=32,64;lr=0.01,0.001' --table results/ --append
      cama cv -d MUTAG -m gin --fold 0 --save victims-v2/
      cama cv -d NCI1 -m all --table results/ --resume --save victims-v2/   # after an interruption
    """
    from victims.store import fold_victim, save_victim

    from ..cv import CVProtocol, cross_validate, grid_text, parse_grid
    from ..data import load_dataset
    from ..tables import completed_folds, write_cv_table

    parse_grid(grid)  # a malformed --grid fails before any dataset loads
    base = train_config(epochs, hidden, layers, lr, batch_size)
    archs = parse_archs(models)
    try:
        folds_only = None if only is None else sorted({int(f) for f in split_list(only)})
    except ValueError:
        raise CamaError(f"--fold takes fold numbers, comma-separated (0..{folds - 1}); got '{only}'.") from None
    if folds_only and max(folds_only) >= folds:
        raise CamaError(f"--fold {max(folds_only)} does not exist with --folds {folds} (folds are 0..{folds - 1}).")
    if (append or resume) and not table:
        raise CamaError(f"{'--resume' if resume else '--append'} works on a --table; add --table DIR.")
    append = append or resume
    protocol = CVProtocol()
    rows, written = [], None
    for name in split_list(datasets_):
        ds = load_dataset(name, root=data_root)
        grid_ = parse_grid(grid, ds.name)
        if save and (folds, seed, grid_) != (protocol.folds, protocol.seed, protocol.grid_for(ds.name)):
            raise CamaError(f"--save writes victims of protocol cv10 (10 folds, --seed 0, {ds.name}'s default grid "
                            f"{grid_text(protocol.grid_for(ds.name))}), the ones `cama bench` with protocol = "
                            "\"cv10\" and the zoo use; drop --save, or run the default CV.")
        text = grid_text(grid_)
        done = completed_folds(Path(table) / "victims_cv_folds.csv", text) if resume else set()
        for arch in archs:
            todo = [f for f in (folds_only or range(folds)) if (ds.name, arch, f) not in done
                    or (save and not (Path(save) / f"{ds.name}-{arch}-f{f}.pt").is_file())]
            if not todo:
                click.echo(f"{ds.name} {arch}: every fold is in {table}; nothing to run")
                continue
            for r in cross_validate(ds, arch, folds, grid_, base, seed, device=device, only=todo):
                chosen = ",".join(f"{k}={getattr(r.config, k)}" for k in grid_)
                rows.append({"dataset": ds.name, "victim": arch, "fold": r.fold, "selected": chosen,
                             "val_acc": r.val_acc, "test_acc": r.test_acc, "epochs": r.epochs,
                             "n_test": int(r.split["test"].numel()), "seconds": r.seconds})
                click.echo(f"{ds.name:>14} {arch:>9} fold {r.fold}: {chosen}  val {r.val_acc:.3f}  "
                           f"test {r.test_acc:.3f}  ({r.seconds:.0f} s)")
                if save:
                    save_victim(fold_victim(ds, arch, r, base, protocol.name), Path(save) / f"{ds.name}-{arch}-f{r.fold}.pt")
                if table:  # after every fold, so an interrupted run keeps what it finished (--resume)
                    written = write_cv_table(rows, table, command_line(), text, append=append)
    if not rows:
        return
    if written is not None:  # the summary covers the table's folds of the pairs run here, earlier runs included
        pairs = {(r["dataset"], r["victim"]) for r in rows}
        rows = [r for r in written.to_dict("records") if (r["dataset"], r["victim"]) in pairs]
    echo_cv_summary(rows)
    if table:
        click.echo(f"wrote {Path(table) / 'victims_cv.csv'} and {Path(table) / 'victims_cv.md'}")


def echo_cv_summary(rows: list[dict]) -> None:
    """One line per dataset × victim: mean ± std over its folds beside the published figure."""
    from ..tables import cv_frame

    for row in cv_frame(rows).itertuples():
        ref = f"{row.reference} {row.published:.1f}, gap {row.gap:+.1f}" if isinstance(row.reference, str) \
            else "no published figure"
        click.echo(f"{row.dataset} {row.victim}: {100 * row.test_acc_mean:.1f} ± {100 * row.test_acc_std:.1f} over "
                   f"{row.folds} folds ({ref})")


@click.command("cv-merge")
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--table", type=click.Path(file_okay=False), required=True,
              help="The table to merge into (its other rows are kept), e.g. results/.")
@click.option("--folds", type=click.IntRange(2, None), default=10, show_default=True,
              help="Folds of one complete cross-validation.")
@click.option("--complete/--partial", default=True, show_default=True,
              help="Merge only the dataset × model pairs whose folds are all present (--partial: any).")
def cv_merge(sources, table, folds, complete):
    """Merge the fold tables of separate `cama cv --table` runs into one table.

    For cross-validations split over processes or machines (`cama cv --fold …`, one --table each):
    a fold found in two sources must be the same selection, and one dataset × model keeps one grid.

    \b
    Examples:
      cama cv -d NCI1 -m gat --fold 0,1,2,3,4 --table t1/ --save v2/ &
      cama cv -d NCI1 -m gat --fold 5,6,7,8,9 --table t2/ --save v2/
      cama cv-merge t1/ t2/ --table results/ && python -m victims.zoo v2/NCI1-gat-*.pt
    """
    from ..tables import merge_cv_tables

    require_writable(table, "--table")
    merged, skipped = merge_cv_tables(sources, table, folds, complete)
    for (d, v), n in skipped.items():
        click.echo(f"skipped {d} {v}: {n} of {folds} folds (--partial merges it)", err=True)
    if not len(merged):
        raise CamaError(f"Nothing to merge: no dataset × model of {', '.join(sources)} has all {folds} folds "
                        "(--partial merges incomplete ones).")
    echo_cv_summary(merged.to_dict("records"))
    click.echo(f"merged {len(merged)} folds into {Path(table) / 'victims_cv_folds.csv'}")
