"""A full non-adaptive CAMA attack vs one clean batched inference pass over the same test set.

    python benchmarks/attack_vs_inference.py [--dataset PROTEINS] [--arch gcn] [--device auto]

Attack side: ``cama.evaluate.evaluate_attack`` with budgets 0.05 / 0.10 / 0.20 on the victim's
test split — clean prediction of the test graphs, Graph-CAM importance (one forward, one backward
per class set), candidate scoring, and per budget: apply the prefix of the ranked flips,
re-featurize, one victim forward. The one-pass CAMA attacks (``rounds=0, rerank=0``) are the
subject (target ≤ 10× the floor; the floor of the pipeline is ~6 passes); the default greedy
``cama-node`` (8 rounds + query re-ranking) is printed for context.
Floor: ``cama.evaluate.predict`` on the same test graphs (Batch building included on both sides).
"""
from __future__ import annotations

import argparse
import time

import torch

from attacks import make_attack
from cama.budget import parse_budgets
from cama.data import load_dataset
from cama.device import synchronize
from cama.errors import run_script
from cama.evaluate import evaluate_attack, predict
from cama.runtime import tune_allocator
from victims.store import get_victim

VARIANTS = [("cama-node one-pass", "cama-node", {"rounds": 0, "rerank": 0}),
            ("cama-subgraph one-pass", "cama-subgraph", {"rounds": 0, "rerank": 0}),
            ("cama-feature", "cama-feature", {}),
            ("cama-node default (8 rounds, re-ranking)", "cama-node", {})]


def best_of(fn, repeats: int, sync) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        sync()
        t = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    tune_allocator()  # as the cama command does
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="PROTEINS")
    ap.add_argument("--arch", default="gcn")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--repeats", type=int, default=5, help="best of this many timings per side")
    args = ap.parse_args()
    ds = load_dataset(args.dataset, root=args.data_root)
    victim = get_victim(ds, args.arch, seed=args.seed, device=args.device, progress=False)
    model, dev = victim.model, next(victim.model.parameters()).device
    sync = lambda: synchronize(dev)  # noqa: E731
    test = victim.split["test"]
    graphs = ds[test]
    budgets = parse_budgets("0.05,0.1,0.2")
    floor = best_of(lambda: predict(model, graphs, dev), args.repeats, sync)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    print(f"{ds.name} test split: {len(graphs)} graphs, {args.arch} seed {args.seed}, {name}")
    print(f"clean batched inference: {1e3 * floor:.2f} ms ({1e6 * floor / len(graphs):.1f} µs/graph)")
    for label, attack, params in VARIANTS:
        atk = make_attack(attack, **params)
        if atk.inapplicable(ds.featurizer):
            print(f"{label:44s} skipped: {atk.inapplicable(ds.featurizer)}")
            continue
        out = []

        def run():
            out[:] = evaluate_attack(model, ds, test, atk, budgets, victim_name=args.arch,
                                     victim_seed=args.seed, seed=args.seed).records

        t = best_of(run, args.repeats if params else 1, sync)
        asr = " ".join(f"{r['asr']:.2f}" for r in out)
        print(f"{label:44s} {1e3 * t:8.2f} ms = {t / floor:6.1f}× inference   ASR@0.05/0.1/0.2: {asr}")


if __name__ == "__main__":
    run_script(main)
