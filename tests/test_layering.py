"""The house's layering (DESIGN.md): no import cycle anywhere — module-level or lazy — in cama/,
attacks/ and victims/, and the core never imports the layers above it."""
from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("cama", "attacks", "victims")
#: layer 1: data, features, budgets, edits, importance — below attacks/ and victims/
CORE = {"cama.data", "cama.featurize", "cama.synthetic", "cama.splits", "cama.budget", "cama.edits", "cama.importance",
        "cama.subgraphs", "cama.batching", "cama.replicate", "cama.tu_stats", "cama.paths", "cama.errors",
        "cama.chemistry", "cama.constraints"}


def import_graph() -> nx.DiGraph:
    mods = {}
    for pkg in PACKAGES:
        for f in (ROOT / pkg).rglob("*.py"):
            name = ".".join(f.relative_to(ROOT).with_suffix("").parts)
            mods[name.removesuffix(".__init__")] = f
    graph = nx.DiGraph()
    graph.add_nodes_from(mods)
    for name, f in mods.items():
        base = name if f.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(f.read_text())):  # lazy (function-level) imports count too
            if isinstance(node, ast.ImportFrom):
                parts = base.split(".")[: len(base.split(".")) - node.level + 1] if node.level else []
                target = ".".join(parts + ([node.module] if node.module else []))
                targets = [target] + [f"{target}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            graph.add_edges_from((name, t) for t in targets if t in mods and t != name)
    return graph


def test_no_import_cycle():
    cycles = list(nx.simple_cycles(import_graph()))
    assert cycles == [], " ; ".join(" -> ".join(c) for c in cycles[:5])


def test_core_does_not_import_upper_layers():
    graph = import_graph()
    for mod in CORE & set(graph):
        upper = {t for t in nx.descendants(graph, mod) if not (t in CORE or t in ("cama", "cama._version", "cama.records",
                                                                                   "cama.model_api", "cama.device"))}
        assert not upper, f"{mod} reaches {sorted(upper)}"
