"""The attack catalogue, from the registry: one source for ``cama attacks`` and the documentation.

Per attack: name, threat model (knowledge, targets), whether it needs edge weights, its
description and its typed parameters with defaults; per parameter: type, choices, help text
(``attacks.base.PARAM_HELP``) and the attacks that take it.
"""
from __future__ import annotations


def attack_rows() -> list[dict]:
    """One row per registered attack, in registry order."""
    from attacks import ATTACKS

    rows = []
    for name, cls in ATTACKS.items():
        rows.append({"attack": name, "knowledge": cls.knowledge, "targets": "+".join(sorted(cls.targets)),
                     "edge weights": "yes" if cls.needs_edge_weight else "", "description": cls.description,
                     "parameters (-p key=value)": ", ".join(f"{k}={v}" for k, v in _params(cls).items()) or "–"})
    return rows


def parameter_rows() -> list[dict]:
    """One row per parameter name: its type (choices), meaning and the attacks that take it."""
    from attacks import ATTACKS
    from attacks.base import PARAM_HELP

    used: dict[str, tuple[str, tuple | None, list[str]]] = {}
    for name, cls in ATTACKS.items():
        for key, value in _params(cls).items():
            used.setdefault(key, (type(value).__name__, cls.choices.get(key), []))[2].append(name)
    return [{"parameter": k, "type": t + (f" ({'/'.join(c)})" if c else ""), "meaning": PARAM_HELP.get(k, ""),
             "attacks": ", ".join(names)} for k, (t, c, names) in sorted(used.items())]


def _params(cls) -> dict:
    params = dict(cls.defaults)
    if cls.has_rounds():
        params |= {"rounds": cls.default_rounds, "adaptive_every": 0}
    return params


def markdown() -> str:
    """Both tables as Markdown (the documentation's attack catalogue)."""
    import pandas as pd

    def table(rows: list[dict]) -> str:
        frame = pd.DataFrame(rows)
        for col in ("attack", "parameter"):
            if col in frame:
                frame[col] = "`" + frame[col] + "`"
        return frame.to_markdown(index=False)

    return "\n".join(["### Attacks", "", table(attack_rows()), "", "### Parameters", "", table(parameter_rows()), ""])
