"""Datasets: any TU benchmark by name (PyG ``TUDataset``) and the embedded synthetic one.

``load_dataset(name, root=None)`` resolves the data root (argument > ``CAMA_DATA`` > user
cache), reads ``<root>/<NAME>/raw/<NAME>_*.txt`` when present (copying the raw files into a
writable cache first when ``root`` is read-only, because PyG writes ``processed/`` beside
``raw/``), and otherwise lets PyG download the dataset. The result is a
:class:`GraphDataset`: featurized ``Data`` graphs plus the :class:`Featurizer` that must be
re-applied to perturbed copies.
"""
from __future__ import annotations

import hashlib
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from filelock import FileLock
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.utils import degree as node_degree

from .errors import CamaError
from .chemistry import bond_order, is_element, label_names, molecules
from .featurize import Featurizer, degree_featurizer
from .paths import cache_root, data_root, is_writable_dir
from .synthetic import SYNTHETIC_NAME, make_synthetic_motifs

#: TU graph-classification datasets known by name (any other TU name is tried too).
KNOWN_TU = (
    "MUTAG", "PROTEINS", "PROTEINS_full", "NCI1", "NCI109", "IMDB-BINARY", "IMDB-MULTI", "DD",
    "ENZYMES", "PTC_MR", "PTC_FM", "PTC_FR", "PTC_MM", "Mutagenicity", "REDDIT-BINARY",
    "REDDIT-MULTI-5K", "REDDIT-MULTI-12K", "COLLAB", "AIDS", "BZR", "COX2", "DHFR", "FRANKENSTEIN",
    "MSRC_9", "MSRC_21", "COIL-DEL", "Letter-high", "Letter-low", "Letter-med", "TWITTER-Real-Graph-Partial",
    "github_stargazers", "deezer_ego_nets", "twitch_egos", "reddit_threads", "SYNTHETIC", "Synthie",
)
#: Datasets whose continuous node attributes are used by default (labels alone are too weak).
DEFAULT_NODE_ATTR = {"ENZYMES"}
#: Human-readable node-label names, used by ``cama explain``.
#: molecular datasets whose TU files do not name their atoms (valence by observed degree per label)
UNNAMED_MOLECULES = ("NCI1", "NCI109", "NCI33", "NCI41", "NCI47", "NCI81", "NCI83", "NCI145")


@dataclass
class GraphDataset:
    """A featurized graph-classification dataset."""

    name: str
    graphs: list[Data]
    featurizer: Featurizer
    num_classes: int
    node_label_names: list[str] | None = None
    source: str = ""
    extra: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.graphs)

    def __getitem__(self, idx):
        if isinstance(idx, Tensor):
            idx = idx.tolist()
        if isinstance(idx, (list, tuple)):
            return [self.graphs[i] for i in idx]
        return self.graphs[idx]

    @property
    def num_features(self) -> int:
        return self.featurizer.num_features

    @property
    def y(self) -> Tensor:
        return torch.cat([g.y.view(-1) for g in self.graphs])

    def stats(self) -> dict:
        nodes = torch.tensor([g.num_nodes for g in self.graphs], dtype=torch.float)
        edges = torch.tensor([g.edge_index.size(1) / 2 for g in self.graphs], dtype=torch.float)
        return {"dataset": self.name, "graphs": len(self.graphs), "classes": self.num_classes,
                "avg_nodes": round(float(nodes.mean()), 2), "avg_edges": round(float(edges.mean()), 2),
                "features": self.num_features, "feature_kind": self.featurizer.describe()}


def canonical_name(name: str) -> str:
    """Map a case-insensitive name to its canonical spelling (``mutag`` → ``MUTAG``)."""
    if name.lower() == SYNTHETIC_NAME:
        return SYNTHETIC_NAME
    for known in KNOWN_TU:
        if known.lower() == name.lower():
            return known
    return name


def has_raw_files(folder: Path, name: str) -> bool:
    return (folder / name / "raw" / f"{name}_A.txt").is_file()


def _writable_copy(src_root: Path, name: str) -> Path:
    """Copy ``<src_root>/<name>/raw`` into the cache (once per content) and return the new root."""
    raw = src_root / name / "raw"
    digest = hashlib.sha1()
    for f in sorted(raw.iterdir()):
        digest.update(f.name.encode())
        digest.update(str(f.stat().st_size).encode())
    dst_root = cache_root() / "tu-copies" / digest.hexdigest()[:12]
    if has_raw_files(dst_root, name):
        return dst_root
    if not is_writable_dir(cache_root()):
        raise CamaError(f"Cache folder {cache_root()} is not writable; set CAMA_CACHE to a writable folder.")
    (dst_root / name).mkdir(parents=True, exist_ok=True)
    with _lock(dst_root, name):  # parallel processes (e.g. pytest-xdist workers) copy once
        if not has_raw_files(dst_root, name):
            tmp = dst_root / name / "raw.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(raw, tmp)
            tmp.rename(dst_root / name / "raw")
    return dst_root


def _lock(root: Path, name: str) -> FileLock:
    """Inter-process lock for copying/processing dataset ``name`` under ``root``."""
    return FileLock(str(root / f"{name}.lock"))


