"""CLI: help texts, a real run end to end, and one clear error for every user mistake."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
from click.testing import CliRunner

from cama.cli import cli

CAMA = [sys.executable, "-m", "cama.cli"]


class Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def run(args, env_extra=None):
    """Run the CLI in-process (fast); ``run_process`` runs it as a real subprocess."""
    res = CliRunner().invoke(cli, args, env=env_extra, catch_exceptions=True)
    stderr = res.stderr
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        import traceback
        stderr += "Traceback\n" + "".join(traceback.format_exception(res.exception))
    return Result(res.exit_code, res.stdout, stderr)


def run_process(args, env_extra=None):
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run(CAMA + args, capture_output=True, text=True, env=env, timeout=600)


def assert_clean_error(proc, *needles):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr
    for n in needles:
        assert n in proc.stderr, proc.stderr


@pytest.mark.parametrize("cmd", [[], ["train"], ["attack"], ["explain"], ["datasets"], ["evaluate"], ["bench"],
                                 ["leaderboard"], ["attacks"]])
def test_help_shows_an_example(cmd):
    proc = run(cmd + ["--help"])
    assert proc.returncode == 0
    assert "Example" in proc.stdout and "cama " in proc.stdout


def test_unknown_dataset_offline(tmp_path, session_cache):
    proc = run_process(["train", "-d", "NOT-A-DATASET", "--data-root", str(tmp_path)])
    assert_clean_error(proc, "NOT-A-DATASET", "--data-root")


def test_dataset_missing_offline_names_the_fix(tmp_path, session_cache):
    # A known name whose files are absent: the download fails here (no internet) → one message.
    proc = run_process(["train", "-d", "PTC_FM", "--data-root", str(tmp_path)], {"http_proxy": "http://127.0.0.1:9",
                                                                          "https_proxy": "http://127.0.0.1:9"})
    assert_clean_error(proc, "PTC_FM", "raw")


def test_unwritable_cache_folder(tmp_path, tu_root):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    proc = run(["train", "-d", "MUTAG", "--data-root", str(tu_root), "--cache-dir", str(locked / "victims")],
               {"CAMA_CACHE": str(locked)})
    assert_clean_error(proc, "not writable")
    locked.chmod(0o755)


def test_unknown_architecture(tu_root):
    proc = run_process(["train", "-d", "MUTAG", "-m", "transformer", "--data-root", str(tu_root)])
    assert_clean_error(proc, "Unknown architecture 'transformer'", "gcn, gin, graphsage, gat")


def test_corrupt_and_foreign_checkpoints(tmp_path):
    from cama.errors import CamaError
    from victims.store import load_victim

    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"this is not a checkpoint")
    with pytest.raises(CamaError, match="corrupt"):
        load_victim(bad)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(CamaError, match="not a cama victim checkpoint"):
        load_victim(foreign)
    with pytest.raises(CamaError, match="does not exist"):
        load_victim(tmp_path / "missing.pt")


def test_train_cli_prints_accuracy_and_checkpoint(tu_root, session_cache, tmp_path):
    proc = run(["train", "-d", "MUTAG", "-m", "gcn", "--seed", "0", "--data-root", str(tu_root), "--table",
                str(tmp_path)])
    assert proc.returncode == 0, proc.stderr
    assert "test" in proc.stdout and ".pt" in proc.stdout
    csv = (tmp_path / "victims.csv").read_text().splitlines()
    assert csv[0].startswith("dataset,victim,test_acc_mean,test_acc_std")
    assert csv[1].startswith("MUTAG,gcn,")


def test_attack_cli_json_records(tu_root, session_cache, tmp_path):
    out = tmp_path / "runs"
    proc = run(["attack", "-d", "MUTAG", "-m", "gcn", "-a", "cama-node,random", "-b", "0.1,0.2", "--format", "json",
                "--out", str(out), "--data-root", str(tu_root), "--save-adversarial", str(tmp_path / "adv.pt")])
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 4 and len(list(out.glob("*.json"))) == 4
    fields = {"schema", "run_id", "dataset", "victim", "victim_seed", "attack", "params", "budget_kind", "budget",
              "n_test", "n_attacked", "n_success", "clean_acc", "adv_acc", "asr", "mean_edge_flips",
              "mean_feature_edits", "seconds_per_graph", "queries_per_graph", "device", "versions", "created_at"}
    for rec in lines:
        assert fields <= set(rec)
        assert 0 <= rec["asr"] <= 1 and rec["n_success"] <= rec["n_attacked"]
    from cama.adversarial import AdversarialDataset
    ds = AdversarialDataset(tmp_path / "adv.pt", budget="cama-node@0.2")
    assert len(ds) == lines[0]["n_attacked"]


@pytest.mark.parametrize("args,needle", [
    (["-a", "nope"], "Unknown attack 'nope'"),
    (["-b", "0"], "out of range"),
    (["-b", "1.5"], "out of range"),
    (["-b", "abc"], "not a number"),
    (["--constraints", "valence,tidy"], "Unknown constraint(s) tidy"),
    (["-m", "gcn+shield"], "Unknown defence 'shield'"),
])
def test_attack_bad_input(tu_root, args, needle):
    proc = run(["attack", "-d", "MUTAG", "-m", "gcn", "--data-root", str(tu_root)] + args)
    assert proc.returncode == 2
    assert_clean_error(proc, needle)


def test_constraint_that_does_not_fit_the_dataset(tu_root):
    """valence needs atoms: one clear error (exit 2) before any victim is trained."""
    proc = run(["attack", "-d", "PROTEINS", "-m", "gcn", "--constraints", "valence", "--data-root", str(tu_root)])
    assert proc.returncode == 2
    assert_clean_error(proc, "valence constraint needs a molecular dataset", "degree,connected")


def test_bad_bench_constraints(tmp_path):
    proc = run(["bench", "-d", "MUTAG", "--constraints", "sparse", "--runs", str(tmp_path), "--dry-run"])
    assert proc.returncode == 2
    assert_clean_error(proc, "Unknown constraint(s) sparse")


def test_feature_attack_on_featureless_dataset(tu_root):
    proc = run(["attack", "-d", "IMDB-BINARY", "-m", "gcn", "-a", "cama-feature", "--data-root", str(tu_root)])
    assert_clean_error(proc, "cama-feature", "structure attack")


def test_explain_draws_figure_and_prints_top_nodes(tu_root, mutag_gcn, tmp_path):
    fig = tmp_path / "fig.png"
    proc = run(["explain", "-d", "MUTAG", "-m", "gcn", "--graph", "7", "--method", "gradcam", "--out", str(fig),
                "--data-root", str(tu_root)])
    assert proc.returncode == 0, proc.stderr
    assert fig.stat().st_size > 10_000 and fig.read_bytes()[:4] == b"\x89PNG"
    assert "top nodes" in proc.stdout and "top 1-hop subgraph" in proc.stdout
    assert " C " in proc.stdout  # atom names, not indices
    bad = run(["explain", "-d", "MUTAG", "-m", "gcn", "--graph", "999", "--data-root", str(tu_root)])
    assert_clean_error(bad, "out of range")


def test_allocator_tuning_is_accepted_on_glibc():
    """glibc takes both thresholds (it refuses an mmap threshold over 32 MiB, and the ``cama``
    command would then run with the page-faulting defaults)."""
    import platform

    from cama.runtime import tune_allocator

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("the allocator tuning is for glibc")
    assert tune_allocator() is True


@pytest.mark.parametrize("param, needle", [("anchors=abc", "anchors must be int"), ("mode=cutt", "mode must be one of"),
                                           ("nope=1", "apply to none of the attacks")])
def test_bad_attack_parameter_fails_before_training(tmp_path, param, needle):
    """-p values are typed and checked before a dataset is loaded or a victim trained."""
    proc = run(["attack", "-d", "MUTAG", "-a", "cama-node,cama-subgraph", "-p", param, "--data-root", str(tmp_path)])
    assert proc.returncode != 0 and "Traceback" not in proc.stderr and needle in proc.stderr, proc.stderr


def test_benchmark_scripts_report_user_errors_like_the_cli(tmp_path):
    """`benchmarks/` scripts run through cama.errors.run_script: a CamaError is one line, exit 2."""
    script = os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks", "grid_time.py")
    proc = subprocess.run([sys.executable, script, "--runs", str(tmp_path / "no-records")],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 2
    assert_clean_error(proc, "No cama records", "--runs FOLDER")
    assert proc.stderr.count("\n") == 1


def test_device_parity_script_compares_attacks_across_devices(tu_root, session_cache):
    """The prepared GPU check runs end to end; without CUDA both sides are the CPU, so every ASR
    and importance score agrees exactly and the script exits 0; a bad attack name is one clear error."""
    script = os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks", "device_parity.py")
    base = [sys.executable, script, "--data-root", str(tu_root), "--max-graphs", "8"]
    proc = subprocess.run(base + ["--attacks", "cama-node,grbcd", "--device", "cpu"],
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "clean predictions equal: True" in out and "gradcam  importance max |cpu − device| = 0.00e+00  ok" in out
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith(("cama-node ", "grbcd "))}
    assert set(rows) == {"cama-node", "grbcd"} and "DIFF" not in out and out.rstrip().endswith("0 problem(s)")
    bad = subprocess.run(base + ["--attacks", "nope"], capture_output=True, text=True, timeout=300, check=False)
    assert_clean_error(bad, "Unknown attack 'nope'")
