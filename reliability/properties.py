"""Property tests: laws that must hold for every input, each tried on ≥ 1,000 generated examples.

Run with Hypothesis's engine directly (no pytest), with no example database, so
the figure is the same from a fresh clone.  Each law reports how many examples
ran and how many broke it (0, or the first counterexample).

Laws (each on the engine's public functions):

* BSA never falls when height or weight rises (every formula);
* BSA does not depend on the units written (cm/kg against in/lb);
* a per-m² dose is the protocol dose × BSA × the level's fraction, exactly;
* per-cycle totals are the sum of the days' calculated doses;
* a lower dose level never gives more drug;
* rounding for dispensing stays within the library's tolerance and is
  idempotent (a dispensed dose rounds to itself);
* an order of exactly the doses ``chemo dose`` prints verifies ``ok``; the same
  order with one line ×10 or ÷10 is a hard stop;
* a regimen dose above the drug's plausible maximum never validates;
* the unit parser and the TOML reader raise nothing but the project's one-line
  errors, whatever the text or bytes.

    python -m reliability.properties [--examples 1000]
"""

from __future__ import annotations

import argparse
import functools
import math
import re
import sys
import tempfile
import time
from pathlib import Path

from .common import print_figures, REGIMENS, Figure

LAWS = []


def law(function):
    LAWS.append(function)
    return function


def _settings(examples: int):
    from hypothesis import HealthCheck, settings

    return settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                    suppress_health_check=list(HealthCheck), print_blob=False)


# ------------------------------------------------------------------ the laws
# each takes (given, st, settings, count) and returns a Hypothesis test function;
# ``count`` is a list that every example appends to, so the figure counts what ran

FORMULAS = ("mosteller", "dubois", "haycock", "gehan-george", "boyd")
REGIMEN_IDS = tuple(sorted(p.stem for p in REGIMENS.glob("*.toml")))


@law
def bsa_monotone(given, st, settings, count):
    """BSA never falls when height or weight rises"""
    from chemo.bodysize import bsa_m2

    @settings
    @given(st.sampled_from(FORMULAS), st.floats(100, 220), st.floats(0, 40), st.floats(30, 200), st.floats(0, 80))
    def test(formula, h, dh, w, dw):
        count.append(1)
        assert bsa_m2(h, w, formula) <= bsa_m2(h + dh, w + dw, formula) * (1 + 1e-12)
    return test


@law
def bsa_unit_invariant(given, st, settings, count):
    """BSA is the same written in cm/kg or in/lb"""
    from chemo.bodysize import bsa

    @settings
    @given(st.sampled_from(FORMULAS), st.floats(100, 220), st.floats(30, 200))
    def test(formula, h, w):
        count.append(1)
        metric = bsa(f"{h!r} cm", f"{w!r} kg", formula).to("m**2").magnitude
        imperial = bsa(f"{h / 2.54!r} in", f"{w / 0.45359237!r} lb", formula).to("m**2").magnitude
        assert math.isclose(metric, imperial, rel_tol=1e-9), (metric, imperial)
    return test


@functools.lru_cache(maxsize=None)
def _regimen(regimen_id):
    from chemo.regimen import load_regimen

    return load_regimen(regimen_id)


def _cycle(regimen_id, bsa, cycle, level, weight=None):
    from chemo.dose import body_size, calculate_cycle

    regimen = _regimen(regimen_id)
    body = body_size(bsa=f"{bsa!r} m²", weight=None if weight is None else f"{weight!r} kg", regimen=regimen)
    return regimen, calculate_cycle(regimen, body, min(cycle, regimen.cycles), level)


@law
def dose_linear(given, st, settings, count):
    """a per-m² dose is protocol dose × BSA × level, exactly"""
    from chemo.library import load_library
    from chemo.units import Basis

    @settings
    @given(st.sampled_from(REGIMEN_IDS), st.floats(0.5, 3.0), st.integers(1, 6), st.sampled_from((0, -1)))
    def test(regimen_id, bsa, cycle, level):
        count.append(1)
        regimen, doses = _cycle(regimen_id, bsa, cycle, level)
        library = load_library()
        for a in doses.administrations:
            if a.derived_from or a.daily.basis is not Basis.PER_M2:
                continue
            line = regimen.line(a.drug)
            fraction = library.drugs[a.drug].dose_levels[-level] if level else 1.0
            expected = line.daily.amount * fraction * doses.body.bsa_m2
            assert math.isclose(a.calculated_mg, expected, rel_tol=1e-12), (a.drug, a.calculated_mg, expected)
    return test


