"""Issue 11: the fast paths of chemo.dose give exactly what the general path gives, and the
value classes behave as the frozen attrs classes they replace."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chemo import dose as dose_module
from chemo.dose import Administration, BodySize, CycleDoses, DoseError, body_size, calculate_cycle
from chemo.errors import ChemoError
from chemo.library import load_library
from chemo.regimen import load_regimen

REGIMENS = ("doxorubicin-dacarbazine", "doxorubicin-ifosfamide", "epirubicin-ifosfamide", "pld-ifosfamide-anlotinib")
LEVELS = (0, -1, -2, -3, 1, {"anlotinib": -1}, {"anlotinib": -2}, {"anlotinib": -3}, {"doxorubicin": -1},
          {"ADM": -1, "ifosfamide": -2}, {"ifosfamide": False}, {"ifosfamide": 0}, True, "0", {"nothing": -1})


def _outcome(fn, *args):
    """The result, or the error's type, message and field: the two paths must agree on either."""
    try:
        return fn(*args)
    except ChemoError as exc:
        return type(exc), exc.message, exc.field


@settings(max_examples=60, deadline=None)
@given(regimen_id=st.sampled_from(REGIMENS), level=st.sampled_from(LEVELS),
       bsa=st.floats(0.3, 4.0, allow_nan=False), weight=st.one_of(st.none(), st.floats(20, 250, allow_nan=False)),
       number=st.integers(0, 4))
def test_the_plan_gives_what_the_general_path_gives(regimen_id, level, bsa, weight, number):
    library = load_library()
    regimen = load_regimen(regimen_id, library)
    body = BodySize(bsa, "given", None, weight)
    fast = _outcome(calculate_cycle, regimen, body, number, level, library)
    general = _outcome(dose_module._calculate, regimen, body, number, level, library)
    assert fast == general
    if isinstance(fast, CycleDoses):
        assert [a.day for a in fast.administrations] == sorted(a.day for a in fast.administrations)


@settings(max_examples=80, deadline=None)
@given(height=st.one_of(st.none(), st.integers(20, 260).map(lambda v: f"{v} cm"),
                        st.floats(0.2, 2.6).map(lambda v: f"{v:.2f} m"), st.just("5 ft 7 in"), st.just("170")),
       weight=st.one_of(st.none(), st.floats(1, 400).map(lambda v: f"{v:.1f} kg"),
                        st.floats(2, 800).map(lambda v: f"{v:.1f} lb"), st.just("-70 kg"), st.just(75.0)),
       bsa=st.one_of(st.none(), st.floats(0.1, 5).map(lambda v: f"{v:.2f} m²"), st.just("1.9 m")),
       formula=st.sampled_from(("mosteller", "dubois", " Mosteller", "nobody")),
       capped=st.booleans())
def test_body_size_from_text_gives_what_the_general_path_gives(height, weight, bsa, formula, capped):
    library = load_library()
    regimen = load_regimen("doxorubicin-ifosfamide", library)
    if capped:
        regimen = regimen._replace(bsa_cap=2.0, bsa_cap_source="test")
    fast = _outcome(body_size, height, weight, bsa, formula, regimen, library)
    general = _outcome(dose_module._body_size, height, weight, bsa, formula, regimen, library)
    assert fast == general


def test_the_fast_paths_are_taken():
    """Were chemo.bodysize's ranges or a regimen's plan to fail to build, every body size and cycle
    would quietly take the general path: right, but slow (benchmarks/bench_dose.py)."""
    library = load_library()
    regimen = load_regimen("pld-ifosfamide-anlotinib", library)
    assert dose_module._body_rules() is not None
    assert dose_module._body_rules().body("170 cm", "75 kg", None, "mosteller", regimen, library) is not None
    assert dose_module._plan(regimen, library, 0) is dose_module._plan(regimen, library, 0) is not None
    assert dose_module._plan(regimen, library, {"anlotinib": -1}) is not None


def test_a_plan_is_per_regimen_object_and_level():
    library = load_library()
    first = load_regimen("doxorubicin-dacarbazine", library)
    body = body_size("170 cm", "75 kg", library=library)
    full = calculate_cycle(first, body, 1, 0, library)
    reduced = calculate_cycle(first, body, 1, -1, library)
    assert full.administrations[0].level == "100 %" and reduced.administrations[0].level == "75 %"
    changed = first._replace(drugs=(first.drugs[0]._replace(route="IV push"),) + first.drugs[1:])
    assert calculate_cycle(changed, body, 1, 0, library).administrations[0].route == "IV push"
    assert calculate_cycle(first, body, 1, 0, library).administrations[0].route == "IV"


def test_a_bool_level_is_refused_even_after_the_same_number_was_planned():
    library = load_library()
    regimen = load_regimen("doxorubicin-ifosfamide", library)
    body = body_size("170 cm", "75 kg", library=library)
    calculate_cycle(regimen, body, 1, {"ifosfamide": 0}, library)
    with pytest.raises(DoseError, match="expected a whole number"):
        calculate_cycle(regimen, body, 1, {"ifosfamide": False}, library)


def _administration(**changes):
    fields = dict(drug="doxorubicin", day=1, route="IV", basis="75 mg/m²", per="cycle", daily=None, level="100 %",
                  calculated_mg=141.1, dose_mg=141.0, increment_mg=1.0, deviation=-0.0007)
    fields.update(changes)
    return Administration(**fields)


def test_value_classes_are_frozen_values():
    a = _administration()
    with pytest.raises(AttributeError):
        a.dose_mg = 1410.0
    with pytest.raises(AttributeError):
        a.anything = 1
    assert a == _administration() and hash(a) == hash(_administration())
    assert a != _administration(day=2)
    assert a != tuple(a)  # a value of its class, not a tuple
    assert a._replace(dose_mg=140.0).dose_mg == 140.0 and a.dose_mg == 141.0  # attrs.evolve
    assert pickle.loads(pickle.dumps(a)) == a
    assert repr(a).startswith("Administration(drug='doxorubicin', day=1, route='IV'")
    with pytest.raises(TypeError):
        sorted([a, _administration(day=2)])  # no ordering, as an attrs class has none
    body = BodySize(1.9, "given")
    assert body.weight_kg is None and not body.capped and body != BodySize(1.9, "mosteller")
