"""Progress bars (rich) that stay quiet when disabled or when stderr is not a terminal."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

console = Console(stderr=True)


@contextmanager
def progress_bar(total: int, description: str, enabled: bool = True) -> Iterator[callable]:
    """Yield ``advance(n=1, **fields)``; draws a bar with ETA on stderr when enabled."""
    if not enabled or not console.is_terminal:  # no bar (and no blank lines) in logs and pipes
        yield lambda n=1, **kw: None
        return
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=True) as prog:
        task = prog.add_task(description, total=total, info="")

        def advance(n: int = 1, **fields) -> None:
            info = " ".join(f"{k}={v}" for k, v in fields.items())
            prog.update(task, advance=n, info=info)

        yield advance
