"""PyG ``Batch`` bookkeeping: the only code that touches its private fields."""
from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.data import Batch


def set_graph_slices(batch: Batch, counts: dict[str, Tensor], increments: dict[str, Tensor] | None = None,
                     drop: tuple[str, ...] = ()) -> Batch:
    """The one place that writes PyG's private ``Batch`` bookkeeping, which ``to_data_list``,
    ``get_example`` and ``index_select`` read: ``_slice_dict[key]`` = cumulative per-graph element
    counts of ``key`` (``counts[key]``: one count per graph), ``_inc_dict[key]`` = per-graph
    index increments (``increments``, e.g. node offsets for ``edge_index``), ``_num_graphs``.
    Keys in ``drop`` are removed from the batch and its bookkeeping (e.g. edge attributes that no
    longer match a perturbed ``edge_index``). Pinned by tests/test_attacks.py
    (``test_select_graphs_equals_collating_the_selection``, ``test_graph_slices_pin_pyg``)."""
    slices = dict(getattr(batch, "_slice_dict", None) or {})
    incs = dict(getattr(batch, "_inc_dict", None) or {})
    for key, c in counts.items():
        slices[key] = torch.cat([c.new_zeros(1), torch.cumsum(c, 0)]).cpu()
        batch._num_graphs = c.numel()
    for key, inc in (increments or {}).items():
        incs[key] = inc.cpu()
    for key in drop:
        slices.pop(key, None)
        incs.pop(key, None)
        if key in batch:
            del batch[key]
    batch._slice_dict, batch._inc_dict = slices, incs
    return batch
