"""Uncertainty on every number, and paired tests behind every comparison.

* **Intervals** (:func:`wilson`): an ASR is a share of attacked graphs, k fooled of n. Its 95 %
  interval is Wilson's score interval,
  ``(p̂ + z²/2n ± z·sqrt(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n)`` with z = 1.96, which stays inside
  [0, 1] and keeps its coverage for small n and p̂ near 0 or 1 (where the normal interval fails).
  Over victim seeds, k and n are pooled (each seed's victim attacks its own test graphs).
* **Paired tests** (:func:`mcnemar`): two attacks on the same cell attacked the same graphs, so
  their comparison is paired: of the graphs both attacked, ``b`` only attack A fooled and ``c``
  only attack B fooled. Under H0 (equal success) the discordant pairs split as Binomial(b + c, ½);
  the exact McNemar p-value is the two-sided binomial tail. Graphs of different seeds are
  different pairs ((seed, graph) is the unit).
* **Pairs that share a graph** (:func:`cluster_bootstrap`): where one graph enters a comparison
  several times (the transfer matrix pools every surrogate → victim pair of a dataset, so a
  graph is attacked under up to 12 of them), its pairs are not independent and McNemar would
  overstate the evidence. The test is then a paired bootstrap over graphs: resample graphs with
  replacement (2000 times, seeded), each bringing all its pairs, and take the two-sided
  percentile p-value of the difference in success rate, ``2·(min(#{Δ* ≤ 0}, #{Δ* ≥ 0}) + 1) /
  (B + 1)`` (capped at 1; exactly 1 without discordant pairs).
* **Several cells** (:func:`holm`): a table that states one comparison per cell adjusts the
  p-values with Holm's step-down method (family-wise error ≤ α), and words each cell
  ``significantly ahead`` / ``no significant difference`` / ``significantly behind``
  (:func:`verdict`). A comparison whose records carry no per-graph outcomes is ``not testable``.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

Z95 = 1.959963984540054
ALPHA = 0.05
AHEAD, LEVEL, BEHIND, UNTESTED = ("significantly ahead", "no significant difference", "significantly behind",
                                  "not testable")


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of the share k / n ((0, 1) when n = 0: nothing is known)."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    denom = 1 + z * z / n
    lo = 0.0 if k == 0 else max(0.0, (centre - half) / denom)
    hi = 1.0 if k == n else min(1.0, (centre + half) / denom)
    return lo, hi


def mcnemar(b: int, c: int) -> float:
    """Exact two-sided McNemar p-value for ``b`` and ``c`` discordant pairs (1 when there are none)."""
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def cluster_bootstrap(a: Outcome, b: Outcome, cluster, n_boot: int = 2000, seed: int = 0) -> float:
    """Two-sided paired-bootstrap p-value of A's success rate against B's over the keys both
    have, resampling the clusters ``cluster(key)`` (e.g. the graph) with replacement."""
    import numpy as np

    common = sorted(a.keys() & b.keys())
    if not any(a[k] != b[k] for k in common):
        return 1.0
    ids: dict = {}
    diff, count = np.zeros(len(common)), np.zeros(len(common))
    for k in common:
        c = ids.setdefault(cluster(k), len(ids))
        diff[c] += int(a[k]) - int(b[k])
        count[c] += 1
    diff, count = diff[:len(ids)], count[:len(ids)]
    idx = np.random.default_rng(seed).integers(0, len(ids), size=(n_boot, len(ids)))
    delta = diff[idx].sum(axis=1) / count[idx].sum(axis=1)
    tail = min(int((delta <= 0).sum()), int((delta >= 0).sum()))
    return min(1.0, 2 * (tail + 1) / (n_boot + 1))


def holm(pvalues: Iterable[float]) -> list[float]:
    """Holm-adjusted p-values, in the input order (monotone, capped at 1)."""
    p = list(pvalues)
    order = sorted(range(len(p)), key=p.__getitem__)
    adjusted, running = [0.0] * len(p), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        adjusted[i] = running
    return adjusted


def verdict(b: int, c: int, p_adjusted: float | None, alpha: float = ALPHA) -> str:
    """How a table words A against B: ahead / level / behind at level ``alpha`` (Holm-adjusted)."""
    if p_adjusted is None:
        return UNTESTED
    if p_adjusted >= alpha:
        return LEVEL
    return AHEAD if b > c else BEHIND


Outcome = dict[tuple[int, int], bool]  # (victim seed, graph id) → fooled


def outcome_of(record: dict) -> Outcome | None:
    """A record's per-graph outcomes, None when it has none (records made before they were kept)."""
    if "attacked_ids" not in record or "fooled_ids" not in record:
        return None
    fooled = set(record["fooled_ids"])
    seed = int(record["victim_seed"])
    return {(seed, int(g)): g in fooled for g in record["attacked_ids"]}


def merge(outcomes: Iterable[Outcome | None]) -> Outcome | None:
    """The union over seeds (None as soon as one record has no outcomes)."""
    out: Outcome = {}
    for o in outcomes:
        if o is None:
            return None
        out |= o
    return out


def discordant(a: Outcome, b: Outcome) -> tuple[int, int, int]:
    """``(pairs, only A fooled, only B fooled)`` over the graphs both attacked."""
    common = a.keys() & b.keys()
    only_a = sum(1 for k in common if a[k] and not b[k])
    only_b = sum(1 for k in common if b[k] and not a[k])
    return len(common), only_a, only_b


def compare(pairs: list[tuple[Outcome | None, Outcome | None]], alpha: float = ALPHA, cluster=None) -> list[dict]:
    """Per comparison (A's outcomes, B's outcomes): pairs, discordant counts, the exact McNemar
    p-value (with ``cluster``, a key → graph function: the paired bootstrap over graphs,
    :func:`cluster_bootstrap`), its Holm adjustment over the testable comparisons of the list,
    and the verdict."""
    rows = []
    for a, b in pairs:
        if a is None or b is None:
            rows.append({"pairs": 0, "only A": 0, "only B": 0, "p": None})
        else:
            n, x, y = discordant(a, b)
            p = (mcnemar(x, y) if cluster is None else cluster_bootstrap(a, b, cluster)) if n else None
            rows.append({"pairs": n, "only A": x, "only B": y, "p": p})
    testable = [i for i, r in enumerate(rows) if r["p"] is not None]
    for i, p in zip(testable, holm(rows[i]["p"] for i in testable)):
        rows[i]["p (Holm)"] = p
    for r in rows:
        r.setdefault("p (Holm)", None)
        r["verdict"] = verdict(r["only A"], r["only B"], r["p (Holm)"], alpha)
    return rows


def count_verdicts(rows: list[dict]) -> str:
    """``"significantly ahead in 3, no significant difference in 20, significantly behind in 2"``
    (+ the untestable ones)."""
    words = [(AHEAD, "significantly ahead"), (LEVEL, "no significant difference"), (BEHIND, "significantly behind"),
             (UNTESTED, "not testable")]
    return ", ".join(f"{label} in {sum(r['verdict'] == v for r in rows)}" for v, label in words
                     if v != UNTESTED or any(r["verdict"] == v for r in rows))
