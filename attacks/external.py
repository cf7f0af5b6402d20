"""User attacks from a file: ``cama attack -a path/to/file.py:ClassName`` (and in ``cama bench``).

The class subclasses :class:`attacks.base.Attack` — the interface of the built-in attacks (README,
"Your own attack"; ``examples/custom_attack.py``). Loading it records where it came from:
``cls.external = {"file", "class", "sha256"}``, which every record of its runs carries, so the
leaderboard marks it as external and a changed file is a different attack (its records get new
run ids). Its edits go through the evaluator's checks like every attack's (:mod:`cama.enforce`);
an exception inside it becomes one clear error naming the attack.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from cama.errors import CamaError
from cama.user_model import import_user_file

from .base import Attack

_LOADED: dict[tuple[str, str], type[Attack]] = {}


def load_external(spec: str) -> type[Attack]:
    file, _, cls_name = spec.rpartition(":")
    path = Path(file)
    if not path.is_file():
        raise CamaError(f"Attack file {path} not found; pass -a path/to/file.py:ClassName.")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    key = (str(path.resolve()), cls_name + digest)
    if key in _LOADED:
        return _LOADED[key]
    module = import_user_file(path, f"cama_user_attack_{path.stem}_{digest[:8]}")
    cls = getattr(module, cls_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Attack)):
        found = [n for n, v in vars(module).items() if isinstance(v, type) and issubclass(v, Attack) and v is not Attack]
        raise CamaError(f"{path} has no attack class '{cls_name}' (a subclass of attacks.base.Attack); "
                        f"attack classes there: {', '.join(found) or 'none'}.")
    if not cls.name:
        raise CamaError(f"{path}:{cls_name} sets no `name`; give the class a name = \"my-attack\".")
    cls.external = {"file": str(path), "class": cls_name, "sha256": digest}
    _LOADED[key] = cls
    return cls
