"""User-facing errors.

Every mistake a user can make (unknown dataset, bad budget, missing file, ...) is raised as a
:class:`CamaError` whose message names the fix. The CLI prints the message alone and exits
with status 2; the Python API lets it propagate.
"""
from __future__ import annotations


class CamaError(Exception):
    """An error caused by user input; its message says what to do about it."""