@law
def cycle_totals(given, st, settings, count):
    """per-cycle totals are the sum of the days' doses"""

    @settings
    @given(st.sampled_from(REGIMEN_IDS), st.floats(0.5, 3.0), st.integers(1, 6))
    def test(regimen_id, bsa, cycle):
        count.append(1)
        regimen, doses = _cycle(regimen_id, bsa, cycle, 0)
        totals = doses.totals_mg()
        for drug, total in totals.items():
            assert math.isclose(total, sum(a.dose_mg for a in doses.for_drug(drug)), rel_tol=1e-9, abs_tol=1e-6)
        for line in regimen.drugs:
            calculated = sum(a.calculated_mg for a in doses.for_drug(line.drug))
            if line.per_cycle.basis.name == "PER_M2":
                assert math.isclose(calculated, line.per_cycle.amount * doses.body.bsa_m2, rel_tol=1e-9)
    return test


@law
def level_monotone(given, st, settings, count):
    """a lower dose level never gives more drug"""

    @settings
    @given(st.sampled_from(REGIMEN_IDS), st.floats(0.5, 3.0), st.sampled_from((0, -1)))
    def test(regimen_id, bsa, level):
        count.append(1)
        from chemo.dose import DoseError

        _, upper = _cycle(regimen_id, bsa, 1, level)
        try:
            _, lower = _cycle(regimen_id, bsa, 1, level - 1)
        except DoseError:  # no lower step (a ladder's end): a refusal, not more drug
            return
        high = {(a.drug, a.day): a.calculated_mg for a in upper.administrations}
        for a in lower.administrations:
            assert a.calculated_mg <= high[(a.drug, a.day)] * (1 + 1e-12), (a.drug, a.day)
    return test


@law
def dispense_tolerance(given, st, settings, count):
    """dispensed doses stay within tolerance and round to themselves"""
    from chemo.dose import dispense
    from chemo.library import load_library

    library = load_library()
    increments = sorted({d.rounding_mg for d in library.drugs.values() if d.rounding_mg})
    tol, mode = library.rounding.tolerance, library.rounding.decimal_mode

    @settings
    @given(st.floats(0.05, 50_000), st.sampled_from(increments))
    def test(mg, increment):
        count.append(1)
        dose, step, _ = dispense(mg, increment, tol, mode)
        assert abs(dose - mg) <= tol * mg * (1 + 1e-9), (mg, increment, dose)
        again, _, _ = dispense(dose, increment, tol, mode)
        assert math.isclose(again, dose, rel_tol=1e-12), (dose, again)
    return test


def _order_document(doses, regimen_id, bsa, cycle, lines):
    return {"regimen": regimen_id, "cycle": cycle, "bsa": f"{bsa!r} m²",
            "line": [{"drug": drug, "day": day, "dose": f"{mg!r} mg"} for drug, day, mg in lines]}


@law
def verify_exact_ok(given, st, settings, count):
    """an order of exactly the printed doses verifies ok (over-max only where the dose is)"""
    from chemo.library import load_library
    from chemo.order import order_from_document
    from chemo.units import Basis
    from chemo.verify import verify_order

    library = load_library()

    def over_max(drug_id, mg):
        limits = library.drugs[drug_id].limits
        return Basis.FLAT in limits.single and mg > limits.single[Basis.FLAT] * (1 + 1e-9)

    @settings
    @given(st.sampled_from(REGIMEN_IDS), st.floats(0.8, 2.6), st.integers(1, 3))
    def test(regimen_id, bsa, cycle):
        count.append(1)
        _, doses = _cycle(regimen_id, bsa, cycle, 0)
        lines = [(a.drug, a.day, a.dose_mg) for a in doses.administrations]
        order = order_from_document(_order_document(doses, regimen_id, bsa, doses.cycle, lines))
        result = verify_order(order)
        wrong = [(line.drug, line.day, line.status, line.reasons) for line in result.lines if line.status != "ok"
                 and not (line.reasons == ("over-max",) and over_max(line.drug, line.ordered_mg))]
        assert not wrong, wrong
    return test


@law
def verify_tenfold_stops(given, st, settings, count):
    """one order line ×10 or ÷10 is a hard stop"""
    from chemo.order import order_from_document
    from chemo.verify import verify_order

    @settings
    @given(st.sampled_from(REGIMEN_IDS), st.floats(0.8, 2.6), st.integers(0, 10_000), st.sampled_from((10.0, 0.1)))
    def test(regimen_id, bsa, pick, factor):
        count.append(1)
        _, doses = _cycle(regimen_id, bsa, 1, 0)
        lines = [(a.drug, a.day, a.dose_mg) for a in doses.administrations]
        i = pick % len(lines)
        lines[i] = (lines[i][0], lines[i][1], lines[i][2] * factor)
        result = verify_order(order_from_document(_order_document(doses, regimen_id, bsa, 1, lines)))
        assert result.status == "hard-stop", (lines[i], result.status)
    return test


_DOSE_LINE = re.compile(r'^(dose\s*=\s*")(\d+(?:\.\d+)?)(\s*[^"]*")', re.MULTILINE)


