"""`cama bench`: config parsing, kill + resume of a real sweep, Ray executor = local executor."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from cama.bench import BenchConfig, cell_done, make_cells, run_bench, specs_from_names
from cama.errors import CamaError
from cama.leaderboard import aggregate
from cama.records import load_records
from victims.store import get_victim

TIMING = {"seconds_per_graph", "created_at", "device"}
GRID = dict(datasets=["MUTAG"], victims=["gcn"], seeds=[0, 1], budgets=[0.05, 0.1],
            attacks=specs_from_names(["cama-node", "cama-subgraph", "random", "degree", "gradargmax", "genetic"], {}))


def _comparable(records: list[dict]) -> dict[str, dict]:
    """Records without their timing, and without the thread count (Ray workers run one thread:
    `benchmarks/reproducibility.py` measures that threads do not move a cell)."""
    out = {}
    for r in records:
        row = {k: v for k, v in r.items() if k not in TIMING}
        row["hardware"] = {k: v for k, v in row.get("hardware", {}).items() if k != "torch_threads"}
        out[r["run_id"]] = row
    return out


def _leaderboard(records: list[dict]):
    return aggregate(records).drop(columns=["seconds_per_graph"]).sort_values(["attack", "budget"]).reset_index(drop=True)


def test_config_from_toml(tmp_path):
    path = tmp_path / "b.toml"
    path.write_text('datasets = ["mutag"]\nseeds = [0, 1]\nbudgets = [0.1]\nmax_graphs = 0\n'
                    '[attacks.cama]\n[attacks.prbcd]\nmax_graphs = 50\n'
                    '[attacks.fast]\nattack = "cama-node"\nrounds = 0\nrerank = 0\n')
    cfg = BenchConfig.from_toml(path)
    assert cfg.max_graphs is None and cfg.victims == ["gcn"]
    assert [(s.label, s.attack, s.max_graphs) for s in cfg.attacks] == [
        ("cama", "cama", None), ("prbcd", "prbcd", 50), ("fast", "cama-node", None)]
    cells = make_cells(cfg)
    assert len(cells) == 6 and cells[0].dataset == "MUTAG"  # canonical spelling
    assert cfg.attacks[2].build("gradcam").describe_params()["rerank"] == 0


def test_per_dataset_sample_sizes(tmp_path):
    from cama.bench import cell_max_graphs

    path = tmp_path / "b.toml"
    path.write_text('datasets = ["MUTAG", "DD"]\n[attacks.prbcd]\nmax_graphs = {DD = 20}\n')
    cfg = BenchConfig.from_toml(path)
    assert {c.dataset: cell_max_graphs(c, cfg) for c in make_cells(cfg)} == {"MUTAG": None, "DD": 20}
    path.write_text('datasets = ["MUTAG", "DD"]\n[attacks.prbcd]\nmax_graphs = {DD = 10, "*" = 30}\n')
    cfg = BenchConfig.from_toml(path)
    assert {c.dataset: cell_max_graphs(c, cfg) for c in make_cells(cfg)} == {"MUTAG": 30, "DD": 10}
    path.write_text('[attacks.prbcd]\nmax_graphs = {DD = -1}\n')
    with pytest.raises(CamaError, match="per dataset"):
        BenchConfig.from_toml(path)
    # a grid-wide per-dataset sample; an attack's own value wins
    path.write_text('datasets = ["MUTAG", "DD"]\nmax_graphs_by = {DD = 7}\n[attacks.cama]\n[attacks.prbcd]\n'
                    'max_graphs = 30\n')
    cfg = BenchConfig.from_toml(path)
    assert {(c.dataset, c.spec.label): cell_max_graphs(c, cfg) for c in make_cells(cfg)} == {
        ("MUTAG", "cama"): None, ("DD", "cama"): 7, ("MUTAG", "prbcd"): 30, ("DD", "prbcd"): 30}
    path.write_text('max_graphs_by = {DD = "x"}\n')
    with pytest.raises(CamaError, match="max_graphs_by"):
        BenchConfig.from_toml(path)
    # one dataset × victim: "DD/gat" wins over "DD", only for that victim
    path.write_text('datasets = ["MUTAG", "DD"]\nvictims = ["gcn", "gat"]\nmax_graphs_by = {"MUTAG/gat" = 5}\n'
                    '[attacks.prbcd]\nmax_graphs = {DD = 20, "DD/gat" = 10}\n')
    cfg = BenchConfig.from_toml(path)
    assert {(c.dataset, c.victim): cell_max_graphs(c, cfg) for c in make_cells(cfg)} == {
        ("MUTAG", "gcn"): None, ("MUTAG", "gat"): 5, ("DD", "gcn"): 20, ("DD", "gat"): 10}


@pytest.mark.parametrize("text, message", [
    ('dataset = ["MUTAG"]', "unknown key"),
    ('[attacks.x]\nattack = "nope"', "unknown attack"),
    ('[attacks.cama]\nbogus = 1', "no parameter"),
    ('budgets = [1.5]', "ratio"),
    ('victims = ["mlp"]', "architecture"),
    ('datasets = "MUTAG"', "non-empty list"),
    ('datasets = [', "not valid TOML"),
    ('sample_from = "all"', "sample_from must be one of correct, test"),
])
def test_config_errors(tmp_path, text, message):
    path = tmp_path / "b.toml"
    path.write_text(text)
    with pytest.raises(CamaError, match=message):
        BenchConfig.from_toml(path)


def test_kill_and_resume_loses_nothing(mutag, tu_root, session_cache, tmp_path):
    for seed in GRID["seeds"]:  # victims cached first: the kill must land during the attacks
        get_victim(mutag, "gcn", seed, device="cpu", progress=False)
    reference = run_bench(BenchConfig(**GRID, runs=str(tmp_path / "ref")), data_root=str(tu_root), progress=False)
    assert reference.records_written == 6 * 2 * 2

    runs = tmp_path / "killed"
    cmd = [sys.executable, "-m", "cama.cli", "bench", "-d", "MUTAG", "-m", "gcn", "--seeds", "0,1", "-b", "0.05,0.1",
           "-a", "cama-node,cama-subgraph,random,degree,gradargmax,genetic", "--runs", str(runs),
           "--data-root", str(tu_root)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy())
    deadline = time.time() + 120
    while not list(runs.glob("*.json")) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
    partial = load_records(runs)
    assert 0 < len(partial) < 24, "the sweep was not interrupted mid-way"
    for p in runs.glob("*.json"):  # every file on disk is a whole record
        json.loads(p.read_text())
    cfg = BenchConfig(**GRID, runs=str(runs))
    complete = sum(cell_done(c, cfg, runs) for c in make_cells(cfg))  # a cell killed mid-write is rerun

    done = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"{complete} skipped" in done.stderr
    resumed = load_records(runs)
    assert len(resumed) == len(list(runs.glob("*.json"))) == 24
    assert not list(runs.glob(".tmp-*"))
    assert _comparable(resumed) == _comparable(load_records(reference.runs))
    assert _leaderboard(resumed).equals(_leaderboard(load_records(reference.runs)))


def test_force_and_skip(mutag, tu_root, session_cache, tmp_path):
    cfg = BenchConfig(datasets=["MUTAG"], victims=["gcn"], seeds=[0], budgets=[0.1],
                      attacks=specs_from_names(["random", "degree"], {}), runs=str(tmp_path))
    assert run_bench(cfg, data_root=str(tu_root), progress=False).ran == 2
    assert run_bench(cfg, data_root=str(tu_root), progress=False).ran == 0
    assert run_bench(cfg, data_root=str(tu_root), progress=False, force=True).records_written == 2
    assert len(load_records(tmp_path)) == 2


def test_inapplicable_attack_cells_are_skipped(imdb, tu_root, session_cache, tmp_path):
    """A feature attack on degree features is planned as n/a: never run, never pending."""
    from cama.bench import plan_cells

    cfg = BenchConfig(datasets=["IMDB-BINARY"], victims=["gcn"], seeds=[0], budgets=[0.1],
                      attacks=specs_from_names(["cama-feature", "degree"], {}), runs=str(tmp_path), max_graphs=5)
    summary = run_bench(cfg, data_root=str(tu_root), progress=False)
    assert summary.records_written == 1 and load_records(tmp_path)[0]["attack"] == "degree"
    assert (summary.ran, summary.inapplicable) == (1, 1)
    status = plan_cells(make_cells(cfg), cfg, tmp_path, data_root=str(tu_root))
    assert sorted(status.values()) == ["done", "n/a"]
    again = run_bench(cfg, data_root=str(tu_root), progress=False)
    assert (again.ran, again.skipped, again.inapplicable) == (0, 1, 1)


def test_ray_missing_is_one_clear_error(monkeypatch, tmp_path, mutag, tu_root):
    monkeypatch.setitem(sys.modules, "ray", None)
    cfg = BenchConfig(datasets=["MUTAG"], victims=["gcn"], seeds=[0], budgets=[0.1],
                      attacks=specs_from_names(["random"], {}), runs=str(tmp_path))
    with pytest.raises(CamaError, match="pip install 'cama\\[ray\\]'"):
        run_bench(cfg, executor="ray", data_root=str(tu_root), progress=False)


def test_ray_executor_matches_local(mutag, tu_root, session_cache, tmp_path):
    """Cells as tasks on a local Ray instance give the same records as the local executor."""
    pytest.importorskip("ray")
    grid = dict(datasets=["MUTAG"], victims=["gcn"], seeds=[0], budgets=[0.05, 0.1],
                attacks=specs_from_names(["cama-node", "genetic"], {}))
    local = run_bench(BenchConfig(**grid, runs=str(tmp_path / "local")), data_root=str(tu_root), progress=False)
    distributed = run_bench(BenchConfig(**grid, runs=str(tmp_path / "ray")), executor="ray",
                            data_root=str(tu_root), progress=False)
    assert local.records_written == distributed.records_written == 4
    assert _comparable(load_records(tmp_path / "ray")) == _comparable(load_records(tmp_path / "local"))


@pytest.mark.parametrize("args, message", [
    (["--config", "missing.toml"], "does not exist"),
    (["-p", "rounds=2"], "-p/--param applies to the attacks named with -a"),
    (["-a", "random", "-x", "prbcd"], "not in the grid"),
    (["-m", "mlp"], "Unknown architecture"),
    (["-b", "0"], "out of range"),
    (["--executor", "spark"], "Invalid value"),
])
def test_bench_cli_bad_input(tmp_path, args, message):
    from click.testing import CliRunner

    from cama.cli import cli

    res = CliRunner().invoke(cli, ["bench", "--runs", str(tmp_path / "r"), "--dry-run", *args])
    assert res.exit_code == 2 and message in res.output, res.output
    assert "Traceback" not in res.output


def test_bench_cli_dry_run_lists_cells(tmp_path, tu_root):
    from click.testing import CliRunner

    from cama.cli import cli

    cfg = tmp_path / "b.toml"
    cfg.write_text('datasets = ["MUTAG", "IMDB-BINARY"]\nvictims = ["gcn", "gin"]\n[attacks.random-feature]\n'
                   '[attacks.degree]\n')
    res = CliRunner().invoke(cli, ["bench", "--config", str(cfg), "--runs", str(tmp_path / "r"), "--dry-run",
                                   "--data-root", str(tu_root)])
    assert res.exit_code == 0, res.output
    assert res.output.count("pending MUTAG/") == 4 and "pending MUTAG/gin/s0/degree" in res.output
    # a feature attack on IMDB-BINARY's degree features is not applicable, not pending
    assert "n/a     IMDB-BINARY/gcn/s0/random-feature" in res.output and "pending IMDB-BINARY/gcn/s0/degree" in res.output
    assert "8 cells: 0 done, 2 not applicable" in res.output


def test_bench_attack_flag_keeps_the_config_tables(tmp_path):
    """``-a NAME`` on a config reruns that config's column: its parameters and per-dataset samples
    (so the run ids are the leaderboard's); a name the config lacks runs at registry defaults; with
    ``-p`` the named attacks take the given parameters instead."""
    from cama.bench_config import bench_config

    cfg_path = tmp_path / "grid.toml"
    cfg_path.write_text('[attacks.prbcd]\nmax_graphs = {"DD/gat" = 10}\n'
                        '[attacks.cama-node-1pass]\nattack = "cama-node"\nrounds = 0\n')
    full = {s.label: s for s in bench_config(cfg_path).attacks}
    picked = bench_config(cfg_path, attacks=["prbcd", "cama-node-1pass", "random"]).attacks
    assert [s.label for s in picked] == ["prbcd", "cama-node-1pass", "random"]
    assert picked[0] == full["prbcd"] and picked[0].max_graphs_by == (("DD/gat", 10),)
    assert picked[1] == full["cama-node-1pass"] and dict(picked[1].params)["rounds"] == 0
    assert picked[2].attack == "random" and picked[2].max_graphs is None
    tuned = bench_config(cfg_path, attacks=["prbcd"], params={"epochs": 10}).attacks
    assert dict(tuned[0].params) == {"epochs": 10} and tuned[0].max_graphs_by == ()
