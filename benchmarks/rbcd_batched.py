"""Batched PRBCD / GRBCD (attacks/rbcd.py) against PyG's per-graph reference (attacks/rbcd_pyg.py).

    python benchmarks/rbcd_batched.py [--datasets MUTAG,PROTEINS,IMDB-BINARY] [--archs gcn,gin]
                                      [--graphs 30] [--speed PROTEINS:all,DD:10]

Strength: for every dataset × victim (seed 0), both implementations attack the same seeded sample
of ``--graphs`` correctly classified test graphs at ρ = 0.05 / 0.10 / 0.20 (through
``evaluate_attack``, evaluation included) and the ASRs are printed side by side, with the
difference (batched − reference). The batched PRBCD also runs with a second chunking of the
batch (``max_block`` 20 000: other graphs share each random stream), to show that its ASR does
not hinge on which graphs share a batch.

Speed: seconds per attacked graph (the whole run's wall time ÷ attacked graphs; PRBCD solves
each of the three budgets), batched against reference, on ``--speed`` datasets (GCN seed 0,
``NAME:count`` graphs, ``all`` = every correctly classified test graph, as the leaderboard runs
them; PyG's PRBCD takes ~25 s per DD graph here, so DD uses a sample), with ratios and the
issue's targets (≥ 30× on PROTEINS, ≤ 0.5 s per DD graph). Beside them, the seconds per graph
the batched attack spends inside the victim itself (every forward, and the backward of every
relaxed forward, timed by hooks around the victim's ``forward``) and the ratio the reference's
time bears to that: the speed-up an attack with no overhead at all beyond the victim's passes
would reach at the same epochs, blocks and early exits — the ceiling of any batched RBCD here.

``--victim-share DD/gat:4``: the batched attacks alone on other victims (no reference: PyG's
per-graph PRBCD would take hours on DD GAT), with the share of their time inside the victim —
where the leaderboard grid spends most of its time. ``--datasets "" --speed ""`` skips the rest.
"""
from __future__ import annotations

import argparse
import contextlib
import time

import torch

from attacks import make_attack
from cama.budget import parse_budgets
from cama.data import load_dataset
from cama.errors import run_script
from cama.evaluate import evaluate_attack
from cama.runtime import tune_allocator
from victims.store import get_victim

BUDGETS = parse_budgets("0.05,0.1,0.2")


@contextlib.contextmanager
def victim_clock(model):
    """Seconds spent inside ``model``: its forwards, and the backward of every forward whose edge
    weights need a gradient (from the hook on the logits, which fires as the backward starts, to
    the hook on the edge weights, which fires when their gradient is done)."""
    spent = {"s": 0.0}
    cls = type(model)
    plain = cls.forward

    def timed(self, x, edge_index, batch=None, edge_weight=None):
        t = time.perf_counter()
        out = plain(self, x, edge_index, batch, edge_weight)
        spent["s"] += time.perf_counter() - t
        if edge_weight is not None and edge_weight.requires_grad and out.requires_grad:
            start = []
            out.register_hook(lambda g: start.append(time.perf_counter()))
            edge_weight.register_hook(lambda g: spent.__setitem__("s", spent["s"] + time.perf_counter() - start.pop()))
        return out

    cls.forward = timed
    try:
        yield spent
    finally:
        cls.forward = plain


def run(victim, ds, attack: str, graphs: int, **params) -> dict:
    atk = make_attack(attack, **params)
    with victim_clock(victim.model) as inside:
        t = time.perf_counter()
        recs = evaluate_attack(victim.model, ds, victim.split["test"], atk, BUDGETS, victim_name=victim.arch,
                               victim_seed=0, seed=0, max_graphs=graphs).records
        wall = time.perf_counter() - t
    n = max(recs[0]["n_attacked"], 1)
    return {"asr": [r["asr"] for r in recs], "s": wall / n, "n": recs[0]["n_attacked"],
            "victim_s": inside["s"] / n, "flips": [r["mean_edge_flips"] for r in recs]}


def fmt(asr) -> str:
    return " / ".join(f"{a:.2f}" for a in asr)


