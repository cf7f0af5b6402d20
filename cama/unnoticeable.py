"""The leaderboard's unnoticeable view (issue 16): what each attack keeps under domain constraints.

From the records of a constrained grid run twice on the same cells (``cama bench --config
constrained.toml`` and ``... --constraints none``), per dataset and attack at one budget, means
over victims and seeds:

* ``ASR``: the unconstrained attack;
* ``unnoticed ASR``: the unconstrained attack counting only graphs fooled by an adversarial graph
  that passes the dataset's tests (:func:`cama.constraints.unnoticeable_tests`);
* ``constrained ASR``: the attack under the constraints (every graph passes by construction);
* ``kept`` = constrained ÷ unconstrained ASR;
* ``valid`` / ``degree ok`` / ``connected``: the share of the unconstrained attack's adversarial
  graphs that are valid molecules (RDKit sanitizes them where atoms and bonds are named, e.g.
  MUTAG; the observed-degree rule on NCI1), pass the degree test, keep their components;
* ``ΔQED``: the mean change in RDKit's QED drug-likeness of those molecules (RDKit datasets).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .errors import CamaError
from .records import load_records

COLUMNS = ["dataset", "constraints", "attack", "ASR", "unnoticed ASR", "constrained ASR", "kept", "valid",
           "ΔQED", "degree ok", "connected", "cells"]


def unnoticeable_frame(records: list[dict], budget: float = 0.1) -> pd.DataFrame:
    rows = []
    for r in records:
        if r.get("budget_kind") != "ratio" or abs(r["budget"] - budget) > 1e-9 or r.get("surrogate"):
            continue
        n = r.get("noticeability") or {}
        rows.append({"dataset": r["dataset"], "victim": r["victim"], "seed": r["victim_seed"],
                     "attack": r.get("label", r["attack"]), "constraints": r["params"].get("constraints", ""),
                     "asr": r["asr"], "unnoticed": r.get("asr_unnoticeable"), "valid": n.get("valence_ok"),
                     "qed": n.get("qed_change"), "degree_ok": n.get("degree_ok"), "connected": n.get("connected_ok")})
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=COLUMNS)
    key = ["dataset", "victim", "seed", "attack"]
    plain = df[df.constraints == ""]
    cons = df[df.constraints != ""][key + ["asr", "constraints"]]
    both = plain.merge(cons, on=key, how="inner", suffixes=("", "_c"))
    if both.empty:
        return pd.DataFrame(columns=COLUMNS)
    out = both.groupby(["dataset", "constraints_c", "attack"], sort=False).agg(
        ASR=("asr", "mean"), unnoticed=("unnoticed", "mean"), constrained=("asr_c", "mean"),
        valid=("valid", "mean"), qed=("qed", "mean"), degree_ok=("degree_ok", "mean"), connected=("connected", "mean"),
        cells=("asr", "size")).reset_index()
    out["kept"] = out.constrained / out.ASR.where(out.ASR > 0)
    out = out.rename(columns={"constraints_c": "constraints", "unnoticed": "unnoticed ASR",
                              "constrained": "constrained ASR", "degree_ok": "degree ok",
                              "qed": "ΔQED"})
    order = {d: i for i, d in enumerate(dict.fromkeys(df.dataset))}
    out = out.assign(_d=out.dataset.map(order)).sort_values(["_d", "constrained ASR"], ascending=[True, False])
    return out[COLUMNS].reset_index(drop=True)


def load_unnoticeable(runs: str | Path, budget: float = 0.1) -> pd.DataFrame:
    frame = unnoticeable_frame(load_records(runs), budget)
    if frame.empty:
        raise CamaError(f"No pairs of constrained and unconstrained records at ρ = {budget:g} in {runs}; run "
                        "`cama bench --config constrained.toml` and `cama bench --config constrained.toml "
                        "--constraints none` first (or drop --constrained-runs).")
    return frame


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per attack, over datasets: mean ASR, unnoticed ASR, constrained ASR, kept, validity shares."""
    out = frame.groupby("attack").agg({"ASR": "mean", "unnoticed ASR": "mean", "constrained ASR": "mean",
                                       "valid": "mean", "ΔQED": "mean", "degree ok": "mean", "connected": "mean"})
    out["kept"] = out["constrained ASR"] / out["ASR"].where(out["ASR"] > 0)
    return out.sort_values("constrained ASR", ascending=False).reset_index()


NOTE = ("Same victims, {units} and attacked graphs; each attack run unconstrained (`cama bench --config "
        "{config} --constraints none`) and under the dataset's constraints (`cama bench --config "
        "{config}`): molecules stay valid to RDKit (NCI1, whose atoms are unnamed: within the degrees its "
        "clean graphs show) and keep their components (valence,connected), the "
        "other datasets pass Nettack's degree-distribution test and keep their components (degree,connected). "
        "`unnoticed ASR` counts only graphs the unconstrained attack fooled with a graph that passes those "
        "tests; `kept` = constrained ÷ unconstrained ASR; `valid` / `degree ok` / `connected` = share of the "
        "unconstrained attack's adversarial graphs passing each test (valid: molecules only); `ΔQED` = mean "
        "change of RDKit's QED drug-likeness of those molecules (datasets with named atoms).")


#: per protocol: the grid's TOML and its victims' unit
SCOPES = {"seeds": ("constrained.toml", "seeds"), "cv10": ("constrained_cv10.toml", "folds")}


def markdown(frame: pd.DataFrame, budget: float = 0.1, protocol: str = "seeds") -> list[str]:
    config, units = SCOPES[protocol]
    return [f"## Unnoticeable attacks at ρ = {budget:g}: ASR under domain constraints", "",
            NOTE.format(config=config, units=units), "",
            _blank_nan(summary(frame)).to_markdown(index=False, floatfmt=".3f", missingval="–"), "",
            _blank_nan(frame).to_markdown(index=False, floatfmt=".3f", missingval="–"), ""]


def _blank_nan(frame: pd.DataFrame) -> pd.DataFrame:
    """NaN (a measure that does not apply, e.g. RDKit validity off molecules) → None, printed as –."""
    return frame.astype(object).where(frame.notna(), None)
