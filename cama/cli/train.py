"""`cama train`: victims, cached, with an accuracy table."""
from __future__ import annotations

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
