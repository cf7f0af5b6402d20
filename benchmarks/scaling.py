"""Attack time and peak memory against graph size: log-log slope in edges.

    python benchmarks/scaling.py [--sizes 100,1000,10000,100000] [--degree 4] [--datasets DD,REDDIT-BINARY]

Synthetic part: random graphs G(n, m) with n nodes and m = n·degree/2 undirected edges (fixed
mean degree), one-hot degree features; each size runs in a fresh subprocess that reports the
wall time of a full non-adaptive ``cama-node`` attack (``rounds=0, rerank=0``; budgets 0.05 / 0.10
/ 0.20, evaluation included) and the peak resident memory the attack added (Linux
``/proc/self/clear_refs`` resets the high-water mark just before the attack). Real part: graphs
of DD and REDDIT-BINARY spread over their size range, one graph per attack. The victim is a
3-layer GCN of the benchmark's shape with random weights, the graph's label set to its
prediction (time does not depend on the weights; the attack is not adaptive). Prints the
least-squares slope of log(time) and log(memory) against log(edges) (target: time ≤ 1.2,
memory linear).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cama.errors import run_script  # noqa: E402 (after the path line, like the script's other cama imports)


def random_graph(n: int, degree: float, seed: int):
    from torch_geometric.data import Data

    from cama.edits import unique_pairs

    gen = torch.Generator().manual_seed(seed)
    m = int(n * degree / 2)
    u = torch.randint(0, n, (int(m * 1.1) + 8,), generator=gen)
    v = torch.randint(0, n, (u.numel(),), generator=gen)
    keep = u != v
    pairs = unique_pairs(torch.stack([u[keep], v[keep]], 1), n)[:m]
    ei = torch.cat([pairs.t(), pairs.t().flip(0)], 1)
    return Data(edge_index=ei, num_nodes=n, y=torch.zeros(1, dtype=torch.long))


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def attack_one(graph, featurizer, num_classes: int = 2) -> dict:
    """Time and added peak memory of a full one-pass cama-node attack on one graph."""
    from attacks import make_attack
    from cama.budget import parse_budgets
    from cama.data import GraphDataset
    from cama.evaluate import evaluate_attack
    from victims.models import GraphClassifier, VictimConfig

    torch.manual_seed(0)
    featurizer.refeaturize(graph)
    model = GraphClassifier(VictimConfig("gcn", featurizer.num_features, num_classes)).eval()
    with torch.no_grad():
        graph.y = model(graph.x, graph.edge_index).argmax(-1)
    ds = GraphDataset("scaling", [graph], featurizer, num_classes)
    atk = make_attack("cama-node", rounds=0, rerank=0)
    budgets = parse_budgets("0.05,0.1,0.2")
    run = lambda: evaluate_attack(model, ds, [0], atk, budgets, victim_name="gcn", victim_seed=0)
    run()  # warm-up
    before = _rss_kib("VmRSS:")
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak-RSS mark
    except OSError:
        pass
    t = time.perf_counter()
    rec = run().records[0]
    wall = time.perf_counter() - t
    return {"nodes": graph.num_nodes, "edges": graph.edge_index.size(1) // 2, "seconds": wall,
            "peak_mib": max(_rss_kib("VmHWM:") - before, 0) / 1024, "asr_0.05": rec["asr"]}


def child(args) -> None:
    from cama.featurize import Featurizer

    g = random_graph(args.one, args.degree, seed=0)
    feat = Featurizer("degree", num_features=11, max_degree=10, onehot=(0, 11))
    print(json.dumps(attack_one(g, feat)))


def slope(xs, ys) -> float:
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100,300,1000,3000,10000,30000,100000")
    ap.add_argument("--degree", type=float, default=4.0)
    ap.add_argument("--datasets", default="DD,REDDIT-BINARY")
    ap.add_argument("--graphs-per-dataset", type=int, default=12)
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        return child(args)
    print(f"cpu ({torch.get_num_threads()} threads); one-pass cama-node, budgets 0.05/0.1/0.2, evaluation included")
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        out = subprocess.run([sys.executable, __file__, "--one", str(n), "--degree", str(args.degree)],
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(r)
        print(f"G(n,m) n={r['nodes']:>7d} edges={r['edges']:>7d}: {r['seconds']:8.4f} s   peak +{r['peak_mib']:8.1f} MiB")
    e = [r["edges"] for r in rows]
    big = [r for r in rows if r["edges"] >= 1000]
    print(f"time slope in edges: {slope(e, [r['seconds'] for r in rows]):.2f} (all sizes), "
          f"{slope([r['edges'] for r in big], [r['seconds'] for r in big]):.2f} (≥ 1000 edges)")
    mem = [r for r in big if r["peak_mib"] > 0]
    if len(mem) >= 2:
        print(f"peak-memory slope in edges (≥ 1000 edges): {slope([r['edges'] for r in mem], [r['peak_mib'] for r in mem]):.2f}")
    from cama.data import load_dataset

    for name in [d for d in args.datasets.split(",") if d]:
        ds = load_dataset(name, root=args.data_root)
        order = sorted(range(len(ds)), key=lambda i: ds[i].edge_index.size(1))
        pick = [order[int(q)] for q in np.linspace(0, len(order) - 1, args.graphs_per_dataset)]
        res = [attack_one(ds[i].clone(), ds.featurizer, ds.num_classes) for i in pick]
        res = [r for r in res if r["edges"] > 0]
        print(f"{ds.name}: {len(res)} graphs, {min(r['edges'] for r in res)}–{max(r['edges'] for r in res)} edges, "
              f"{min(r['seconds'] for r in res):.4f}–{max(r['seconds'] for r in res):.4f} s; time slope in edges "
              f"{slope([r['edges'] for r in res], [r['seconds'] for r in res]):.2f}")


if __name__ == "__main__":
    run_script(main)
