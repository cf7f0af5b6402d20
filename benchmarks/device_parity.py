"""Every registered attack on the CPU and on an accelerator, side by side: same victim, same seed.

    python benchmarks/device_parity.py [--dataset MUTAG] [--arch gcn] [--device auto] [--attacks a,b,...]

The check to run first on a machine with a GPU (one prepared script, see the performance docs): the
victim is the zoo's (or trained once) on the CPU and copied to ``--device``; every attack runs
through ``cama.evaluate.evaluate_attack`` on both at ρ = 0.05 / 0.1 / 0.2 with the same seed.
Printed per attack: ASR on each side, seconds on each side and their ratio. Before the attacks,
Graph-CAM / CAM importance of the whole test split is compared across the two devices
(``allclose``, atol 1e-4), and so are the victim's clean predictions.

Floating-point sums run in another order on another device, so a flip decided by a near tie can
differ and ASRs need not be identical; a gap above ``--tolerance`` (default 0.15, i.e. a few graphs
of a small test split) or an attack that fails on the device marks the line ``DIFF`` / ``FAIL``
and the script exits with status 1. Without CUDA, ``--device auto`` is the CPU on both sides:
a smoke run of the script itself (every ASR equal, status 0).
"""
from __future__ import annotations

import argparse
import copy
import time

import torch
from torch_geometric.data import Batch

from attacks import ATTACKS, make_attack
from cama.budget import parse_budgets
from cama.data import load_dataset
from cama.device import resolve_device, synchronize
from cama.errors import CamaError, run_script
from cama.evaluate import evaluate_attack, predict
from cama.importance import node_importance
from cama.runtime import tune_allocator
from victims.store import get_victim

BUDGETS = "0.05,0.1,0.2"


def timed(fn, dev: torch.device):
    """``fn()`` and its wall seconds (device work included)."""
    synchronize(dev)
    t = time.perf_counter()
    out = fn()
    synchronize(dev)
    return out, time.perf_counter() - t


def parity_of_importance(cpu_model, dev_model, graphs, dev) -> int:
    """Prints whether the victim's clean predictions and node importance agree on CPU and ``dev``;
    returns the number of disagreements."""
    same = torch.equal(predict(cpu_model, graphs, torch.device("cpu")).cpu(), predict(dev_model, graphs, dev).cpu())
    print(f"clean predictions equal: {same}")
    problems = int(not same)
    batch = Batch.from_data_list(list(graphs))
    for method in ("gradcam", "cam"):
        a = node_importance(cpu_model, batch, method).scores
        b = node_importance(dev_model, batch.to(dev), method).scores.cpu()
        gap = float((a - b).abs().max()) if a.numel() else 0.0
        problems += gap > 1e-4
        print(f"{method:8s} importance max |cpu − device| = {gap:.2e}  {'ok' if gap <= 1e-4 else 'DIFF'}")
    return problems


def main() -> None:
    tune_allocator()  # as the cama command does
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="MUTAG")
    ap.add_argument("--arch", default="gcn")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto", help="the accelerator side [auto: CUDA if present]")
    ap.add_argument("--attacks", default="", help="comma-separated attack names [every registered attack]")
    ap.add_argument("--max-graphs", type=int, default=None, help="attack at most this many test graphs per side")
    ap.add_argument("--tolerance", type=float, default=0.15, help="largest ASR gap counted as parity")
    ap.add_argument("--data-root", default=None)
    args = ap.parse_args()
    names = [a for a in args.attacks.split(",") if a] or list(ATTACKS)
    attacks = {name: make_attack(name) for name in names}  # unknown names: one clear error, before any work
    dev = resolve_device(args.device)
    ds = load_dataset(args.dataset, root=args.data_root)
    victim = get_victim(ds, args.arch, seed=args.seed, device="cpu", progress=False)
    cpu_model = victim.model.eval()
    dev_model = copy.deepcopy(cpu_model).to(dev).eval()
    test = victim.split["test"]
    budgets = parse_budgets(BUDGETS)
    where = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu (no accelerator: both sides on the CPU)"
    print(f"{args.dataset} / {args.arch} seed {args.seed}: cpu ({torch.get_num_threads()} threads) vs {where}")
    bad = parity_of_importance(cpu_model, dev_model, ds[test], dev)
    warm = make_attack("random")  # first-call costs (allocators, kernels) out of the first timed line
    for model in (cpu_model, dev_model):
        evaluate_attack(model, ds, test, warm, budgets, victim_name=args.arch, victim_seed=args.seed, max_graphs=4)
    print(f"{'attack':16s} {'ASR cpu':>16s} {'ASR device':>16s} {'cpu s':>8s} {'device s':>9s} {'ratio':>6s}")
    for name, atk in attacks.items():
        if atk.inapplicable(ds.featurizer):
            print(f"{name:16s} skipped: {atk.inapplicable(ds.featurizer)}")
            continue

        def run(model, attack=atk):
            return evaluate_attack(model, ds, test, attack, budgets, victim_name=args.arch, victim_seed=args.seed,
                                   seed=args.seed, max_graphs=args.max_graphs).records

        cpu_records, cpu_s = timed(lambda: run(cpu_model), torch.device("cpu"))
        try:
            dev_records, dev_s = timed(lambda: run(dev_model), dev)
        except (RuntimeError, CamaError) as exc:  # a device bug is this script's finding, not its crash
            bad += 1
            print(f"{name:16s} FAIL on {dev}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
            continue
        a = [r["asr"] for r in cpu_records]
        b = [r["asr"] for r in dev_records]
        gap = max(abs(x - y) for x, y in zip(a, b, strict=True))
        flag = "" if gap <= args.tolerance else "  DIFF"
        bad += bool(flag)
        fmt = lambda v: " / ".join(f"{x:.2f}" for x in v)  # noqa: E731
        print(f"{name:16s} {fmt(a):>16s} {fmt(b):>16s} {cpu_s:8.2f} {dev_s:9.2f} {cpu_s / dev_s:5.1f}×{flag}")
    print(f"{bad} problem(s)")
    if bad:
        raise SystemExit(1)


if __name__ == "__main__":
    run_script(main)