def main() -> None:
    tune_allocator()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default="MUTAG,PROTEINS,IMDB-BINARY")
    ap.add_argument("--archs", default="gcn,gin")
    ap.add_argument("--graphs", type=int, default=30, help="strength sample per victim (0 = every correct test graph)")
    ap.add_argument("--speed", default="PROTEINS:all,DD:10")
    ap.add_argument("--victim-share", default="",
                    help="NAME/arch:count,...: the batched attacks alone (no reference), seed 0, with the share of "
                         "their time spent inside the victim (e.g. DD/gat:4, where the grid spends most)")
    ap.add_argument("--data-root", default=None)
    args = ap.parse_args()
    print(f"cpu, {torch.get_num_threads()} threads")
    datasets = [d for d in args.datasets.split(",") if d]
    if datasets:
        strength(datasets, args)
    if args.speed:
        speed(args)
    if args.victim_share:
        victim_share(args)


def strength(datasets: list[str], args) -> None:
    sample = f"a seeded sample of {args.graphs}" if args.graphs else "all"
    print(f"ASR at ρ = 0.05 / 0.10 / 0.20 on {sample} correct test graphs "
          f"per victim (seed 0)")
    print(f"{'victim':24s} {'attack':6s} {'batched':>18s} {'reference (PyG)':>18s} {'batched − ref':>20s} "
          f"{'batched, other chunks':>22s}")
    worst = 0.0
    for name in datasets:
        ds = load_dataset(name, root=args.data_root)
        for arch in args.archs.split(","):
            victim = get_victim(ds, arch, seed=0, progress=False)
            for attack in ("grbcd", "prbcd"):
                graphs = args.graphs or None
                ours = run(victim, ds, attack, graphs)
                ref = run(victim, ds, f"{attack}-pyg", graphs)
                other = run(victim, ds, attack, graphs, max_block=20_000) if attack == "prbcd" else None
                diff = [a - b for a, b in zip(ours["asr"], ref["asr"])]
                worst = min(worst, *diff)
                print(f"{ds.name + ' / ' + arch:24s} {attack:6s} {fmt(ours['asr']):>18s} {fmt(ref['asr']):>18s} "
                      f"{' / '.join(f'{d:+.2f}' for d in diff):>20s} {fmt(other['asr']) if other else '':>22s}",
                      flush=True)
    print(f"largest shortfall of batched against reference: {worst:+.2f} (target ≥ −0.05)\n")


def cells(specs: str, data_root):
    """``NAME[/arch]:count,...`` → (dataset, its seed-0 victim, graphs): arch defaults to GCN; count
    ``all`` or empty = every correctly classified test graph (``None``)."""
    for spec in filter(None, specs.split(",")):
        cell, _, count = spec.partition(":")
        name, _, arch = cell.partition("/")
        ds = load_dataset(name, root=data_root)
        yield ds, get_victim(ds, arch or "gcn", seed=0, progress=False), None if count in ("", "all") else int(count)


def speed(args) -> None:
    print("speed, seed 0 (GCN unless NAME/arch): seconds per attacked graph; 'victim' = the batched attack's seconds "
          "inside the victim, and reference ÷ victim = the ceiling of any batched RBCD's speed-up")
    for ds, victim, graphs in cells(args.speed, args.data_root):
        for attack in ("grbcd", "prbcd"):
            ours = run(victim, ds, attack, graphs)
            ref = run(victim, ds, f"{attack}-pyg", graphs)
            print(f"{ds.name:12s} {attack:6s} {ours['n']:4d} graphs  batched {ours['s']:8.3f} s   reference "
                  f"{ref['s']:8.3f} s   {ref['s'] / ours['s']:6.1f}× faster   victim {ours['victim_s']:7.3f} s "
                  f"(ceiling {ref['s'] / ours['victim_s']:5.1f}×)   ASR {fmt(ours['asr'])} vs {fmt(ref['asr'])}", flush=True)


def victim_share(args) -> None:
    print("\nbatched attacks alone, seed 0: seconds per attacked graph and the share spent inside the victim")
    for ds, victim, graphs in cells(args.victim_share, args.data_root):
        for attack in ("grbcd", "prbcd"):
            ours = run(victim, ds, attack, graphs)
            print(f"{ds.name + ' / ' + victim.arch:20s} {attack:6s} {ours['n']:4d} graphs  {ours['s']:8.2f} s   "
                  f"victim {ours['victim_s']:8.2f} s ({ours['victim_s'] / ours['s']:.0%})   ASR {fmt(ours['asr'])}",
                  flush=True)


if __name__ == "__main__":
    run_script(main)
