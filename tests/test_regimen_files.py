"""The four real regimen files load and say what the seeds say.

Seed 003 (STRASS-2-style): doxorubicin 75 mg/m² + ifosfamide 9 g/m² ("9 g/m3" in the
seed), epirubicin 120 mg/m² as the alternative, doxorubicin 75 mg/m² + dacarbazine
1 g/m², all Q3W × 3; eligibility haemoglobin > 9.0 g/dL, ANC > 1.5 × 10⁹/L, platelets
> 100 × 10⁹/L, eGFR > 50, bilirubin ≤ 1.0 × ULN, ALT/AST ≤ 1.5 × ULN, LVEF ≥ 50 %;
cumulative cap 450 mg/m² doxorubicin (900 epirubicin).
Seed 004 (NATARS): PLD 40 mg/㎡ d1, ifosfamide 1 g/㎡ d1-5, anlotinib 10 mg d1-14, Q3W × 3.
"""

from __future__ import annotations

import pytest

from chemo.regimen import load_regimen
from chemo.units import Basis

from conftest import REGIMEN_IDS, REGIMENS


@pytest.fixture(scope="module")
def regimens():
    return {rid: load_regimen(rid) for rid in REGIMEN_IDS}


def per_m2(dose) -> float:
    assert dose.basis is Basis.PER_M2, f"{dose} is not per m²"
    return dose.amount


def test_the_four_files_exist_and_load(regimens):
    assert sorted(p.stem for p in REGIMENS.glob("*.toml")) == sorted(REGIMEN_IDS)
    for rid, regimen in regimens.items():
        assert regimen.id == rid
        assert regimen.cycle_length_days == 21  # Q3 weeks
        assert regimen.cycles == 3
        assert regimen.sha256 and len(regimen.sha256) == 64


def test_load_by_path_gives_the_same_regimen(regimens):
    for rid in REGIMEN_IDS:
        assert load_regimen(REGIMENS / f"{rid}.toml") == regimens[rid]


# ---------------------------------------------------------------- doses

def test_doxorubicin_ifosfamide(regimens):
    r = regimens["doxorubicin-ifosfamide"]
    assert [d.drug for d in r.drugs] == ["doxorubicin", "ifosfamide"]
    dox = r.line("doxorubicin")
    assert dox.per == "cycle"
    assert per_m2(dox.per_cycle) == pytest.approx(75)  # mg/m² per cycle
    assert dox.days == (1, 2, 3)
    assert per_m2(dox.daily) == pytest.approx(25)  # 25 mg/m² a day, d1-3 (NCCP 00392)
    ifo = r.line("ifosfamide")
    assert per_m2(ifo.per_cycle) == pytest.approx(9000)  # 9 g/m² per cycle
    assert ifo.days == (1, 2, 3)
    assert per_m2(ifo.daily) == pytest.approx(3000)  # 3 g/m² a day
    mesna = r.derived_line("mesna")
    assert mesna.from_drug == "ifosfamide"
    assert mesna.fraction == pytest.approx(0.60)  # 60 % of the ifosfamide dose (Ifex: 20 % at 0, 4, 8 h)
    assert mesna.days == ifo.days


def test_epirubicin_ifosfamide(regimens):
    r = regimens["epirubicin-ifosfamide"]
    assert [d.drug for d in r.drugs] == ["epirubicin", "ifosfamide"]
    epi = r.line("epirubicin")
    assert per_m2(epi.per_cycle) == pytest.approx(120)  # replaces doxorubicin 75 mg/m²
    assert epi.days == (1, 2)
    assert per_m2(epi.daily) == pytest.approx(60)
    assert per_m2(r.line("ifosfamide").per_cycle) == pytest.approx(9000)
    assert r.derived_line("mesna").fraction == pytest.approx(0.60)
    assert r.line("doxorubicin") is None


def test_doxorubicin_dacarbazine(regimens):
    r = regimens["doxorubicin-dacarbazine"]
    assert [d.drug for d in r.drugs] == ["doxorubicin", "dacarbazine"]
    assert per_m2(r.line("doxorubicin").per_cycle) == pytest.approx(75)
    dtic = r.line("dacarbazine")
    assert per_m2(dtic.per_cycle) == pytest.approx(1000)  # 1 g/m² per cycle
    assert dtic.days == (1,)
    assert r.derived == ()  # no ifosfamide, no mesna


