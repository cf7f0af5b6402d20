"""How far committed cells move with the CPU kernel family and the thread count.

    python benchmarks/reproducibility.py [--data-root ../shared/data/TU] [--extra DATASET/ARCH/LABEL ...]

Re-runs the zoo cells of ``cama.reproduce.CELLS`` (plus ``--extra`` ones) on seed 0 in one
subprocess per setting — ``ATEN_CPU_CAPABILITY`` ∈ {default, avx2, avx512} (those the CPU has)
× 1 or 2 torch threads — and prints, per setting, how many (cell, budget) pairs differ from the
committed records and the largest ASR gap and graph count. The numbers quoted in README's
reproducibility contract come from here (``results/benchmarks/reproducibility.txt``).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cama.errors import run_script  # noqa: E402

DEFAULT_EXTRA = ("PROTEINS/gcn/cama-subgraph", "PROTEINS/gin/grbcd", "MUTAG/gcn/cama-grad", "MUTAG/graphsage/genetic")


def capabilities() -> list[str]:
    import torch

    best = torch.backends.cpu.get_cpu_capability().lower()
    order = ["default", "avx2", "avx512"]
    return order[: order.index(best) + 1] if best in order else ["default", best]


def worker(args) -> None:
    from cama.reproduce import CELLS, rerun_committed

    cells = CELLS + tuple(tuple(e.split("/")) for e in args.extra)
    for c in rerun_committed(args.data_root, cells):
        print(json.dumps({"cell": c.cell, "budget": c.budget, "asr": c.asr, "committed": c.committed_asr,
                          "n": c.n_attacked, "equal": c.equal}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-root", default=os.environ.get("CAMA_DATA", str(ROOT.parent / "shared" / "data" / "TU")))
    ap.add_argument("--extra", nargs="*", default=list(DEFAULT_EXTRA), help="More cells, DATASET/ARCH/LABEL.")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args)
    import torch

    print(f"cpu capability of this machine: {torch.backends.cpu.get_cpu_capability()}; cells: "
          f"{len(__import__('cama.reproduce', fromlist=['CELLS']).CELLS) + len(args.extra)} × 3 budgets")
    print(f"{'ATEN_CPU_CAPABILITY':>20} {'threads':>7} {'differ':>9} {'max |ΔASR|':>10} {'max graphs':>10}  cells that moved")
    for cap in capabilities():
        for threads in args.threads.split(","):
            env = os.environ | {"ATEN_CPU_CAPABILITY": cap, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
            out = subprocess.run([sys.executable, __file__, "--worker", "--data-root", args.data_root, "--extra",
                                  *args.extra], env=env, capture_output=True, text=True, check=False)
            if out.returncode:
                print(f"{cap:>20} {threads:>7} FAILED: {out.stderr.strip().splitlines()[-1:]}")
                continue
            rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
            moved = [r for r in rows if not r["equal"]]
            gap = max((abs(r["asr"] - (r["committed"] or 0.0)) for r in moved), default=0.0)
            graphs = max((round(abs(r["asr"] - (r["committed"] or 0.0)) * r["n"]) for r in moved), default=0)
            names = sorted({f"{r['cell']}@{r['budget']:g}" for r in moved})
            print(f"{cap:>20} {threads:>7} {len(moved):>4}/{len(rows):<4} {gap:>10.4f} {graphs:>10}  "
                  f"{', '.join(names) or '-'}", flush=True)


if __name__ == "__main__":
    run_script(main)
