"""Helpers shared by the command modules: list parsing, tables, common options."""
from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from ..errors import CamaError
from ..paths import is_writable_dir


def split_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def command_line() -> str:
    return "cama " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def require_writable(path: str | Path | None, option: str, *, is_file: bool = False) -> None:
    """Before any work: fail when ``path`` (a folder, or a file's folder) cannot take new files."""
    if path is None:
        return
    folder = Path(path).parent if is_file else Path(path)
    if (folder.exists() and not folder.is_dir()) or not is_writable_dir(folder):
        raise CamaError(f"{option} {path}: {folder} is not a writable folder (read-only file system or no "
                        f"permission); pass {option} a writable path. Nothing was run.")


class RecordSink:
    """Writes run records into ``folder`` as they come; a failed write (disk full, folder gone
    read-only) stops writing but not the work, so the results can still be printed before
    :meth:`finish` raises one clear error."""

    def __init__(self, folder: str | Path, option: str = "--out"):
        self.folder, self.option = Path(folder), option
        self.written, self.error = 0, None

    def write(self, record: dict) -> None:
        from ..records import write_record

        if self.error is None:
            try:
                write_record(self.folder, record)
                self.written += 1
            except OSError as exc:
                self.error = exc

    def finish(self) -> None:
        if self.error is not None:
            raise CamaError(f"Writing run records to {self.folder} failed ({self.error.strerror or self.error}); "
                            f"{self.written} were written, the rest are printed above only. Pass {self.option} a "
                            "writable folder and re-run.")


def print_table(rows: list[dict], columns: list[str], title: str | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for c in columns:
        table.add_column(c, justify="left" if c in ("dataset", "victim", "attack", "kind", "parameter", "type", "meaning",
                                                    "attacks") else "right")
    for r in rows:
        table.add_row(*[(f"{r[c]:.3f}" if isinstance(r[c], float) else str(r[c])) for c in columns])
    Console(width=max(Console().width, 150)).print(table)


data_root_opt = click.option("--data-root", type=click.Path(file_okay=False), default=None,
                             help="Folder holding <NAME>/raw/ TU files (default: $CAMA_DATA, else the user cache; "
                                  "PyG downloads there when online).")
cache_opt = click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
                         help="Victim checkpoint cache (default: $CAMA_CACHE/victims or ~/.cache/cama/victims).")
device_opt = click.option("--device", default="auto", show_default=True, help="auto (CUDA if present), cpu, cuda:0 …")


def train_config(epochs, hidden, layers, lr, batch_size):
    from victims.train import TrainConfig

    given = {"epochs": epochs, "hidden": hidden, "num_layers": layers, "lr": lr, "batch_size": batch_size}
    return TrainConfig(**{k: v for k, v in given.items() if v is not None})


TRAIN_OPTIONS = [
    click.option("--epochs", type=int, default=None, help="Maximum epochs (default 150, early stopping patience 40)."),
    click.option("--hidden", type=int, default=None, help="Hidden size (default 64)."),
    click.option("--layers", type=int, default=None, help="Message-passing layers (default 3)."),
    click.option("--lr", type=float, default=None, help="Adam learning rate (default 0.01)."),
    click.option("--batch-size", type=int, default=None, help="Graphs per mini-batch (default 64)."),
]


def with_options(opts):
    def deco(f):
        for o in reversed(opts):
            f = o(f)
        return f
    return deco


def parse_archs(text: str) -> list[str]:
    from victims import ARCHITECTURES
    from victims.store import check_arch

    return list(ARCHITECTURES) if text == "all" else [check_arch(a) for a in split_list(text)]


def parse_seeds(text: str) -> list[int]:
    try:
        return [int(s) for s in split_list(str(text))]
    except ValueError:
        raise CamaError(f"Seeds must be integers like 0 or 0,1,2, got {text!r}.") from None


def parse_params(items: tuple[str, ...]) -> dict:
    params = {}
    for item in items:
        if "=" not in item:
            raise CamaError(f"--param expects key=value, got {item!r}.")
        k, v = item.split("=", 1)
        params[k.strip()] = v.strip()
    return params


def print_attack_table(records: list[dict], title: str) -> None:
    """One row per attack: ASR per budget, edits used and cost at the largest budget."""
    budgets = sorted({r["budget"] for r in records})
    kind = records[0]["budget_kind"] if records else "ratio"
    rows = []
    unfaithful = False
    for name in dict.fromkeys(r["attack"] for r in records):
        mine = {r["budget"]: r for r in records if r["attack"] == name}
        last = mine[max(mine)]
        mark = "†" if last.get("relaxation") == "unfaithful" else ""
        unfaithful |= bool(mark)
        row = {"attack": name + mark, "attacked": last["n_attacked"]}
        row |= {f"ASR@{b:g}": mine[b]["asr"] if b in mine else float("nan") for b in budgets}
        if "asr_unnoticeable" in last:  # fooled by a graph that passes the dataset's noticeability tests
            row["unnoticed@" + f"{max(mine):g}"] = last["asr_unnoticeable"]
        row |= {"flips": last["mean_edge_flips"], "feat nodes": last["mean_feature_edits"],
                "s/graph": last["seconds_per_graph"], "queries/graph": last["queries_per_graph"]}
        rows.append(row)
    cols = list(rows[0]) if rows else []
    print_table(rows, cols, title=title + ("" if kind == "ratio" else " (budget = edit count)"))
    if unfaithful:
        click.echo("† run with --allow-unfaithful: the model's edge weights are not a faithful relaxation, so this "
                   "gradient attack optimised another model (README \"Edge weights\").", err=True)
