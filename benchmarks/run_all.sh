#!/usr/bin/env bash
# Run every benchmark and keep its output under results/benchmarks/ (quoted in README "Performance").
#   CAMA_DATA=../shared/data/TU bash benchmarks/run_all.sh
# Run it on an otherwise idle machine: the scripts time both sides in one run, but a busy CPU
# still skews ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
out=results/benchmarks
mkdir -p "$out"
machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $($PY -c 'import torch; print("torch", torch.__version__, torch.get_num_threads(), "threads")')"
for script in importance_batched attack_vs_inference cama_vs_rbcd scaling grid_time valence_constraint; do
    echo "== $script ($machine, $(date -u +%F))"
    { echo "\$ python benchmarks/$script.py   # $machine, $(date -u +%F)"; $PY "benchmarks/$script.py"; } \
        > "$out/$script.txt.part" && mv "$out/$script.txt.part" "$out/$script.txt"
    cat "$out/$script.txt"
done
