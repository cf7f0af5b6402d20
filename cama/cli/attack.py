"""`cama attack`: attack a zoo/cached/trained victim (white-box or transfer) and print ASR per budget."""
from __future__ import annotations

import json
import os

import click

from ..errors import CamaError
from .common import (
    cache_opt,
    data_root_opt,
    device_opt,
    parse_params,
    print_attack_table,
    split_list,
)


@click.command()
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
@click.option("--constraints", default="", metavar="NAME[,NAME]",
              help="Domain constraints every attack obeys: valence (molecules), degree (Nettack's degree-"
                   "distribution test), connected (no flip adds a component). Records then carry them.")
@click.option("--importance", default="gradcam", show_default=True,
              type=click.Choice(["cam", "gradcam", "gradcam-avg"]), help="Node importance for CAMA attacks.")
@click.option("--adaptive-every", default=0, type=int, help="Re-score importance every k flips (0 = off).")
@click.option("-p", "--param", "params", multiple=True, help="Attack parameter key=value (repeatable).")
@click.option("--max-graphs", type=click.IntRange(min=0), default=None,
              help="Attack a seeded sample of at most N correct test graphs (0 = all, as in cama bench).")
@click.option("--save-adversarial", type=click.Path(dir_okay=False), default=None,
              help="Write the adversarial graphs (all budgets) to this file (see cama.adversarial).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="runs", show_default=True,
              help="Folder for JSON run records.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@data_root_opt
@cache_opt
@device_opt
def attack(dataset, model, attack_names, budgets, budget_kind, seed, surrogate, transfer_margin, constraints, importance,
           adaptive_every, params, max_graphs, save_adversarial, out_dir, fmt, data_root, cache_dir, device):
    """Attack a (cached or freshly trained) victim and print ASR per budget.

    \b
    Examples:
      cama attack -d PROTEINS -m gin -a cama-node -b 0.05,0.1,0.2 --seed 0
      cama attack -d MUTAG -m gcn -a cama,grbcd --surrogate gin --format json
      cama attack -d IMDB-BINARY -m gin -a cama-node -p rerank=16 --adaptive-every 2
      cama attack -d MUTAG -m gin -a cama,prbcd --constraints valence,connected
    """
    from attacks import ATTACKS, make_attacks
    from victims.store import check_arch, get_surrogate, get_victim

    from ..budget import parse_budgets
    from ..constraints import check_applicable, parse_constraints
    from ..data import load_dataset
    from ..evaluate import DEFAULT_TRANSFER_MARGIN, evaluate_attack
    from .common import RecordSink, require_writable

    check_arch(model)
    require_writable(out_dir, "--out")
    require_writable(save_adversarial, "--save-adversarial", is_file=True)
    if transfer_margin is not None and not surrogate:
        raise CamaError("--transfer-margin only applies in transfer mode; add --surrogate ARCH.")
    names = list(ATTACKS) if attack_names == "all" else split_list(attack_names)
    atks = make_attacks(names, parse_params(params), importance=importance, adaptive_every=adaptive_every)
    budget_list = parse_budgets(budgets, budget_kind)
    ds = load_dataset(dataset, root=data_root)
    constraint_names = parse_constraints(constraints)
    check_applicable(constraint_names, ds)  # fail before training a victim
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
    rows, adversarial, pairing, sink = [], {}, {}, RecordSink(out_dir)
    for atk in atks:
        outcome = evaluate_attack(victim.model, ds, victim.split["test"], atk, budget_list, victim_name=model,
                                  victim_seed=seed, seed=seed, surrogate=sur, surrogate_name=sur_name,
                                  max_graphs=max_graphs, keep_adversarial=bool(save_adversarial),
                                  progress=fmt == "table", transfer_margin=(
                                      DEFAULT_TRANSFER_MARGIN if transfer_margin is None else transfer_margin),
                                  constraints=constraint_names)
        for rec in outcome.records:
            sink.write(rec)
            rows.append(rec)
            if fmt == "json":
                click.echo(json.dumps(rec, sort_keys=True))
        for b, graphs in outcome.adversarial.items():
            adversarial[f"{atk.name}@{b}"] = graphs
            pairing[f"{atk.name}@{b}"] = {"dataset_index": outcome.graph_index, "fooled": outcome.fooled[b]}
    if fmt == "table":
        title = (f"{ds.name} / {model} (seed {seed}, clean acc {victim.test_acc:.3f}"
                 f"{', surrogate ' + surrogate if surrogate else ''}): attack success rate per budget")
        print_attack_table(rows, title)
    if save_adversarial:
        from victims.zoo_index import sha256

        from ..adversarial import save_adversarial as save

        digest = sha256(victim.path) if victim.path else None
        runs = {f"{r['attack']}@{r['budget']}": {k: r[k] for k in ("run_id", "params", "budget_kind", "surrogate",
                                                                   "max_graphs", "asr")} for r in rows}
        try:
            save(save_adversarial, adversarial, {"dataset": ds.name, "victim": model, "seed": seed,
                                                 "victim_sha256": digest, "runs": runs}, pairing)
            click.echo(f"adversarial graphs written to {save_adversarial}", err=True)
        except OSError as exc:
            sink.finish()
            raise CamaError(f"Writing the adversarial graphs to {save_adversarial} failed ({exc.strerror or exc}); "
                            "pass --save-adversarial a writable path and re-run.") from exc
    sink.finish()
    if fmt == "table":
        click.echo(f"{len(rows)} run records in {out_dir}/", err=True)