def _load_tu(name: str, root: Path, use_node_attr: bool):
    from torch_geometric.datasets import TUDataset

    if has_raw_files(root, name):
        writable = is_writable_dir(root / name)
        load_root = root if writable else _writable_copy(root, name)
    else:
        if not is_writable_dir(root):
            raise CamaError(f"Data folder {root} is not writable and holds no {name}/raw/ files; "
                            f"pass --data-root (or set CAMA_DATA) to a writable folder or to one holding {name}/raw/.")
        load_root = root
    try:
        load_root.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings(), _lock(load_root, name):  # PyG writes processed/ non-atomically
            warnings.simplefilter("ignore")
            return TUDataset(str(load_root), name, use_node_attr=use_node_attr), load_root
    except PermissionError as exc:
        raise CamaError(f"Cannot write under {load_root}: {exc}. Set CAMA_CACHE/CAMA_DATA or --data-root "
                        "to a writable folder.") from exc
    except Exception as exc:  # download failure (offline, or no such dataset on the TU server)
        hint = "" if name in KNOWN_TU else f" '{name}' is not a known TU dataset name (known: {', '.join(KNOWN_TU[:12])}, ...)."
        raise CamaError(
            f"Could not load TU dataset '{name}': no raw files at {root / name / 'raw'} and the download "
            f"failed ({type(exc).__name__}: {str(exc)[:200]}).{hint} Check the name, go online, or pass --data-root "
            f"pointing to a folder that holds {name}/raw/{name}_A.txt.") from exc


def load_dataset(name: str, root: str | Path | None = None, use_node_attr: bool | None = None,
                 max_degree: int | None = None, synthetic_graphs: int = 400, seed: int = 0) -> GraphDataset:
    """Load a dataset by name and featurize it.

    ``use_node_attr``: keep continuous node attributes (standardised per feature) before the
    one-hot labels; default True only for datasets in :data:`DEFAULT_NODE_ATTR`.
    ``max_degree``: cap for one-hot degree features of featureless datasets, higher degrees
    sharing the last column (default: :func:`cama.featurize.degree_layout`'s rule — the exact
    one-hot up to 256 columns, else one-hot up to the 99th-percentile degree plus log-spaced
    shared columns; fixed per dataset and stored in every victim checkpoint).
    """
    name = canonical_name(name)
    if name == SYNTHETIC_NAME:
        graphs = make_synthetic_motifs(num_graphs=synthetic_graphs, seed=seed)
        return _featurize_by_degree(name, graphs, num_classes=2, max_degree=max_degree or 10,
                                    source="embedded generator")
    if use_node_attr is None:
        use_node_attr = name in DEFAULT_NODE_ATTR
    root = data_root(root)
    tu, load_root = _load_tu(name, root, use_node_attr)
    num_classes = int(tu.num_classes)
    n_attr = tu.num_node_attributes if use_node_attr else 0
    n_lab = tu.num_node_labels
    names = label_names(tu.raw_dir, name)
    node_names = names.get("node")
    orders = {k: bond_order(v) for k, v in names.get("edge", {}).items()}
    molecular = bool(node_names) and all(is_element(v) for v in node_names.values())
    with_orders = molecular and bool(orders) and None not in orders.values() and tu.num_edge_labels > 0
    order_of = torch.tensor([orders[k] for k in range(len(orders))]) if with_orders else None
    graphs, edge_orders = [], []
    for i in range(len(tu)):
        d = tu[i]
        graphs.append(Data(x=d.x, edge_index=d.edge_index, y=d.y.view(-1).long(), num_nodes=d.num_nodes))
        if order_of is not None:
            edge_orders.append(order_of[d.edge_attr[:, -tu.num_edge_labels:].argmax(1)])
    if n_lab == 0 and n_attr == 0:
        return _featurize_by_degree(name, graphs, num_classes, max_degree, source=str(load_root))
    if n_attr:
        all_x = torch.cat([g.x[:, :n_attr] for g in graphs])
        mean, std = all_x.mean(0), all_x.std(0, unbiased=False).clamp(min=1e-6)
        for g in graphs:
            g.x = torch.cat([(g.x[:, :n_attr] - mean) / std, g.x[:, n_attr:]], dim=1)
    for g in graphs:
        g.x = g.x.float()
    feat = Featurizer("labels", num_features=n_attr + n_lab,
                      onehot=(n_attr, n_attr + n_lab) if n_lab else None,
                      continuous=(0, n_attr) if n_attr else None)
    label_list = [node_names.get(i, str(i)) for i in range(n_lab)] if node_names else None
    ds = GraphDataset(name, graphs, feat, num_classes, label_list, source=str(load_root))
    if n_lab and (molecular or name in UNNAMED_MOLECULES):
        ds.extra["molecules"] = molecules(graphs, edge_orders if with_orders else None,
                                          node_names if molecular else None, label_offset=n_attr)
    return ds


def _featurize_by_degree(name: str, graphs: list[Data], num_classes: int, max_degree: int | None,
                         source: str) -> GraphDataset:
    if max_degree is None:
        feat = degree_featurizer(torch.cat([node_degree(g.edge_index[0], g.num_nodes, dtype=torch.long)
                                            for g in graphs]))
    else:
        feat = Featurizer("degree", num_features=max_degree + 1, max_degree=max_degree, onehot=(0, max_degree + 1))
    for g in graphs:
        feat.refeaturize(g)
    return GraphDataset(name, graphs, feat, num_classes, None, source=source)


def local_datasets(root: str | Path | None = None) -> list[str]:
    """Names of TU datasets with raw files under the data root."""
    r = data_root(root)
    if not r.is_dir():
        return []
    return sorted(p.name for p in r.iterdir() if p.is_dir() and has_raw_files(r, p.name))
