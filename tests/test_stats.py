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
