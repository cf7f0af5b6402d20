"""Peak memory and seconds per graph of every structure attack on a dataset's largest graphs.

    python benchmarks/big_graphs.py [--dataset REDDIT-BINARY] [--arch gcn] [--graphs 5] [--budget 0.1]

The victim is the seed-0 one (zoo → cache → trained). The attacked graphs are the ``--graphs``
largest test graphs the victim classifies correctly (REDDIT-BINARY: ~3000 nodes each). Each
attack runs in its own fresh process through ``cama.evaluate.evaluate_attack`` (evaluation
included), which reports ``getrusage`` peak resident memory before the attack (data + victim
loaded) and after it; the target of issue 15 is ≤ 3 GB peak per process on a REDDIT-BINARY cell
and nothing that allocates an n × n matrix (for n = 3782 a dense float32 n × n would be 57 MB, a
dense n × n per candidate flip many GB).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

from cama.errors import run_script

STRUCTURE_ATTACKS = ["cama", "cama-node", "cama-subgraph", "search-random", "search-degree", "random", "degree",
                     "gradargmax", "grbcd", "prbcd", "genetic"]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def child(args) -> None:
    import torch

    torch.set_num_threads(args.threads)
    from attacks import make_attack
    from cama.budget import parse_budgets
    from cama.data import load_dataset
    from cama.evaluate import evaluate_attack, predict
    from victims.store import get_victim

    ds = load_dataset(args.dataset, root=args.data_root)
    victim = get_victim(ds, args.arch, seed=0, device="cpu", progress=False)
    test = victim.split["test"].tolist()
    preds = predict(victim.model, ds[test], torch.device("cpu"))
    correct = [i for i, p in zip(test, preds.tolist()) if p == int(ds[i].y)]
    largest = sorted(correct, key=lambda i: -ds[i].num_nodes)[:args.graphs]
    before = peak_mb()
    start = time.perf_counter()
    rec = evaluate_attack(victim.model, ds, largest, make_attack(args.child), parse_budgets(str(args.budget)),
                          victim_name=args.arch, victim_seed=0).records[0]
    print(json.dumps({"attack": args.child, "graphs": rec["n_attacked"],
                      "nodes": [ds[i].num_nodes for i in largest], "s_per_graph": (time.perf_counter() - start) / max(rec["n_attacked"], 1),
                      "asr": rec["asr"], "peak_before_mb": before, "peak_mb": peak_mb()}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="REDDIT-BINARY")
    ap.add_argument("--arch", default="gcn")
    ap.add_argument("--graphs", type=int, default=5)
    ap.add_argument("--budget", type=float, default=0.1)
    ap.add_argument("--attacks", default=",".join(STRUCTURE_ATTACKS))
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--threads", type=int, default=1, help="torch threads per attack process (default 1: as the "
                    "grid's workers; more threads on a busy machine spin-wait)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)
    print(f"{args.dataset} / {args.arch} seed 0, the {args.graphs} largest correctly classified test graphs, "
          f"ρ = {args.budget}; one fresh process per attack, {args.threads} torch thread(s)")
    print(f"{'attack':15s} {'graphs':>6s} {'nodes':>18s} {'s/graph':>8s} {'ASR':>5s} {'MB before':>10s} {'peak MB':>8s}")
    worst = 0.0
    for attack in args.attacks.split(","):
        cmd = [sys.executable, __file__, "--child", attack, "--dataset", args.dataset, "--arch", args.arch,
               "--graphs", str(args.graphs), "--budget", str(args.budget), "--threads", str(args.threads)]
        if args.data_root:
            cmd += ["--data-root", args.data_root]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode:
            print(f"{attack:15s} failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        worst = max(worst, r["peak_mb"])
        nodes = f"{min(r['nodes'])}–{max(r['nodes'])}"
        print(f"{attack:15s} {r['graphs']:6d} {nodes:>18s} {r['s_per_graph']:8.2f} {r['asr']:5.2f} "
              f"{r['peak_before_mb']:10.0f} {r['peak_mb']:8.0f}")
    print(f"worst peak: {worst:.0f} MB ({'within' if worst <= 3072 else 'OVER'} the 3 GB target)")


if __name__ == "__main__":
    run_script(main)