def test_pld_ifosfamide_anlotinib(regimens):
    r = regimens["pld-ifosfamide-anlotinib"]
    assert [d.drug for d in r.drugs] == ["pld", "ifosfamide", "anlotinib"]
    # PLD is its own drug, never conventional doxorubicin ("do not substitute")
    assert r.line("doxorubicin") is None
    assert "doxorubicin" not in r.drug_ids
    pld = r.line("pld")
    assert pld.days == (1,)
    assert per_m2(pld.daily) == pytest.approx(40)
    assert pld.dose.text == "40 mg/㎡"  # as seed 004 writes it
    ifo = r.line("ifosfamide")
    assert ifo.per == "day"
    assert ifo.days == (1, 2, 3, 4, 5)
    assert per_m2(ifo.daily) == pytest.approx(1000)  # 1 g/m² a day
    assert per_m2(ifo.per_cycle) == pytest.approx(5000)  # 5 g/m² per cycle
    anl = r.line("anlotinib")
    assert anl.dose.basis is Basis.FLAT  # flat oral dose: no BSA
    assert anl.dose.amount == pytest.approx(10)  # mg
    assert anl.per == "day"
    assert anl.days == tuple(range(1, 15))  # d1-14
    assert anl.route == "PO"
    assert r.derived_line("mesna").fraction == pytest.approx(0.60)


def test_pld_and_doxorubicin_are_not_interchangeable(library):
    assert "doxorubicin" in library.drugs["pld"].not_interchangeable_with
    assert "pld" in library.drugs["doxorubicin"].not_interchangeable_with
    assert library.drug("doxil") is library.drugs["pld"]
    assert library.drug("adriamycin") is library.drugs["doxorubicin"]


# ---------------------------------------------------------------- thresholds (seed 003)

# analyte, operator as written, value as written, value in a checkable unit
SEED_003_THRESHOLDS = [
    ("hemoglobin", ">", "g/dL", 9.0),
    ("anc", ">", "1/L", 1.5e9),
    ("platelets", ">", "1/L", 100e9),
    ("egfr", ">", "mL/min/std_bsa", 50),
    ("bilirubin", "<=", None, 1.0),  # × ULN
    ("alt", "<=", None, 1.5),
    ("ast", "<=", None, 1.5),
    ("lvef", ">=", "%", 50),
]


@pytest.mark.parametrize("rid", REGIMEN_IDS)
def test_seed_003_thresholds_with_their_operators_as_written(regimens, rid):
    """Seed 003's entry criteria are the eligibility gates, as written (issue 19)."""
    thresholds = {t.analyte: t for t in regimens[rid].thresholds if t.kind == "eligibility"}
    assert sorted(thresholds) == sorted(a for a, *_ in SEED_003_THRESHOLDS)
    for analyte, op, unit, value in SEED_003_THRESHOLDS:
        t = thresholds[analyte]
        assert t.op_text == op, f"{analyte}: {t.op_text} (seed 003 writes {op})"
        assert t.op == op
        if unit is None:
            assert t.value.quantity is None
            assert t.value.uln_multiple == pytest.approx(value), analyte
        else:
            assert t.value.uln_multiple is None
            assert t.value.quantity.to(unit).magnitude == pytest.approx(value, rel=1e-12), analyte
        assert t.max_age_days == (90 if analyte == "lvef" else 3)
        assert t.source.strip()


def test_strict_and_non_strict_operators_differ():
    """At the boundary > and ≥ disagree: haemoglobin exactly 9.0 g/dL fails "> 9.0"; LVEF exactly 50 % passes "≥ 50 %"."""
    r = load_regimen("doxorubicin-ifosfamide")
    ops = {t.analyte: t.op for t in r.thresholds if t.kind == "eligibility"}
    assert ops["hemoglobin"] == ">" and ops["lvef"] == ">="


