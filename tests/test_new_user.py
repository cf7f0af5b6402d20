"""What a new user hits, each with its clear message and exit code: an unwritable output folder,
a partial suite, an untrained model, a model that raises late, sample sizes, validation order,
file modes and Ctrl-C (each test failed on the code before it)."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import torch

from tests.test_cli import run

MODELS = Path(__file__).parent / "models" / "foreign.py"


def _locked(tmp_path: Path) -> Path:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)  # cama honours the mode bits even for root (a read-only data source)
    return folder


def _no_partial_files(folder: Path) -> None:
    assert not [p for p in folder.rglob(".tmp-*")], "a temporary file was left behind"


@pytest.mark.parametrize("command", [
    ["attack", "-d", "MUTAG", "-m", "gcn", "-a", "random", "-b", "0.1"],
    ["evaluate", "--model", f"{MODELS}:build_sumpool", "-d", "MUTAG", "-a", "random", "-b", "0.1"],
    ["leaderboard", "--runs", "results/runs/cost"],
])
def test_unwritable_output_folder_is_refused_before_the_work(tu_root, tmp_path, command):
    locked = _locked(tmp_path)
    proc = run(command + ["--out", str(locked / "out"), *(["--data-root", str(tu_root)] if "-d" in command else [])])
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "not a writable folder" in proc.stderr and "--out" in proc.stderr
    assert not (locked / "out").exists()


def test_unwritable_report_and_adversarial_file_are_refused_before_the_work(tu_root, tmp_path):
    locked = _locked(tmp_path)
    proc = run(["evaluate", "--model", f"{MODELS}:build_sumpool", "-d", "MUTAG", "--suite", "standard",
                "--report", str(locked / "rep"), "--out", str(tmp_path / "runs"), "--data-root", str(tu_root)])
    assert proc.returncode == 2 and "--report" in proc.stderr and "trained" not in proc.stderr
    proc = run(["attack", "-d", "MUTAG", "-m", "gcn", "-a", "random", "-b", "0.1", "--out", str(tmp_path / "runs"),
                "--save-adversarial", str(locked / "adv.pt"), "--data-root", str(tu_root)])
    assert proc.returncode == 2 and "--save-adversarial" in proc.stderr
    assert not (tmp_path / "runs").exists()


def test_a_write_failing_after_the_work_prints_the_results_then_one_error(tu_root, tmp_path, monkeypatch):
    import cama.records

    def disk_full(folder, record):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cama.records, "write_record", disk_full)
    proc = run(["attack", "-d", "MUTAG", "-m", "gcn", "-a", "random,degree", "-b", "0.1", "--out",
                str(tmp_path / "runs"), "--data-root", str(tu_root)])
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "ASR@0.1" in proc.stdout and "random" in proc.stdout and "degree" in proc.stdout  # results shown
    assert "No space left on device" in proc.stderr and "0 were written" in proc.stderr


def test_untrained_model_is_refused_and_can_be_trained_from_python(mutag):
    from cama import evaluate_robustness
    from cama.errors import CamaError
    from tests.models.foreign import build_maxpool

    torch.manual_seed(0)
    with pytest.raises(CamaError, match="majority class") as err:
        evaluate_robustness(_constant_model(mutag), mutag, attacks=["random"], budgets=(0.1,))
    assert "train=True" in str(err.value)
    report = evaluate_robustness(build_maxpool(mutag.num_features, 2), mutag, attacks=["random"], budgets=(0.1,),
                                 train=True)
    assert report.clean_acc > 0.667 and report.records and report.edge_weights.startswith("passed")


def _constant_model(ds):
    class Constant(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bias = torch.nn.Parameter(torch.tensor([0.0, 1.0]))

        def forward(self, x, edge_index, batch, edge_weight=None):
            return self.bias.expand(int(batch.max()) + 1, 2) + 0 * x.sum()

    return Constant()


def test_evaluate_saves_the_trained_weights_and_reloads_them(tu_root, tmp_path):
    ckpt = tmp_path / "w" / "model.pt"
    first = run(["evaluate", "--model", f"{MODELS}:build_maxpool", "-d", "MUTAG", "-a", "random", "-b", "0.1",
                 "--save-checkpoint", str(ckpt), "--out", str(tmp_path / "r1"), "--format", "json",
                 "--data-root", str(tu_root)])
    assert first.returncode == 0, first.stderr
    assert ckpt.is_file() and "edge-weight probe passed" in first.stderr
    again = run(["evaluate", "--model", f"{MODELS}:build_maxpool", "-d", "MUTAG", "-a", "random", "-b", "0.1",
                 "--checkpoint", str(ckpt), "--out", str(tmp_path / "r2"), "--format", "json",
                 "--data-root", str(tu_root)])
    assert again.returncode == 0, again.stderr
    a, b = (json.loads(p.stdout.splitlines()[-1]) for p in (first, again))
    assert (a["clean_acc"], a["asr"]) == (b["clean_acc"], b["asr"])


@pytest.mark.parametrize(("raise_after", "extra", "phase"), [
    ("1", [], "during training"),
    ("3", ["--checkpoint", "CKPT"], "during attack random"),
])
def test_a_model_raising_after_the_first_check_is_one_error(tu_root, tmp_path, raise_after, extra, phase):
    from tests.models.foreign import build_raises_later

    ckpt = tmp_path / "w.pt"
    torch.save(build_raises_later(7, 2).state_dict(), ckpt)
    proc = run(["evaluate", "--model", f"{MODELS}:build_raises_later", "-d", "MUTAG", "-a", "random", "-b", "0.1",
                "--out", str(tmp_path / "runs"), "--data-root", str(tu_root), "--allow-weak-model",
                *[str(ckpt) if e == "CKPT" else e for e in extra]], env_extra={"CAMA_TEST_RAISE_AFTER": raise_after})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert f"Model build_raises_later failed {phase}: RuntimeError: index 7 is out of bounds" in proc.stderr
    assert "foreign.py:" in proc.stderr


@pytest.mark.parametrize("command", [["attack", "-m", "gcn"], ["evaluate", "--model", f"{MODELS}:build_sumpool"]])
def test_max_graphs_has_one_meaning_and_negatives_are_refused(tu_root, tmp_path, command):
    base = command + ["-d", "MUTAG", "-a", "random", "-b", "0.1", "--out", str(tmp_path / "runs"), "--format",
                      "json", "--data-root", str(tu_root)]
    bad = run(base + ["--max-graphs", "-3"])
    assert bad.returncode == 2 and "--max-graphs" in bad.stderr and "Traceback" not in bad.stderr
    zero, everything = (run(base + extra) for extra in (["--max-graphs", "0"], []))
    assert zero.returncode == 0 == everything.returncode, zero.stderr
    z, e = (json.loads(p.stdout.splitlines()[-1]) for p in (zero, everything))
    assert z["n_attacked"] == e["n_attacked"] > 0 and z["max_graphs"] is None and z["run_id"] == e["run_id"]


def test_max_graphs_is_checked_in_the_python_api(mutag, mutag_gcn):
    from attacks import make_attack
    from cama.budget import parse_budgets
    from cama.errors import CamaError
    from cama.evaluate import evaluate_attack

    with pytest.raises(CamaError, match="max_graphs"):
        evaluate_attack(mutag_gcn.model, mutag, mutag_gcn.split["test"], make_attack("random"), parse_budgets("0.1"),
                        victim_name="gcn", victim_seed=0, max_graphs=-3)


@pytest.mark.parametrize(("args", "needle"), [
    (["-b", "abc"], "Budget 'abc'"),
    (["-a", "no-such-attack"], "no-such-attack"),
    (["-a", "cama-feature", "-d", "IMDB-BINARY"], "cama-feature cannot run on IMDB-BINARY"),
    (["-a", "grbcd,prbcd"], "No requested attack can run"),
])
def test_evaluate_validates_before_training(tu_root, tmp_path, args, needle):
    proc = run(["evaluate", "--model", f"{MODELS}:build_sumpool", "-d", "MUTAG", *args, "--out", str(tmp_path),
                "--data-root", str(tu_root)])
    assert proc.returncode == 2 and needle in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert "trained:" not in proc.stderr and not list(tmp_path.glob("*.json"))


def test_written_files_follow_the_umask(tu_root, tmp_path):
    old = os.umask(0o022)
    try:
        proc = run(["attack", "-d", "MUTAG", "-m", "gcn", "-a", "random", "-b", "0.1", "--out", str(tmp_path / "r"),
                    "--data-root", str(tu_root)])
        assert proc.returncode == 0, proc.stderr
        from cama.records import write_text_atomic

        write_text_atomic(tmp_path / "page.html", "<p>x</p>")
    finally:
        os.umask(old)
    for p in [*(tmp_path / "r").glob("*.json"), tmp_path / "page.html"]:
        assert stat.S_IMODE(p.stat().st_mode) == 0o644, p


def test_ctrl_c_exits_130_in_every_command(monkeypatch, tu_root, tmp_path):
    import cama.evaluate

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(cama.evaluate, "evaluate_attack", interrupted)
    proc = run(["attack", "-d", "MUTAG", "-m", "gcn", "-a", "random", "-b", "0.1", "--out", str(tmp_path),
                "--data-root", str(tu_root)])
    assert proc.returncode == 130 and "Interrupted" in proc.stderr and "Traceback" not in proc.stderr


def test_allow_unfaithful_rows_are_marked(mutag, tmp_path):
    from cama.cli.common import print_attack_table

    rec = {"attack": "grbcd", "budget": 0.1, "budget_kind": "ratio", "n_attacked": 5, "asr": 0.2,
           "mean_edge_flips": 1.0, "mean_feature_edits": 0.0, "seconds_per_graph": 0.1, "queries_per_graph": 3.0,
           "relaxation": "unfaithful"}
    from click.testing import CliRunner
    import click

    @click.command()
    def show():
        print_attack_table([rec], "t")

    res = CliRunner().invoke(show)
    assert "grbcd†" in res.stdout and "--allow-unfaithful" in res.stderr
