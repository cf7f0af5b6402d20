"""Attacks on GNN graph classifiers. ``ATTACKS`` is the registry: name → class.

Adding an attack = one file with an :class:`~attacks.base.Attack` subclass + one line here.
"""
from __future__ import annotations

from cama.errors import CamaError

from .base import Attack, AttackContext, AttackResult
from .cama_combined import Cama
from .cama_feature import CamaFeature
from .cama_grad import CamaGrad, SearchGrad
from .cama_node import CamaNode
from .cama_subgraph import CamaSubgraph
from .degree import DegreeFlips
from .feature_twins import FeatureRankDegree, FeatureRankRandom
from .genetic import Genetic
from .grad_combined import GradCombined
from .grad_feature import GradFeature, GradFeatureGreedy
from .gradargmax import GradArgMax
from .random_combined import RandomCombined
from .random_feature import RandomFeature
from .random_flips import RandomFlips
from .rbcd import GRBCD, PRBCD
from .rbcd_pyg import GRBCDPyG, PRBCDPyG
from .search_free import SearchDegree, SearchRandom

ATTACKS: dict[str, type[Attack]] = {cls.name: cls for cls in (
    CamaNode, CamaFeature, CamaSubgraph, Cama, CamaGrad,
    SearchRandom, SearchDegree, SearchGrad, RandomFlips, RandomFeature, DegreeFlips, GradArgMax, PRBCD, GRBCD, PRBCDPyG, GRBCDPyG, Genetic,
    GradFeature, GradFeatureGreedy, FeatureRankRandom, FeatureRankDegree, GradCombined, RandomCombined,
)}


def attack_class(name: str) -> type[Attack]:
    """A registered attack, or a user's attack class given as ``path/to/file.py:ClassName``."""
    if name in ATTACKS:
        return ATTACKS[name]
    if ":" in name and name.rpartition(":")[0].endswith(".py"):
        from .external import load_external

        return load_external(name)
    raise CamaError(f"Unknown attack '{name}'; choose one of: {', '.join(ATTACKS)} "
                    "(or path/to/file.py:ClassName for your own).")


def make_attack(name: str, **params) -> Attack:
    """Instantiate a registered attack (or ``file.py:ClassName``); unknown names get one clear error."""
    return attack_class(name)(**params)


def params_for(name: str, params: dict) -> dict:
    """The subset of ``params`` that attack ``name`` takes (its own, plus ``rounds`` for attacks
    with a re-scoring schedule)."""
    cls = attack_class(name)
    return {k: v for k, v in params.items() if k in cls.defaults or (k == "rounds" and cls.has_rounds())}


def make_attacks(names: list[str], params: dict, **common) -> list[Attack]:
    """Instantiate several attacks; each gets the ``params`` it knows (``rounds``: attacks with a schedule).
    A parameter that no selected attack knows is an error, never silently dropped."""
    classes = {n: attack_class(n) for n in names}
    used = set()
    out = []
    adaptive = common.pop("adaptive_every", 0)
    if adaptive and not any(classes[n].has_rounds() for n in names):
        raise CamaError(f"--adaptive-every applies to attacks that re-score between flips (the CAMA structure "
                        f"attacks, the importance-free search); none of {', '.join(names)} does.")
    for n in names:
        mine = params_for(n, params)
        used |= set(mine)
        extra = {"adaptive_every": adaptive} if adaptive and classes[n].has_rounds() else {}
        out.append(classes[n](**common, **extra, **mine))
    stray = set(params) - used
    if stray:
        raise CamaError(f"Parameter(s) {sorted(stray)} apply to none of the attacks {', '.join(names)}.")
    return out


__all__ = ["ATTACKS", "Attack", "AttackContext", "AttackResult", "attack_class", "make_attack", "make_attacks",
           "params_for"]
