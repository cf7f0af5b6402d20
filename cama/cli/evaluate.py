"""`cama evaluate`: the robustness report of a user's own model."""
from __future__ import annotations

import json

import click

from ..errors import CamaError
from .common import data_root_opt, device_opt, print_attack_table, split_list


@click.command()
@click.option("--model", "model_spec", required=True, help="path/to/file.py:factory; factory(num_features, num_classes).")
@click.option("--checkpoint", type=click.Path(dir_okay=False), default=None,
              help="State dict to load (weights_only=True); without it the model is trained with the standard trainer.")
@click.option("-d", "--dataset", default="MUTAG", show_default=True)
@click.option("-a", "--attack", "attack_names", default=None, help="Attacks, comma-separated, or all [all].")
@click.option("-b", "--budget", "budgets", default=None, help="Budgets, comma-separated [0.05,0.1,0.2].")
@click.option("--suite", default=None, type=click.Choice(["standard"]),
              help="Worst-case robust accuracy over a pinned, versioned attack suite at its fixed budgets "
                   "(instead of -a/-b): a graph counts only if it survives every attack.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False), default=None,
              help="With --suite: write report.md, report.json and a self-contained report.html here.")
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
def evaluate(model_spec, checkpoint, dataset, attack_names, budgets, suite, report_dir, budget_kind, name, seed,
             cam_layer, max_graphs, out_dir, fmt, allow_unfaithful, data_root, device):
    """Robustness report for your own GNN: clean accuracy, accuracy and ASR under every applicable attack.

    \b
    Examples:
      cama evaluate --model examples/custom_model.py:build_model -d MUTAG -a cama-node,random --name my-gnn
      cama evaluate --model examples/custom_model.py:build_model -d MUTAG --suite standard --report report/
    """
    from victims.train import TrainConfig, train_model

    from ..data import load_dataset
    from ..device import resolve_device
    from ..records import write_record
    from ..robustness import check_model_output, evaluate_robustness
    from ..splits import stratified_split
    from ..user_model import build_user_model, load_factory, load_user_weights

    if suite and (attack_names or budgets or max_graphs):
        raise CamaError("--suite runs its own pinned attacks at its fixed budgets on every test graph; "
                        "drop -a/-b/--max-graphs (or drop --suite).")
    if report_dir and not suite:
        raise CamaError("--report writes the suite report; add --suite standard.")
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
    if suite:
        return _suite(model, ds, split, suite, report_dir, name or factory.__name__, seed, budget_kind, cam_layer,
                      allow_unfaithful, out_dir, fmt)
    names = "all" if attack_names in (None, "all") else split_list(attack_names)
    report = evaluate_robustness(model, ds, attacks=names, budgets=split_list(budgets or "0.05,0.1,0.2"),
                                 budget_kind=budget_kind,
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


def _suite(model, ds, split, suite, report_dir, name, seed, budget_kind, cam_layer, allow_unfaithful, out_dir, fmt):
    from ..records import write_record
    from ..suite import run_suite

    report = run_suite(model, ds, split["test"], suite, name=name, seed=seed, budget_kind=budget_kind,
                       cam_layer=cam_layer, allow_unfaithful=allow_unfaithful, progress=fmt == "table")
    for rec in report.records:
        write_record(out_dir, rec)
    if report_dir:
        for path in report.write(report_dir):
            click.echo(f"wrote {path}", err=True)
    if fmt == "json":
        click.echo(json.dumps(report.to_json(), sort_keys=True))
    else:
        click.echo(report.to_markdown())
