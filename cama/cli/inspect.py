"""`cama datasets`, `cama attacks`, `cama explain`: what is there and what a model looks at."""
from __future__ import annotations

import click

from ..errors import CamaError
from .common import cache_opt, data_root_opt, device_opt, print_table


@click.command()
@data_root_opt
def datasets(data_root):
    """List known and locally available datasets with their statistics.

    \b
    Example:
      cama datasets --data-root ../shared/data/TU
    """
    from ..data import DEFAULT_NODE_ATTR, KNOWN_TU, load_dataset, local_datasets
    from ..paths import data_root as resolve_root
    from ..tu_stats import raw_stats

    rows = [load_dataset("synthetic-motifs").stats() | {"local": "embedded"}]
    local = local_datasets(data_root)
    for name in local:  # counts from the raw files (cached); no feature matrix is built
        try:
            rows.append(raw_stats(resolve_root(data_root), name, name in DEFAULT_NODE_ATTR) | {"local": "yes"})
        except (OSError, ValueError) as exc:
            click.echo(f"skipping {name}: unreadable raw files ({type(exc).__name__}: {str(exc)[:120]})", err=True)
    print_table(rows, ["dataset", "graphs", "classes", "avg_nodes", "avg_edges", "features", "feature_kind", "local"],
                 title=f"Datasets (data root: {resolve_root(data_root)})")
    others = [n for n in KNOWN_TU if n not in local]
    click.echo("Also loadable by name when online (PyG download): " + ", ".join(others))


@click.command("attacks")
def list_attacks():
    """List every registered attack: threat model (knowledge, targets) and parameters with defaults.

    \b
    Example:
      cama attacks
      cama attack -d MUTAG -a cama-node -p anchors=16 -p rerank=0
    """
    from ..catalogue import attack_rows, parameter_rows

    rows = [{k: v for k, v in r.items() if k != "description"} for r in attack_rows()]
    print_table(rows, list(rows[0]), title="Attacks (knowledge: gradients ⊃ queries ⊃ none)")
    print_table(parameter_rows(),
                ["parameter", "type", "meaning", "attacks"], title="Parameters")


@click.command()
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

    from ..data import load_dataset
    from ..explain import draw_importance, node_names, top_nodes_table
    from ..importance import node_importance
    from ..subgraphs import top_subgraphs

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
    print_table([{"node": i, "label": lab, "importance": s} for i, lab, s in top_nodes_table(imp.scores, labels)],
                 ["node", "label", "importance"], title="top nodes")
    if sub:
        click.echo(f"top {hops}-hop subgraph: nodes {sorted(sub[0].nodes.tolist())}, score {sub[0].score:.3f}")
    click.echo(f"figure written to {out}")
