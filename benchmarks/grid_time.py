"""Whole-benchmark time of the leaderboard grid, from the records `cama bench` wrote.

    python benchmarks/grid_time.py [--runs results/runs/bench] [--measure-training] [--data-root DIR]

A cell's cost is its attack + evaluation wall time: ``seconds_per_graph × n_attacked`` of its
costliest budget record (every record of a cell carries the cell's one-off attack time; the
other budgets' extra evaluation passes are not counted, a few ms). Costs are summed per dataset
for the CAMA attacks, the cheap baselines (random, degree, gradargmax) and the optimisation
baselines (PRBCD, GRBCD, genetic), and printed with their shares. ``--measure-training``
retrains the seed-0 victim of every (dataset, architecture) of the grid in a temporary cache
and counts three seeds' worth (training time does not depend much on the seed).
"""
from __future__ import annotations

import argparse
import tempfile
import time

import pandas as pd

from cama.records import load_records

OPTIMISATION = {"prbcd", "grbcd", "genetic"}


def family(attack: str) -> str:
    if attack in OPTIMISATION:
        return "optimisation baselines"
    return "CAMA" if attack.startswith("cama") else "cheap baselines"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", default="results/runs/bench")
    ap.add_argument("--measure-training", action="store_true")
    ap.add_argument("--data-root", default=None)
    args = ap.parse_args()
    df = pd.DataFrame(load_records(args.runs))
    df["cost"] = df.seconds_per_graph * df.n_attacked
    cells = df.groupby(["dataset", "victim", "victim_seed", "attack", "label"], dropna=False).cost.max().reset_index()
    cells["family"] = cells.attack.map(family)
    table = cells.pivot_table(index="dataset", columns="family", values="cost", aggfunc="sum", fill_value=0.0)
    table["cells"] = cells.groupby("dataset").size()
    table.loc["total"] = table.sum()
    print(f"{len(cells)} cells from {len(df)} records in {args.runs}; seconds of attack + evaluation:")
    print(table.round(0).to_string())
    tot = table.loc["total"]
    allsec = sum(tot.get(f, 0.0) for f in ("CAMA", "cheap baselines", "optimisation baselines"))
    for f in ("CAMA", "cheap baselines", "optimisation baselines"):
        print(f"{f:24s} {tot.get(f, 0.0) / 60:7.1f} min  ({100 * tot.get(f, 0.0) / allsec:4.1f}%)")
    if args.measure_training:
        from cama.data import load_dataset
        from victims.store import train_victim

        total = 0.0
        for name, part in cells.groupby("dataset"):
            ds = load_dataset(name, root=args.data_root)
            for arch in sorted(part.victim.unique()):
                n_seeds = part[part.victim == arch].victim_seed.nunique()
                with tempfile.TemporaryDirectory():
                    t = time.perf_counter()
                    train_victim(ds, arch, 0, device="cpu", progress=False)
                    sec = time.perf_counter() - t
                total += sec * n_seeds
                print(f"training {name}/{arch}: {sec:.1f} s per victim × {n_seeds} seeds")
        without = tot.get("CAMA", 0.0) + tot.get("cheap baselines", 0.0)
        print(f"victims' training (estimated from seed 0): {total / 60:.1f} min")
        print(f"grid without the optimisation baselines, training included: {(without + total) / 60:.1f} min; "
              f"the optimisation baselines add {tot.get('optimisation baselines', 0.0) / 60:.1f} min")


if __name__ == "__main__":
    main()
