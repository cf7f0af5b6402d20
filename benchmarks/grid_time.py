"""Whole-benchmark time of the leaderboard grid, from the records `cama bench` wrote and the
training times its victims' checkpoints hold (the victim zoo's, else the cache's). Under protocol v2
(``--runs results/runs/v2/bench``) a victim is one fold's selected model, and its training time is
that fold's whole model selection (every configuration of the grid).

    python benchmarks/grid_time.py [--runs results/runs/bench] [--cache-dir DIR] [--data-root DIR]

A cell's cost is its attack + evaluation wall time: ``seconds_per_graph × n_attacked`` of its
costliest budget record (every record of a cell carries the cell's one-off attack time; the
other budgets' extra evaluation passes are not counted, a few ms). Costs are summed per dataset
for the CAMA attacks, the cheap baselines (random, degree, gradargmax) and the optimisation
baselines (PRBCD, GRBCD, genetic, and the gradient feature / combined baselines), and printed with their shares. Victims' training time is the
``train_seconds`` that every checkpoint of the grid's victims records (the zoo's checkpoint,
else the victim cache of ``--cache-dir``, default cama's cache); checkpoints written before it was recorded count as unknown.
Both are sums of task seconds: when the grid ran in parallel (``--executor ray``), its wall
time is less, so time `cama bench` itself for that (its summary line splits off training).
"""
from __future__ import annotations

import argparse

import pandas as pd

from cama.errors import CamaError, run_script
from cama.records import load_records

#: attacks that optimise over many victim passes: the RBCD pair, the genetic search and the gradient
#: feature / combined baselines (grad-combined runs GRBCD)
OPTIMISATION = {"prbcd", "grbcd", "genetic", "grad-feature", "grad-feature-greedy", "grad-combined"}


def family(attack: str) -> str:
    if attack in OPTIMISATION:
        return "optimisation baselines"
    return "CAMA" if attack.startswith("cama") else "cheap baselines"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", default="results/runs/bench")
    ap.add_argument("--cache-dir", default=None, help="victim cache [cama's cache]")
    ap.add_argument("--data-root", default=None)
    args = ap.parse_args()
    records = load_records(args.runs)
    if not records:
        raise CamaError(f"No cama records in {args.runs}; run `cama bench --config bench.toml` first, "
                        "or pass --runs FOLDER holding its records.")
    df = pd.DataFrame(records)
    df["cost"] = df.seconds_per_graph * df.n_attacked
    df["protocol"] = df["protocol"].fillna("seeds") if "protocol" in df else "seeds"
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
    from cama.data import load_dataset
    from cama.records import load_torch_file
    from victims.store import locate_victim

    total, unknown, per_dataset = 0.0, 0, {}
    protocol = df.protocol.iloc[0]  # load_records' folder holds one protocol (the leaderboard refuses two)
    victims = cells[["dataset", "victim", "victim_seed"]].drop_duplicates()
    for name, part in victims.groupby("dataset"):
        ds = load_dataset(name, root=args.data_root)
        for arch, seed in zip(part.victim, part.victim_seed):
            path, _ = locate_victim(ds, arch, int(seed), cache_dir=args.cache_dir, protocol=protocol)
            sec = float(load_torch_file(path, "retrain it").get("train_seconds", 0.0)) if path.is_file() else 0.0
            unknown += sec == 0.0
            per_dataset[name] = per_dataset.get(name, 0.0) + sec
            total += sec
    print("victims' training, seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in per_dataset.items())
          + (f" ({unknown} of {len(victims)} victims without a recorded training time)" if unknown else ""))
    without = tot.get("CAMA", 0.0) + tot.get("cheap baselines", 0.0)
    extra = tot.get("optimisation baselines", 0.0)
    print(f"victims' training {total / 60:.1f} min; grid without the optimisation baselines, training included: "
          f"{(without + total) / 60:.1f} min of task time (summed: a parallel run's wall time is less)"
          + (f"; the optimisation baselines add {extra / 60:.1f} min" if extra else ""))

if __name__ == "__main__":
    run_script(main)
