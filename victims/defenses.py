"""Defended victims (issue 17): a victim spec ``ARCH[+DEFENSE]`` names an architecture and how it
is defended; everything else (split, training, zoo, cache) is as for the undefended victim.

* ``+guard[:τ]`` — **structure cleaning** in the spirit of GNNGuard (Zhang & Zitnik, NeurIPS
  2020), adapted to graph classification: before every message-passing layer after the first,
  each edge's weight is multiplied by the cosine similarity of its endpoints' current embeddings,
  and edges below ``τ`` (default 0.1, GNNGuard's) are dropped: ``w'_ij = w_ij · s_ij ·
  1[s_ij ≥ τ]``, ``s_ij = max(0, cos(h_i, h_j))``. The first layer is left alone because its
  input is categorical (atom types, one-hot degrees), where the similarity is 0 or 1 and would cut
  every bond between different atoms. It is part of the model's forward and keeps the edge-weight
  contract (``w = 0`` ⇒ ``w' = 0``; all-ones = no weights; order-free; differentiable in ``w``
  and through ``s``), so gradient attacks optimise the whole defended model (adaptive attacks).
  GNNGuard's layer-wise memory of previous weights is left out.
* ``+adv[:ATTACK[@ρ]]`` — **adversarial training**: every training mini-batch is attacked by
  ``ATTACK`` at budget ρ (default ``cama-node`` in its one-pass form — 2 passes per graph — at
  ρ = 0.1) on the current model in eval mode, and the loss is the mean of the clean and the
  adversarial cross-entropy (a mix that keeps clean accuracy; Madry et al. train on the
  adversarial batch alone).

The normalised defence (``guard:0.1``, ``adv:cama-node@0.1``) is stored in
:class:`~victims.train.TrainConfig` (so in the victim's key and checkpoint); undefended victims
keep their keys.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from cama.errors import CamaError

DEFENSES = ("guard", "adv")
DEFAULT_GUARD = 0.1
DEFAULT_ADV_ATTACK = "cama-node"
DEFAULT_ADV_BUDGET = 0.1
#: the cheap schedule adversarial training uses for CAMA attacks (one pass, no query re-ranking)
ONE_PASS = {"rounds": 0, "rerank": 0}


@dataclass(frozen=True)
class VictimSpec:
    arch: str
    defense: str = ""  # normalised: "", "guard:0.1", "adv:cama-node@0.1"

    @property
    def name(self) -> str:
        return self.arch + (f"+{self.defense}" if self.defense else "")


def guard_threshold(defense: str) -> float:
    """τ of a normalised ``guard:τ`` defence (0.0 for any other)."""
    return float(defense.split(":", 1)[1]) if defense.startswith("guard") else 0.0


def parse_victim(spec: str) -> VictimSpec:
    """``gcn``, ``gin+guard``, ``gcn+guard:0.2``, ``gin+adv``, ``gcn+adv:grbcd@0.05`` → a spec;
    anything else → one clear error."""
    from . import ARCHITECTURES

    arch, _, defense = spec.partition("+")
    if arch not in ARCHITECTURES:
        raise CamaError(f"Unknown architecture '{arch}'; choose one of: {', '.join(ARCHITECTURES)} "
                        "(optionally defended: ARCH+guard[:τ] or ARCH+adv[:ATTACK[@ρ]]).")
    if not defense:
        return VictimSpec(arch)
    kind, _, arg = defense.partition(":")
    try:
        if kind == "guard":
            tau = float(arg) if arg else DEFAULT_GUARD
            if not 0 < tau < 1:
                raise ValueError(tau)
            return VictimSpec(arch, f"guard:{tau:g}")
        if kind == "adv":
            attack, _, rho = arg.partition("@")
            attack = attack or DEFAULT_ADV_ATTACK
            rho = float(rho) if rho else DEFAULT_ADV_BUDGET
            from attacks import ATTACKS

            if attack not in ATTACKS or not 0 < rho <= 1:
                raise ValueError(attack)
            return VictimSpec(arch, f"adv:{attack}@{rho:g}")
    except ValueError:
        pass
    raise CamaError(f"Unknown defence '{defense}' in victim '{spec}'; use ARCH+guard[:τ] (0 < τ < 1) or "
                    "ARCH+adv[:ATTACK[@ρ]] with a registered structure attack and 0 < ρ ≤ 1, e.g. gcn+adv:grbcd@0.1.")


class AdversarialTraining:
    """Perturbs a training mini-batch with an attack on the current model (module docstring)."""

    def __init__(self, defense: str, featurizer):
        from attacks import make_attack
        from cama.budget import Budget

        attack, _, rho = defense.split(":", 1)[1].partition("@")
        params = ONE_PASS if make_attack(attack).has_rounds() else {}
        self.attack = make_attack(attack, **params)
        if "structure" not in self.attack.targets:
            raise CamaError(f"Adversarial training perturbs structure; '{attack}' is a feature attack.")
        self.budget = Budget("ratio", float(rho))
        self.featurizer = featurizer

    def perturb(self, model: torch.nn.Module, batch, seed: int):
        """The adversarial version of ``batch`` (model left in training mode)."""
        from attacks.base import AttackContext
        from cama.edits import apply_edits

        model.eval()
        try:
            ctx = AttackContext(model=model, batch=batch, featurizer=self.featurizer, seed=seed)
            result = self.attack.run(ctx, [self.budget])
            s_lim, f_lim = self.attack.limits(ctx, self.budget)
            edits = (result.ranked if result.ranked is not None else result.per_budget[self.budget])
            return apply_edits(batch, edits.prefix(batch, s_lim, f_lim), self.featurizer)
        finally:
            model.train()


def check_arch(arch: str) -> str:
    """A victim name: an architecture, optionally defended (``gcn+guard``, ``gin+adv``:
    :mod:`victims.defenses`); anything else → one clear error."""
    from . import ARCHITECTURES

    if arch not in ARCHITECTURES:
        parse_victim(arch)
    return arch
