"""Robustness report for foreign models: end to end on MUTAG, bad input, equality with `cama attack`."""
from __future__ import annotations

import json
from pathlib import Path

import torch

from cama import evaluate_robustness
from cama.splits import stratified_split
from tests.models.foreign import build_maxpool, build_sumpool
from tests.test_cli import assert_clean_error, run
from victims.train import TrainConfig, train_model

MODELS = Path(__file__).parent / "models" / "foreign.py"
ATTACKS = ["cama-node", "cama-feature", "gradargmax", "random"]


def _trained(factory, mutag):
    torch.manual_seed(0)  # seeded initial weights: the same trained model on every run
    model = factory(mutag.num_features, mutag.num_classes)
    train_model(model, mutag, stratified_split(mutag.y, seed=0), TrainConfig(epochs=60, patience=20), seed=0,
                device=torch.device("cpu"), progress=False)
    return model.eval()


def test_mlp_head_max_pool_model_end_to_end(mutag):
    report = evaluate_robustness(_trained(build_maxpool, mutag), mutag, attacks=ATTACKS, budgets=(0.1, 0.2),
                                 name="maxpool")
    assert report.skipped == {}
    df = report.to_frame()
    assert set(df.attack) == set(ATTACKS) and len(df) == 8
    assert ((df.asr >= 0) & (df.asr <= 1)).all()
    assert 0.7 <= report.clean_acc <= 1  # above MUTAG's majority rate (0.667): a trained model
    md = report.to_markdown()
    assert "maxpool" in md and "asr@0.1" in md


def test_model_without_edge_weight_skips_gradient_attacks(mutag):
    report = evaluate_robustness(_trained(build_sumpool, mutag), mutag, attacks=ATTACKS, budgets=(0.1,), name="sum")
    assert set(report.skipped) == {"gradargmax"} and "edge_weight" in report.skipped["gradargmax"]
    assert set(report.to_frame().attack) == {"cama-node", "cama-feature", "random"}


def test_cli_evaluate_writes_records_for_leaderboard(tu_root, tmp_path):
    proc = run(["evaluate", "--model", f"{MODELS}:build_sumpool", "-d", "MUTAG", "-a", "cama-node,random", "-b", "0.1",
                "--name", "my-gnn", "--out", str(tmp_path), "--format", "json", "--data-root", str(tu_root)])
    assert proc.returncode == 0, proc.stderr
    recs = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    assert {r["victim"] for r in recs} == {"my-gnn"} and len(list(tmp_path.glob("*.json"))) == 2


def _evaluate(tu_root, model, *extra):
    return run(["evaluate", "--model", model, "-d", "MUTAG", "-a", "random", "-b", "0.1", "--data-root",
                str(tu_root), *extra])


def test_bad_model_inputs(tu_root, tmp_path):
    assert_clean_error(_evaluate(tu_root, f"{tmp_path}/nope.py:build"), "not found")
    assert_clean_error(_evaluate(tu_root, f"{MODELS}:no_such_factory"), "no callable named 'no_such_factory'",
                       "build_maxpool")
    assert_clean_error(_evaluate(tu_root, f"{MODELS}:build_raises"), "factory raised ValueError",
                       "hidden size must be even")
    assert_clean_error(_evaluate(tu_root, f"{MODELS}:build_wrong_shape"), "expected [4, 2]")
    assert_clean_error(_evaluate(tu_root, f"{MODELS}:build_nan"), "NaN")
    other = tmp_path / "other.pt"
    torch.save(build_maxpool(7, 2).state_dict(), other)
    assert_clean_error(_evaluate(tu_root, f"{MODELS}:build_sumpool", "--checkpoint", str(other)),
                       "does not fit this model")


def test_custom_model_example_runs(tu_root, tmp_path):
    example = Path(__file__).parents[1] / "examples" / "custom_model.py"
    proc = run(["evaluate", "--model", f"{example}:build_model", "-d", "MUTAG", "-a", "cama-node,random", "-b",
                "0.1", "--out", str(tmp_path), "--data-root", str(tu_root)])
    assert proc.returncode == 0, proc.stderr
    assert "cama-node" in proc.stdout and "clean acc" in proc.stdout
