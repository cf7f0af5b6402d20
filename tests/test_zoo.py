"""The victim zoo: committed checkpoints of the leaderboard's victims, and cells that reproduce from them."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from cama.evaluate import predict
from victims.store import get_victim, victim_key
from victims.zoo import read_manifest, verify_entry, zoo_dir, zoo_size

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = read_manifest()
TEST_DATASETS = ("MUTAG", "PROTEINS", "IMDB-BINARY", "ENZYMES")


def test_zoo_covers_the_leaderboard_grid_and_stays_small():
    import tomllib

    grid = tomllib.loads((ROOT / "bench.toml").read_text())
    want = {(d, v, s) for d in grid["datasets"] for v in grid["victims"] for s in grid["seeds"]}
    have = {(e["dataset"], e["arch"], e["seed"]) for e in MANIFEST if e.get("protocol", "seeds") == "seeds"}
    assert want <= have, sorted(want - have)[:5]
    assert zoo_size() <= 50 * 2**20


def test_zoo_holds_every_fold_of_the_cv10_datasets_it_has():
    """Protocol v2: an architecture of a dataset in the zoo under cv10 has the victims of all 10 folds
    (a cell attacks every fold); MUTAG has all 4 architectures."""
    import tomllib

    grid = tomllib.loads((ROOT / "bench_cv10.toml").read_text())
    cv = {(e["dataset"], e["arch"], e["seed"]) for e in MANIFEST if e.get("protocol") == "cv10"}
    pairs = {(d, v) for d, v, _ in cv}
    assert {("MUTAG", v) for v in grid["victims"]} <= pairs and {v for _, v in pairs} <= set(grid["victims"])
    assert cv == {(d, v, f) for d, v in pairs for f in grid["folds"]}


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"] for e in MANIFEST])
def test_manifest_entry_file_and_checksum(entry):
    verify_entry(entry)


@pytest.mark.parametrize("name", TEST_DATASETS)
def test_zoo_victims_reach_their_manifest_accuracy(tu_root, name):
    """Every zoo victim of the dataset loads, matches its cache key, and has its clean test accuracy."""
    from cama.data import load_dataset

    ds = load_dataset(name, root=tu_root)
    entries = [e for e in MANIFEST if e["dataset"] == name]
    assert entries
    for e in entries:  # defended victims by their name (ARCH+DEFENSE), undefended by architecture
        defense = e["train_config"].get("defense", "")
        protocol = e.get("protocol", "seeds")
        v = get_victim(ds, e["arch"] + (f"+{defense}" if defense else ""), e["seed"], device="cpu", progress=False,
                       protocol=protocol)
        key = victim_key(ds, e["arch"], e["seed"], v.request_config, protocol)
        assert v.source == "zoo" and v.path.name == e["file"] == f"{key}.pt"
        test = ds[v.split["test"]]
        acc = float((predict(v.model, test, torch.device("cpu")) == torch.cat([g.y for g in test])).float().mean())
        assert acc == pytest.approx(e["test_acc"], abs=1e-9), e["file"]


@pytest.mark.parametrize("protocol,threads", [("seeds", 1), ("seeds", 2), ("cv10", 1), ("cv10", 2)])
def test_committed_cells_reproduce_from_the_zoo(tu_root, protocol, threads):
    from cama.environment import hardware
    from cama.reproduce import CELLS, rerun_committed

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        seen = list(rerun_committed(tu_root, protocol=protocol))
    finally:
        torch.set_num_threads(before)
    assert {c.cell for c in seen} and len(seen) == 3 * len(CELLS)
    assert all(c.committed_asr is not None for c in seen), [c.cell for c in seen if c.committed_asr is None]
    cpu = hardware()["cpu"]
    assert [c for c in seen if not c.holds(cpu)] == []  # exact on the records' CPU model (cama.reproduce)


def test_zoo_can_be_disabled(monkeypatch, mutag, session_cache, tmp_path):
    """Without the zoo the victim is trained (into its own cache here, so that the session cache
    stays free of MUTAG's zoo victims for test_zoo_victims_come_before_the_cache)."""
    monkeypatch.setenv("CAMA_ZOO", "none")
    assert zoo_dir() is None and read_manifest() == []
    victim = get_victim(mutag, "gcn", 0, device="cpu", progress=False, cache_dir=tmp_path)
    assert victim.source == "trained" and victim.path.parent == tmp_path


def test_manifest_is_plain_json():
    data = json.loads((zoo_dir() / "manifest.json").read_text())
    assert data["format"] == "cama-zoo/1" and len(data["victims"]) == len(MANIFEST)
    assert {"dataset", "arch", "seed", "train_config", "featurizer", "test_acc", "sha256", "bytes"} <= set(MANIFEST[0])


def test_the_contract_is_exact_on_the_records_cpu_and_tolerant_elsewhere():
    from cama.reproduce import CROSS_CPU_GRAPHS, Comparison

    one_off = Comparison("c", 0.1, 36 / 71, 35 / 71, 71, 71, "Intel Xeon")
    assert not one_off.holds("Intel Xeon") and one_off.holds("AMD EPYC") and one_off.graphs_moved == 1
    far = Comparison("c", 0.1, (35 + CROSS_CPU_GRAPHS + 1) / 71, 35 / 71, 71, 71, "Intel Xeon")
    assert not far.holds("AMD EPYC")
    assert not Comparison("c", 0.1, 35 / 70, 35 / 71, 70, 71, "Intel Xeon").holds("AMD EPYC")  # other graphs


def test_zoo_script_rejects_a_missing_checkpoint_with_one_error(tmp_path, monkeypatch, capsys):
    """``python -m victims.zoo``: a checkpoint that does not exist is one error line and exit 1, and
    the zoo is left as it was; no argument is argparse's usage error (exit 2)."""
    import subprocess
    import sys

    monkeypatch.setenv("CAMA_ZOO", str(tmp_path / "zoo"))
    run = subprocess.run([sys.executable, "-m", "victims.zoo", str(tmp_path / "nope.pt")], cwd=ROOT,
                         capture_output=True, text=True)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines() == [f"Error: Checkpoint {tmp_path / 'nope.pt'} does not exist; "
                                               "train one with `cama train` (or delete the file and retrain)."]
    assert not (tmp_path / "zoo" / "manifest.json").exists()
    with pytest.raises(SystemExit) as usage:
        from victims.zoo import main
        main([])
    assert usage.value.code == 2 and "CHECKPOINT.pt" in capsys.readouterr().err
