"""Batched Graph-CAM importance vs a per-graph loop, same device, same victim.

    python benchmarks/importance_batched.py [--dataset PROTEINS] [--arch gcn] [--method gradcam] [--device auto]

Both sides compute the same scores (checked with allclose) for every graph of the dataset;
prints seconds per side and the speed ratio (target ≥ 20×).
"""
from __future__ import annotations

import argparse
import time

import torch
from torch_geometric.data import Batch

from cama.data import load_dataset
from cama.device import synchronize
from cama.errors import run_script
from cama.importance import node_importance
from cama.runtime import tune_allocator
from victims.store import get_victim


def main() -> None:
    tune_allocator()  # as the cama command does
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="PROTEINS")
    ap.add_argument("--arch", default="gcn")
    ap.add_argument("--method", default="gradcam")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--repeats", type=int, default=5, help="best of this many timings per side")
    args = ap.parse_args()
    ds = load_dataset(args.dataset, root=args.data_root)
    victim = get_victim(ds, args.arch, seed=0, device=args.device, progress=False)
    model, dev = victim.model, next(victim.model.parameters()).device
    graphs = ds.graphs
    batch = Batch.from_data_list(graphs).to(dev)
    singles = [Batch.from_data_list([g]).to(dev) for g in graphs]
    sync = lambda: synchronize(dev)  # noqa: E731

    node_importance(model, batch, args.method)  # warm-up
    best_batched = best_loop = float("inf")
    for _ in range(args.repeats):
        sync(); t = time.perf_counter()
        together = node_importance(model, batch, args.method)
        sync(); best_batched = min(best_batched, time.perf_counter() - t)
        t = time.perf_counter()
        alone = [node_importance(model, b, args.method).scores for b in singles]
        sync(); best_loop = min(best_loop, time.perf_counter() - t)
    assert torch.allclose(together.scores, torch.cat(alone), atol=1e-5), "batched and per-graph scores differ"
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    print(f"{args.dataset} ({len(graphs)} graphs, {batch.num_nodes} nodes), {args.arch}, {args.method}, {name}")
    print(f"batched:   {best_batched:.4f} s  ({1e3 * best_batched / len(graphs):.3f} ms/graph)")
    print(f"per graph: {best_loop:.4f} s  ({1e3 * best_loop / len(graphs):.3f} ms/graph)")
    print(f"speed-up:  {best_loop / best_batched:.1f}x")


if __name__ == "__main__":
    run_script(main)
