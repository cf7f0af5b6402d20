"""``python -m cama.cli``: the same as the ``cama`` command."""
from . import main

main()