# ---------------------------------------------------------------- modifications, cumulative

def test_doxorubicin_bilirubin_bands(regimens):
    """US label 2.4 Table 1: 1.2-3 mg/dL -> 50 %; 3.1-5 -> 25 % (the dose given, not the reduction); > 5 -> do not give."""
    for rid in ("doxorubicin-ifosfamide", "doxorubicin-dacarbazine"):
        bands = [m for m in regimens[rid].modifications if m.drug == "doxorubicin" and m.analyte == "bilirubin"]
        got = [(m.low and m.low.quantity.to("mg/dL").magnitude, m.low_inclusive,
                m.high and m.high.quantity.to("mg/dL").magnitude, m.high_inclusive, m.give) for m in bands]
        assert got == [
            (pytest.approx(1.2), True, pytest.approx(3), True, pytest.approx(0.5)),
            (pytest.approx(3), False, pytest.approx(5), True, pytest.approx(0.25)),
            (pytest.approx(5), False, None, False, 0),
        ]


def test_epirubicin_ast_bands_are_uln_multiples(regimens):
    bands = [m for m in regimens["epirubicin-ifosfamide"].modifications if m.analyte == "ast"]
    assert [(m.low.uln_multiple, m.high and m.high.uln_multiple, m.give) for m in bands] == [
        (2.0, 4.0, 0.5), (4.0, None, 0.25)]


@pytest.mark.parametrize("rid", REGIMEN_IDS)
def test_cumulative_cap_450_mg_m2(regimens, rid):
    c = regimens[rid].cumulative
    assert c.cap == pytest.approx(450)  # mg/m² doxorubicin-equivalent (seed 003)
    assert c.warn_at == pytest.approx(300)  # dexrazoxane threshold
    assert c.model == "seed-003-cap-ratio"


def test_seed_003_cap_ratio_model(library):
    """450 mg/m² doxorubicin ≡ 900 mg/m² epirubicin: factor 0.5; the swap 75 ↔ 120 gives 0.625."""
    assert library.drugs["epirubicin"].equivalence["seed-003-cap-ratio"] == pytest.approx(0.5)
    assert library.drugs["epirubicin"].equivalence["seed-003-swap"] == pytest.approx(75 / 120)
    assert library.drugs["doxorubicin"].equivalence["seed-003-cap-ratio"] == 1.0
    assert library.drugs["pld"].equivalence["seed-003-cap-ratio"] == 1.0  # no guideline factor: 1.0, shown


@pytest.mark.parametrize("rid", REGIMEN_IDS)
def test_every_entry_has_a_source(regimens, rid):
    r = regimens[rid]
    entries = [r, r.cumulative, *r.drugs, *r.derived, *r.thresholds, *r.modifications]
    for entry in entries:
        assert isinstance(entry.source, str) and entry.source.strip(), entry
    assert r.day_split.strip()  # which split the file encodes, and why


def test_every_library_drug_has_a_source(library):
    for drug in library.drugs.values():
        assert drug.source.strip() and drug.limits.source.strip(), drug.id
    for model in library.models.values():
        assert model.source.strip(), model.id
    for analyte in library.analytes.values():
        for source in analyte.conversion_sources():
            assert source.strip(), analyte.id
    assert library.rounding.source.strip()


@pytest.mark.parametrize("rid", REGIMEN_IDS)
def test_doses_sit_within_library_limits(regimens, library, rid):
    for line in regimens[rid].drugs:
        limits = library.drugs[line.drug].limits
        assert line.daily.amount <= limits.single[line.dose.basis]
        assert line.per_cycle.amount <= limits.cycle[line.dose.basis]


def test_the_ifosfamide_regimens_carry_g_csf_prophylaxis_with_its_source():
    """clinical.md: G-CSF primary prophylaxis when febrile-neutropenia risk ≥ 20 % (doxorubicin + ifosfamide qualifies)."""
    from chemo.regimen import load_regimen

    for rid in ("doxorubicin-ifosfamide", "epirubicin-ifosfamide"):
        notes = load_regimen(rid).notes
        assert any("G-CSF" in n.text and "20 %" in n.source for n in notes), rid
