"""Dataset statistics straight from TU raw files, without building a single feature matrix.

``cama datasets`` used to load and featurize every dataset to print a table of counts, which
took minutes and ~10 GB on REDDIT-BINARY. :func:`raw_stats` reads only the integer files a
count needs and reproduces what :func:`cama.data.load_dataset` would report (PyG's
``TUDataset`` removes self-loops and duplicate edges, and so does this):

* graphs = max of ``_graph_indicator``; classes = distinct ``_graph_labels``;
* nodes = lines of ``_graph_indicator``; edges = distinct ordered pairs ``(u, v)``, ``u ≠ v``,
  of ``_A`` divided by 2 (TU lists both directions);
* features: ``Σ_columns (max − min + 1)`` of ``_node_labels`` plus, for datasets whose
  attributes are used, the columns of ``_node_attributes``; for featureless datasets the
  width of the degree layout of :func:`cama.featurize.degree_layout` on the node degrees.

Results are cached as a small JSON file per dataset in ``<cache>/tu-stats/``, keyed by the raw
files' names, sizes and modification times, so a warm listing reads no data file at all.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .featurize import degree_featurizer
from .paths import cache_root, is_writable_dir
from .records import write_json_atomic

STATS_FORMAT = 1


def _read_ints(path: Path) -> np.ndarray:
    """A TU integer file (one or more comma-separated columns per line) as a 2-D int64 array."""
    frame = pd.read_csv(path, header=None, sep=",", skipinitialspace=True, dtype=np.int64, engine="c")
    return frame.to_numpy()


def _fingerprint(raw: Path) -> str:
    digest = hashlib.sha1(str(STATS_FORMAT).encode())
    for f in sorted(raw.iterdir()):
        st = f.stat()
        digest.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns};".encode())
    return digest.hexdigest()[:16]


def _compute(raw: Path, name: str, use_node_attr: bool) -> dict:
    indicator = _read_ints(raw / f"{name}_graph_indicator.txt")[:, 0] - 1
    n_nodes, n_graphs = len(indicator), int(indicator.max()) + 1
    labels = _read_ints(raw / f"{name}_graph_labels.txt")[:, 0]
    edges = _read_ints(raw / f"{name}_A.txt") - 1
    edges = edges[edges[:, 0] != edges[:, 1]]
    keys = np.unique(edges[:, 0] * n_nodes + edges[:, 1])
    num_features, kind = 0, "labels"
    attr_file, label_file = raw / f"{name}_node_attributes.txt", raw / f"{name}_node_labels.txt"
    if use_node_attr and attr_file.is_file():
        with attr_file.open() as fh:
            num_features += len(fh.readline().split(","))
    if label_file.is_file():
        node_labels = _read_ints(label_file)
        num_features += int((node_labels.max(0) - node_labels.min(0) + 1).sum())
    if num_features == 0:
        feat = degree_featurizer(torch.from_numpy(np.bincount(keys // n_nodes, minlength=n_nodes)))
        num_features, kind = feat.num_features, feat.describe()
    elif use_node_attr and attr_file.is_file():
        kind = "labels+attributes"
    return {"dataset": name, "graphs": n_graphs, "classes": int(len(np.unique(labels))),
            "avg_nodes": round(n_nodes / n_graphs, 2), "avg_edges": round(len(keys) / 2 / n_graphs, 2),
            "features": num_features, "feature_kind": kind}


def raw_stats(root: Path, name: str, use_node_attr: bool = False) -> dict:
    """Counts of the TU dataset ``<root>/<name>/raw`` (see the module docstring), cached."""
    raw = Path(root) / name / "raw"
    cache = cache_root() / "tu-stats" / f"{name}-{int(use_node_attr)}-{_fingerprint(raw)}.json"
    if cache.is_file():
        try:
            return json.loads(cache.read_text())
        except (OSError, ValueError):
            pass  # a damaged cache file is recomputed
    stats = _compute(raw, name, use_node_attr)
    if is_writable_dir(cache.parent):
        write_json_atomic(cache, stats)
    return stats
