"""User-facing errors.

Every mistake a user can make (unknown dataset, bad budget, missing file, ...) is raised as a
:class:`CamaError` whose message names the fix. The CLI prints the message alone and exits
with status 2; the Python API lets it propagate.
"""
from __future__ import annotations

import sys
from collections.abc import Callable


class CamaError(Exception):
    """An error caused by user input; its message says what to do about it."""


def run_script(main: Callable[[], object]) -> None:
    """Runs a script's ``main`` as the CLI runs a command: a :class:`CamaError` becomes one
    ``Error: ...`` line on stderr and exit status 2, not a traceback (``benchmarks/``, ``examples/``)."""
    try:
        main()
    except CamaError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
