"""Issue 11: reading an order document without the problem machinery gives what the general path
gives (the same Order, or the same error), and the verifier's value classes behave as values."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chemo import order as order_module
from chemo.errors import ChemoError
from chemo.order import Order, OrderLine, order_from_document, ordered_dose
from chemo.verify import LineResult, verify_order

PLAIN = {"regimen": "doxorubicin-dacarbazine", "cycle": 1, "height": "170 cm", "weight": "75 kg",
         "line": [{"drug": "doxorubicin", "day": 1, "dose": "141 mg"}, {"drug": "dacarbazine", "day": 1, "dose": "1880 mg"}]}

VALUES = st.sampled_from((None, "", "  ", "x", "doxorubicin-dacarbazine", 0, 1, -1, -11, 3, 1001, True, False, 2.5,
                          {"anlotinib": -1}, {"anlotinib": True}, {"anlotinib": -11}, [], "1.9 m²", "170 cm", "mosteller"))
LINES = st.sampled_from((
    [{"drug": "doxorubicin", "day": 1, "dose": "141 mg"}],
    [{"drug": " ADM ", "day": 1, "dose": "75 mg/m²"}, {"drug": "dacarbazine", "day": 1, "dose": "1.88 g"}],
    [{"drug": "doxorubicin", "day": 1, "dose": "141 mL"}],
    [{"drug": "doxorubicin", "day": 1, "dose": "141 mg", "note": "n"}],
    [{"drug": "doxorubicin", "day": 0, "dose": "141 mg"}],
    [{"drug": "doxorubicin", "day": True, "dose": "141 mg"}],
    [{"drug": "", "day": 1, "dose": "141 mg"}],
    [{"drug": "doxorubicin", "day": 1, "dose": "-1 mg"}],
    [{"drug": "doxorubicin", "day": 1}],
    [], "x", [{"drug": "doxorubicin", "day": 1, "dose": "141 mg"}] * 201,
))


def _outcome(*args):
    try:
        return order_from_document(*args)
    except ChemoError as exc:
        return type(exc), str(exc)


def _general(document, name, problems=None):
    """order_from_document with the plain path turned off."""
    saved = order_module._plain_order
    order_module._plain_order = lambda *_: None
    try:
        return _outcome(document, name) if problems is None else _outcome(document, name, problems)
    finally:
        order_module._plain_order = saved


@settings(max_examples=100, deadline=None)
@given(changes=st.dictionaries(st.sampled_from(order_module.TOP_KEYS + ("dose", "regimen ")), VALUES, max_size=4),
       removed=st.sets(st.sampled_from(("regimen", "cycle", "height", "weight", "line"))), lines=st.one_of(st.none(), LINES))
def test_the_plain_path_reads_what_the_general_path_reads(changes, removed, lines):
    document = {k: v for k, v in PLAIN.items() if k not in removed}
    document.update(changes)
    if lines is not None:
        document["line"] = lines
    assert _outcome(document, "o.toml") == _general(document, "o.toml")
    assert _outcome(document, "o.toml", []) == _general(document, "o.toml", [])


def test_a_document_with_problems_already_recorded_is_not_an_order():
    problems = [object()]
    assert order_from_document(dict(PLAIN), "o.toml", problems) is None and len(problems) == 1


def test_order_values():
    order = order_from_document(PLAIN, "o.toml")
    assert order_module._plain_order(PLAIN, "o.toml") == order  # the plain path is the one taken
    by_bsa = {"regimen": "x", "cycle": 2, "bsa": "1.9 m²", "dose_level": {"anlotinib": -1}, "line": PLAIN["line"]}
    assert order_module._plain_order(by_bsa, "o.toml") == _general(by_bsa, "o.toml")
    assert order == order_from_document(PLAIN, "o.toml") and order != tuple(order)
    assert order.lines[0] == OrderLine(1, "doxorubicin", 1, ordered_dose("141 mg"))
    assert order.lines[0].index == 1 and order.formula == "mosteller" and order.patient is None
    with pytest.raises(AttributeError):
        order.cycle = 2
    assert pickle.loads(pickle.dumps(order)) == order
    assert isinstance(order, Order) and order._replace(cycle=2).cycle == 2


def test_line_results_are_values_with_a_message_made_when_asked():
    verification = verify_order(order_from_document(PLAIN, "o.toml"))
    first = verification.lines[0]
    assert isinstance(first, LineResult) and first.status == "ok" and first.reasons == ()
    assert first.message == "doxorubicin day 1: ordered 141 mg, expected 141 mg (75 mg/m² × 1.88 m²): ok"
    assert first._replace(message="m").message == "m" and first._replace(status="review").status == "review"
    with pytest.raises(TypeError):
        first._replace(colour="red")
    with pytest.raises(AttributeError):
        first.status = "review"
    made = LineResult("d", 1, None, None, None, 1.0, 1.0, "review", ("missing-drug",), "text")
    assert made == pickle.loads(pickle.dumps(made)) and made != tuple(made)
    assert repr(made) == ("LineResult(drug='d', day=1, line=None, ordered=None, ordered_mg=None, expected_mg=1.0, "
                          "calculated_mg=1.0, status='review', reasons=('missing-drug',), _message='text', "
                          "ordered_drug=None)")
    assert made.deviation is None and made.as_json()["message"] == "text"
