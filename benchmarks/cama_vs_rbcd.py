"""CAMA vs PRBCD / GRBCD (the batched attacks of attacks/rbcd.py; ``--reference`` for PyG's
per-graph ``prbcd-pyg`` / ``grbcd-pyg``): seconds per attacked graph and ASR at the same budgets.

    python benchmarks/cama_vs_rbcd.py [--datasets PROTEINS,IMDB-BINARY] [--arch gcn] [--prbcd-graphs 30]

Every attack runs through ``cama.evaluate.evaluate_attack`` (budgets 0.05 / 0.10 / 0.20, the
correctly classified test graphs of the seed-0 victim, evaluation included). ``s/graph`` is the
whole run's wall time divided by the attacked graphs: for ranked attacks (CAMA, GRBCD) one
solve serves all three budgets; PRBCD solves each budget, so its figure holds three solves.
PRBCD runs on a seeded sample (``--prbcd-graphs``); the CAMA rows are repeated on that same
sample so the ASRs compare like with like. Ratios = other attack's s/graph ÷ CAMA's.
"""
from __future__ import annotations

import argparse
import time

import torch

from attacks import make_attack
from cama.budget import parse_budgets
from cama.data import load_dataset
from cama.errors import run_script
from cama.evaluate import evaluate_attack
from cama.runtime import tune_allocator
from victims.store import get_victim

CAMA = [("cama-node one-pass", "cama-node", {"rounds": 0, "rerank": 0}),
        ("cama-subgraph one-pass", "cama-subgraph", {"rounds": 0, "rerank": 0}),
        ("cama-node (default greedy)", "cama-node", {})]
BASELINES = [("grbcd", "grbcd", {}), ("prbcd", "prbcd", {})]
REFERENCE = [("grbcd-pyg", "grbcd-pyg", {}), ("prbcd-pyg", "prbcd-pyg", {})]


def run(model, ds, test, label, attack, params, budgets, max_graphs, arch):
    atk = make_attack(attack, **params)
    t = time.perf_counter()
    recs = evaluate_attack(model, ds, test, atk, budgets, victim_name=arch, victim_seed=0, seed=0,
                           max_graphs=max_graphs).records
    wall = time.perf_counter() - t
    n = recs[0]["n_attacked"]
    return {"label": label, "graphs": n, "s_per_graph": wall / max(n, 1), "asr": [r["asr"] for r in recs]}


def main() -> None:
    tune_allocator()  # as the cama command does
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default="PROTEINS,IMDB-BINARY")
    ap.add_argument("--arch", default="gcn")
    ap.add_argument("--prbcd-graphs", type=int, default=30)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--reference", action="store_true", help="PyG's per-graph RBCD instead of the batched one")
    ap.add_argument("--data-root", default=None)
    args = ap.parse_args()
    budgets = parse_budgets("0.05,0.1,0.2")
    for name in args.datasets.split(","):
        ds = load_dataset(name, root=args.data_root)
        victim = get_victim(ds, args.arch, seed=0, device=args.device, progress=False)
        dev = next(victim.model.parameters()).device
        where = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
        print(f"\n{ds.name} / {args.arch} seed 0, {where}; ASR at ρ = 0.05 / 0.10 / 0.20")
        rows = []
        for sample in (None, args.prbcd_graphs):
            for label, attack, params in CAMA + (REFERENCE if args.reference else BASELINES):
                if attack.startswith("prbcd") and sample is None:
                    continue
                if attack.startswith("grbcd") and sample is not None:
                    continue
                rows.append(run(victim.model, ds, victim.split["test"], label, attack, params, budgets, sample,
                                args.arch) | {"set": "all correct" if sample is None else f"sample {sample}"})
        one_pass = {r["set"]: r["s_per_graph"] for r in rows if r["label"] == "cama-node one-pass"}
        print(f"{'attack':28s} {'graphs':>13s} {'s/graph':>9s} {'÷ cama-node one-pass':>21s}  ASR")
        for r in rows:
            ratio = r["s_per_graph"] / one_pass[r["set"]]
            asr = " / ".join(f"{a:.2f}" for a in r["asr"])
            print(f"{r['label']:28s} {r['set']:>13s} {r['s_per_graph']:9.4f} {ratio:20.1f}×  {asr}")


if __name__ == "__main__":
    run_script(main)
