"""`cama evaluate`: the robustness report of a user's own model."""
from __future__ import annotations

import json

import click

from ..errors import CamaError
from .common import RecordSink, data_root_opt, device_opt, print_attack_table, split_list


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
@click.option("--max-graphs", type=click.IntRange(min=0), default=None,
              help="Attack a seeded sample of at most N correct test graphs (0 = all, as in cama bench).")
@click.option("--save-checkpoint", type=click.Path(dir_okay=False), default=None,
              help="Save the trained model's state dict here (reload it with --checkpoint).")
@click.option("--allow-weak-model", is_flag=True,
              help="Attack a model no better than the majority class (refused otherwise: its ASRs mean nothing).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="runs", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table", show_default=True)
@click.option("--allow-unfaithful", is_flag=True,
              help="Run gradient attacks even when the model fails the edge-weight checks (README \"Edge weights\").")
@data_root_opt
@device_opt
def evaluate(model_spec, checkpoint, dataset, attack_names, budgets, suite, report_dir, budget_kind, name, seed,
             cam_layer, max_graphs, save_checkpoint, allow_weak_model, out_dir, fmt, allow_unfaithful, data_root, device):
    """Robustness report for your own GNN: clean accuracy, accuracy and ASR under every applicable attack.

    \b
    Examples:
      cama evaluate --model examples/custom_model.py:build_model -d MUTAG -a cama-node,random --name my-gnn
      cama evaluate --model examples/custom_model.py:build_model -d MUTAG --suite standard --report report/
    """
    from attacks import ATTACKS, make_attacks
    from victims.train import TrainConfig, train_model

    from ..budget import parse_budgets
    from ..data import load_dataset
    from ..device import resolve_device
    from ..records import atomic_torch_save
    from ..robustness import check_model_output, edge_weight_status, evaluate_robustness, skip_reason
    from ..splits import stratified_split
    from ..suite import get_suite
    from ..user_model import build_user_model, load_factory, load_user_weights, model_phase
    from .common import require_writable

    if suite and (attack_names or budgets or max_graphs):
        raise CamaError("--suite runs its own pinned attacks at its fixed budgets on every test graph; "
                        "drop -a/-b/--max-graphs (or drop --suite).")
    if report_dir and not suite:
        raise CamaError("--report writes the suite report; add --suite standard.")
    if save_checkpoint and checkpoint:
        raise CamaError("--save-checkpoint saves the weights cama evaluate trains; with --checkpoint nothing is "
                        "trained (drop one of them).")
    # everything a user can get wrong is checked before the model is trained or attacked
    names = list(ATTACKS) if attack_names in (None, "all") else split_list(attack_names)
    atks = [] if suite else make_attacks(names, {})
    if suite:
        get_suite(suite)
    budget_list = split_list(budgets or "0.05,0.1,0.2")
    parse_budgets(budget_list, budget_kind)
    require_writable(out_dir, "--out")
    require_writable(report_dir, "--report")
    require_writable(save_checkpoint, "--save-checkpoint", is_file=True)
    factory = load_factory(model_spec)
    name = name or factory.__name__
    ds = load_dataset(dataset, root=data_root)
    if not suite and attack_names not in (None, "all"):
        blocked = {a.name: a.inapplicable(ds.featurizer) for a in atks if a.inapplicable(ds.featurizer)}
        if blocked:
            raise CamaError(f"{', '.join(blocked)} cannot run on {ds.name}: {next(iter(blocked.values()))}")
    dev = resolve_device(device)
    import torch

    torch.manual_seed(seed)  # the same command gives the same initial weights, hence the same trained model
    model = build_user_model(factory, ds.num_features, ds.num_classes).to(dev)
    split = stratified_split(ds.y, seed=seed)
    if checkpoint:
        load_user_weights(model, checkpoint)
        model.to(dev)
    check_model_output(model.eval(), ds, dev)
    if not suite:
        reasons = {a.name: skip_reason(a, model, ds, cam_layer, allow_unfaithful) for a in atks}
        if all(reasons.values()):
            raise CamaError(f"No requested attack can run on {name}: "
                            + "; ".join(f"{k}: {v}" for k, v in reasons.items()) + ". Nothing was trained or run.")
    with model_phase(name, "the edge-weight probe"):
        click.echo(f"{name}: edge-weight probe {edge_weight_status(model, ds)}", err=True)
    if not checkpoint:
        with model_phase(name, "training"):
            stats = train_model(model, ds, split, TrainConfig(), seed, dev, progress=fmt == "table",
                                desc=f"train {model_spec}")
        click.echo(f"trained: val {stats['val_acc']:.3f}, test {stats['test_acc']:.3f}", err=True)
        if save_checkpoint:
            atomic_torch_save(model.state_dict(), save_checkpoint)
            click.echo(f"weights written to {save_checkpoint} (reload with --checkpoint {save_checkpoint})", err=True)
    if suite:
        return _suite(model, ds, split, suite, report_dir, name, seed, budget_kind, cam_layer,
                      allow_unfaithful, allow_weak_model, out_dir, fmt)
    report = evaluate_robustness(model, ds, attacks=names, budgets=budget_list, budget_kind=budget_kind,
                                 device=str(dev), seed=seed, split=split, name=name, cam_layer=cam_layer,
                                 max_graphs=max_graphs, allow_unfaithful=allow_unfaithful, allow_weak=allow_weak_model)
    sink = RecordSink(out_dir)
    for rec in report.records:
        sink.write(rec)
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
    sink.finish()


def _suite(model, ds, split, suite, report_dir, name, seed, budget_kind, cam_layer, allow_unfaithful, allow_weak,
           out_dir, fmt):
    from ..suite import run_suite

    report = run_suite(model, ds, split["test"], suite, name=name, seed=seed, budget_kind=budget_kind,
                       cam_layer=cam_layer, allow_unfaithful=allow_unfaithful, progress=fmt == "table",
                       allow_weak=allow_weak)
    sink = RecordSink(out_dir)
    for rec in report.records:
        sink.write(rec)
    if fmt == "json":
        click.echo(json.dumps(report.to_json(), sort_keys=True))
    else:
        click.echo(report.to_markdown())
    if report.partial:
        click.echo(report.caveat(), err=True)
    if report_dir:
        try:
            for path in report.write(report_dir):
                click.echo(f"wrote {path}", err=True)
        except OSError as exc:
            sink.finish()
            raise CamaError(f"Writing the report to {report_dir} failed ({exc.strerror or exc}); the report is "
                            "printed above. Pass --report a writable folder and re-run.") from exc
    sink.finish()
