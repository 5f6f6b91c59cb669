"""Censored lab values (issue 21): ``<0.5``, ``>1000`` decide a gate only where the bound decides."""

from hypothesis import given
from hypothesis import strategies as st

from chemo.labs.censored import censored_verdict


def test_anc_below_half_fails_at_least_one_and_a_half():
    assert censored_verdict("<", 0.5, ">=", 1.5) is False


def test_platelets_above_a_thousand_pass_at_least_a_hundred():
    assert censored_verdict(">", 1000, ">=", 100) is True


def test_a_bound_on_the_wrong_side_cannot_decide():
    assert censored_verdict("<", 2.0, ">=", 1.5) is None  # ANC could be 1.0 or 1.9
    assert censored_verdict(">", 50, ">=", 100) is None  # platelets could be 60 or 600


def test_a_bound_at_the_limit():
    assert censored_verdict("<", 1.5, ">=", 1.5) is False  # x < 1.5 never reaches 1.5
    assert censored_verdict("<=", 1.5, ">=", 1.5) is None  # x = 1.5 would pass
    assert censored_verdict(">=", 100, ">=", 100) is True
    assert censored_verdict(">=", 100, ">", 100) is None


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(lambda v: round(v, 3))


@given(st.sampled_from(["<", "<=", ">", ">="]), finite, st.sampled_from(["<", "<=", ">", ">="]), finite,
       st.floats(min_value=0, max_value=1e4, allow_nan=False))
def test_the_verdict_holds_for_every_value_the_comparator_allows(comparator, bound, op, limit, distance):
    """Law: True means every x beyond the bound meets the threshold, False that none does."""
    verdict = censored_verdict(comparator, bound, op, limit)
    below = comparator.startswith("<")
    samples = [bound - distance if below else bound + distance]
    if comparator in ("<=", ">="):
        samples.append(bound)
    for x in samples:
        if x == bound and comparator in ("<", ">"):
            continue
        holds = {"<": x < limit, "<=": x <= limit, ">": x > limit, ">=": x >= limit}[op]
        if verdict is True:
            assert holds, (comparator, bound, op, limit, x)
        elif verdict is False:
            assert not holds, (comparator, bound, op, limit, x)
