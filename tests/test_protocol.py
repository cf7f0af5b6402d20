"""Protocol v2 through the benchmark: fold victims (keys, checkpoints, zoo), v2 grids and records,
and a leaderboard that never mixes two protocols."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch
from click.testing import CliRunner

from cama.bench import BenchConfig, make_cells, run_bench
from cama.cli import cli
from cama.cv import stratified_folds
from cama.errors import CamaError
from cama.leaderboard import write_leaderboard
from cama.records import load_records, run_id
from victims.store import get_victim, load_victim, locate_victim, victim_key
from victims.train import TrainConfig
from victims.zoo import add_to_zoo

BASE = TrainConfig()  # the base cama bench asks for (the cv10 grid varies hidden, dropout, lr)


@pytest.fixture(scope="module")
def fold_victim_file(mutag, tmp_path_factory):
    cache = tmp_path_factory.mktemp("v2-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CAMA_ZOO", "none")  # trained here, not the committed zoo's
        victim = get_victim(mutag, "gcn", 3, device="cpu", cache_dir=cache, progress=False, protocol="cv10")
    return victim, cache


def test_a_fold_victim_is_tested_on_its_fold_and_keyed_by_fold_and_protocol(mutag, fold_victim_file):
    victim, cache = fold_victim_file
    fold3 = stratified_folds(mutag.y, 10, 0)[3]
    assert torch.equal(victim.split["test"], fold3)
    assert not set(victim.split["train"].tolist()) & set(fold3.tolist())
    assert victim.path.name.startswith("MUTAG-gcn-f3-")
    assert victim_key(mutag, "gcn", 3, BASE, "cv10") != victim_key(mutag, "gcn", 3, BASE)
    # the selected configuration is one of the grid's, the key keeps the requested base
    assert (victim.train_config.hidden, victim.train_config.lr) in {(h, lr) for h in (32, 64) for lr in (0.01, 0.001)}
    again = load_victim(victim.path)
    assert (again.protocol, again.base_config, again.seed) == ("cv10", BASE, 3)
    assert victim.source == "trained" and get_victim(mutag, "gcn", 3, BASE, device="cpu", cache_dir=cache,
                                                     progress=False, protocol="cv10").source in ("cache", "zoo")


def test_fold_victims_enter_the_zoo_under_the_key_bench_asks_for(mutag, tu_root, fold_victim_file, tmp_path,
                                                                  monkeypatch):
    victim, cache = fold_victim_file
    monkeypatch.setenv("CAMA_ZOO", str(tmp_path / "zoo"))
    monkeypatch.setenv("CAMA_DATA", str(tu_root))
    (entry,) = add_to_zoo([victim.path], tmp_path / "zoo")
    assert entry["protocol"] == "cv10" and entry["seed"] == 3
    path, source = locate_victim(mutag, "gcn", 3, BASE, cache_dir=tmp_path / "empty", protocol="cv10")
    assert source == "zoo" and path.name == victim.path.name
    assert locate_victim(mutag, "gcn", 3, BASE, cache_dir=tmp_path / "empty")[1] == "cache"  # v1 is another victim


def test_a_defended_fold_victim_is_its_folds_selected_model_plus_the_defence(mutag, fold_victim_file, monkeypatch):
    plain, cache = fold_victim_file
    monkeypatch.setenv("CAMA_ZOO", "none")
    guard = get_victim(mutag, "gcn+guard", 3, device="cpu", cache_dir=cache, progress=False, protocol="cv10")
    assert guard.train_config == replace(plain.train_config, defense="guard:0.1")  # no second selection
    assert all(torch.equal(guard.split[k], plain.split[k]) for k in ("train", "val", "test"))
    assert guard.path != plain.path and guard.path.name.startswith("MUTAG-gcn+guard-0.1-f3-")
    again = load_victim(guard.path)
    assert again.base_config.defense == "guard:0.1" and again.protocol == "cv10"
    assert get_victim(mutag, "gcn+guard", 3, device="cpu", cache_dir=cache, progress=False,
                      protocol="cv10").source == "cache"


def test_v2_grids_take_folds_and_refuse_what_is_not_a_fold():
    cfg = BenchConfig.from_dict({"protocol": "cv10", "attacks": {"random": {}}})
    assert cfg.seeds == list(range(10))
    assert [c.name for c in make_cells(cfg)][:2] == ["MUTAG/gcn/f0/random", "MUTAG/gcn/f1/random"]
    for raw, message in [({"folds": [0]}, "protocol"), ({"protocol": "cv10", "folds": [10]}, "0..9"),
                         ({"protocol": "cv10", "folds": [0], "seeds": [0]}, "not both"),
                         ({"protocol": "loo"}, "Unknown protocol")]:
        with pytest.raises(CamaError, match=message):
            BenchConfig.from_dict(raw)


def test_v2_records_name_the_fold_and_never_share_a_leaderboard_with_v1(mutag, tu_root, fold_victim_file, tmp_path,
                                                                        monkeypatch):
    _, cache = fold_victim_file
    monkeypatch.setenv("CAMA_ZOO", "none")
    base = {"datasets": ["MUTAG"], "victims": ["gcn"], "budgets": [0.1], "attacks": {"random": {}}}
    v2 = BenchConfig.from_dict(base | {"protocol": "cv10", "folds": [3], "runs": str(tmp_path / "v2")})
    run_bench(v2, data_root=str(tu_root), cache_dir=str(cache), device="cpu", progress=False)
    (rec,) = [json.loads(p.read_text()) for p in (tmp_path / "v2").glob("*.json")]
    assert rec["protocol"] == "cv10" and rec["fold"] == 3 and "victim_seed" not in rec
    assert rec["n_test"] == len(stratified_folds(mutag.y, 10, 0)[3])
    assert rec["run_id"] == run_id(rec) and load_records(tmp_path / "v2")[0]["victim_seed"] == 3
    v1 = BenchConfig.from_dict(base | {"seeds": [0], "runs": str(tmp_path / "v1")})
    run_bench(v1, data_root=str(tu_root), cache_dir=str(cache), device="cpu", progress=False)
    (old,) = load_records(tmp_path / "v1")
    assert "protocol" not in old and old["run_id"] != rec["run_id"]
    with pytest.raises(CamaError, match="two protocols"):
        write_leaderboard(tmp_path / "v2", tmp_path / "lb", "test", cost_runs=tmp_path / "v1")
    with pytest.raises(CamaError, match="all 10 folds"):  # one fold of ten: nothing to rank yet
        write_leaderboard(tmp_path / "v2", tmp_path / "lb", "test")
    full = tmp_path / "v2full"  # the same cell on every fold (its other folds written from it), and a
    full.mkdir()                # GIN section still running (two of ten folds)
    for victim, folds in (("gcn", range(10)), ("gin", (3, 4))):
        for f in folds:
            copy = rec | {"victim": victim, "fold": f, "seed": f}
            copy["run_id"] = run_id(copy)
            (full / f"{copy['run_id']}.json").write_text(json.dumps(copy))
    write_leaderboard(full, tmp_path / "lb", "test")
    md = (tmp_path / "lb" / "LEADERBOARD.md").read_text()
    assert "Protocol v2 (`cv10`)" in md and "## MUTAG — gcn" in md and "## MUTAG — gin" not in md
    assert "**Pending** (not in any table until every cell has all 10 folds" in md
    assert "MUTAG gin (0 of 1 cells on all folds)" in md and "from 10 run records" in md


def test_cama_cv_saves_zoo_victims_only_of_the_standard_protocol(tu_root, tmp_path):
    res = CliRunner().invoke(cli, ["cv", "-d", "MUTAG", "-m", "gcn", "--folds", "5", "--fold", "0", "--save",
                                   str(tmp_path), "--data-root", str(tu_root)])
    assert res.exit_code == 2 and "cv10" in res.output and "Traceback" not in res.output


@pytest.mark.parametrize("grid", ["bench", "transfer", "constrained", "cost", "defended"])
def test_every_v2_grid_runs_every_fold_into_the_v2_records(grid):
    """Each grid's v2 TOML is its v1 grid on cv10: every fold, records under results/runs/v2/, the
    same victims and attacks (so the two leaderboards compare the same methods)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    v1 = BenchConfig.from_toml(root / f"{grid}.toml")
    v2 = BenchConfig.from_toml(root / f"{grid}_cv10.toml")
    assert v2.protocol == "cv10" and v2.seeds == list(range(10))  # seeds are folds under cv10
    assert Path(v2.runs).parts[:3] == ("results", "runs", "v2")
    assert v2.victims == v1.victims and v2.surrogates == v1.surrogates
    assert [a.label for a in v2.attacks] == [a.label for a in v1.attacks]
    assert len({c.name for c in make_cells(v2)}) == len(make_cells(v2))
