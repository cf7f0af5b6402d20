"""Intervals and paired tests of cama.stats against scipy's reference implementations."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import binomtest

from cama.stats import AHEAD, BEHIND, LEVEL, compare, count_verdicts, holm, mcnemar, wilson


@given(n=st.integers(1, 400), data=st.data())
def test_wilson_matches_scipy(n, data):
    k = data.draw(st.integers(0, n))
    ref = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    lo, hi = wilson(k, n)
    assert lo == pytest.approx(ref.low, abs=1e-9) and hi == pytest.approx(ref.high, abs=1e-9)
    assert 0 <= lo <= k / n <= hi <= 1


def test_wilson_of_nothing_is_everything():
    assert wilson(0, 0) == (0.0, 1.0)


@given(b=st.integers(0, 60), c=st.integers(0, 60))
def test_exact_mcnemar_is_the_two_sided_binomial_test(b, c):
    expected = 1.0 if b + c == 0 else binomtest(b, b + c, 0.5).pvalue
    assert mcnemar(b, c) == pytest.approx(expected, rel=1e-9)


def test_holm_step_down():
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([]) == []


def test_compare_words_every_cell():
    a = {(0, i): i < 30 for i in range(40)}
    b = {(0, i): i < 5 for i in range(40)}
    same = {(0, i): i < 6 for i in range(40)}
    rows = compare([(a, b), (b, a), (b, same), (a, None)])
    assert [r["verdict"] for r in rows[:3]] == [AHEAD, BEHIND, LEVEL]
    assert rows[0]["pairs"] == 40 and (rows[0]["only A"], rows[0]["only B"]) == (25, 0)
    assert rows[0]["p (Holm)"] == pytest.approx(3 * mcnemar(25, 0))  # three testable comparisons
    assert rows[3]["p (Holm)"] is None
    assert count_verdicts(rows) == ("significantly ahead in 1, no significant difference in 1, significantly behind "
                                    "in 1, not testable in 1")


def test_cluster_bootstrap_counts_a_graph_once_however_often_it_is_paired():
    """50 graphs, A fools 30 that B misses and B fools 15 that A misses. Repeating every graph's
    pair 12 times (12 surrogate → victim pairs) makes McNemar's p fall from 0.036 to 1e-14; the
    bootstrap over graphs keeps the evidence of the 50 graphs (about McNemar's p on them)."""
    from cama.stats import cluster_bootstrap, discordant

    a = {(g,): g < 30 for g in range(50)}
    b = {(g,): 30 <= g < 45 for g in range(50)}
    once = cluster_bootstrap(a, b, cluster=lambda k: k[0])
    a12 = {(g, r): v for (g,), v in a.items() for r in range(12)}
    b12 = {(g, r): v for (g,), v in b.items() for r in range(12)}
    twelve = cluster_bootstrap(a12, b12, cluster=lambda k: k[0])
    _, x, y = discordant(a12, b12)
    assert mcnemar(x, y) < 1e-12 and twelve == once  # the same resampled graphs, the same evidence
    assert abs(once - mcnemar(30, 15)) < 0.02
    assert cluster_bootstrap(a, a, cluster=lambda k: k[0]) == 1.0
    assert cluster_bootstrap(a, b, cluster=lambda k: k[0]) == once  # seeded
    rows = compare([(a12, b12)], cluster=lambda k: k[0])
    assert rows[0]["p"] == twelve and rows[0]["verdict"] == AHEAD