@law
def over_max_rejected(given, st, settings, count):
    """a regimen dose above the plausible maximum never validates"""
    from chemo.datafile import read_toml
    from chemo.library import load_library
    from chemo.regimen import check_regimen, load_regimen

    library = load_library()
    texts = {rid: (REGIMENS / f"{rid}.toml").read_text(encoding="utf-8") for rid in REGIMEN_IDS}
    tmp = Path(tempfile.mkdtemp(prefix="chemo-prop-"))

    @settings
    @given(st.sampled_from(REGIMEN_IDS), st.integers(0, 100), st.floats(1.01, 1000))
    def test(regimen_id, pick, over):
        count.append(1)
        regimen = load_regimen(regimen_id)
        matches = list(_DOSE_LINE.finditer(texts[regimen_id]))[:len(regimen.drugs)]  # [[drugs]] come first
        m = matches[pick % len(matches)]
        line = regimen.drugs[pick % len(matches)]
        drug = library.drugs[line.drug]
        limit = drug.limits.single[line.dose.basis]
        per_day = line.daily.amount / line.dose.amount  # daily share of the written number
        written = float(m.group(2)) * (limit / (line.dose.amount * per_day)) * over  # daily dose = limit × over
        text = texts[regimen_id][:m.start(2)] + f"{written!r}" + texts[regimen_id][m.end(2):]
        path = tmp / f"{regimen_id}.toml"
        path.write_text(text, encoding="utf-8")
        regimen_out, problems = check_regimen(read_toml(path), library)
        assert regimen_out is None and problems, (line.drug, written)
    return test


@law
def parser_total(given, st, settings, count):
    """the unit parser raises only one-line errors, whatever the text"""
    from chemo.errors import ChemoError
    from chemo.units import parse_dose, parse_quantity

    tokens = st.sampled_from(list("0123456789.,+-eE /*^()×·²³⁹⁻µμ%㎡ mgkLdlUuMnIiNnfa")
                             + [" ULN", "10^9", "m2", "/1.73m²", "mg/m²", " days", "**", "e308", "nan", "inf"])

    @settings
    @given(st.one_of(st.lists(tokens, max_size=12).map("".join), st.text(max_size=30)), st.sampled_from((None, "mg", "m**2", "day", "g/dL")))
    def test(text, expect):
        count.append(1)
        for call in (lambda: parse_quantity(text, expect), lambda: parse_dose(text)):
            try:
                call()
            except ChemoError as exc:
                assert "\n" not in str(exc), str(exc)
    return test


@law
def reader_total(given, st, settings, count):
    """validating any bytes gives problems, never an exception"""
    from chemo.library import load_library
    from chemo.validate import validate_file

    library = load_library()
    real = [p.read_bytes() for p in sorted(REGIMENS.glob("*.toml"))]
    tmp = Path(tempfile.mkdtemp(prefix="chemo-prop-"))

    @settings
    @given(st.one_of(
        st.binary(max_size=400),
        st.tuples(st.sampled_from(range(len(real))), st.integers(0, 10**6), st.binary(min_size=1, max_size=8),
                  st.integers(0, 40)).map(lambda t: real[t[0]][:t[1] % len(real[t[0]])] + t[2]
                                          + real[t[0]][t[1] % len(real[t[0]]) + t[3]:])))
    def test(data):
        count.append(1)
        path = tmp / "fuzz.toml"
        path.write_bytes(data)
        for problem in validate_file(path, library):
            assert "\n" not in problem.message or problem.path == "(file)", str(problem)
    return test


# ------------------------------------------------------------------ running

def run(quick: bool = False, examples: int | None = None) -> list[Figure]:
    from hypothesis import given, strategies as st

    examples = examples or (100 if quick else 1000)
    minimum = examples
    figures = []
    for make in LAWS:
        count: list = []
        name = f"property: {make.__doc__}"
        started = time.perf_counter()
        try:
            test = make(given, st, _settings(examples), count)
        except ImportError as exc:
            figures.append(Figure(name, None, f">= {minimum} examples, 0 broken", False,
                                  not_run=f"{exc.name or exc} missing"))
            continue
        broken = None
        try:
            test()
        except Exception as exc:  # the counterexample: Hypothesis re-raises it after shrinking
            broken = f"{type(exc).__name__}: {str(exc)[:300]}"
        seconds = time.perf_counter() - started
        ran = len(count)
        passed = broken is None and ran >= minimum
        detail = f"{ran} examples in {seconds:.1f} s" + (f"; counterexample: {broken}" if broken else "")
        figures.append(Figure(name, ran, f">= {minimum} examples, 0 broken", passed, "examples", detail,
                              examples=[broken] if broken else []))
    return figures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1000)
    args = parser.parse_args(argv)
    figures = run(examples=args.examples)
    return print_figures(figures, examples=0)


if __name__ == "__main__":
    sys.exit(main())
