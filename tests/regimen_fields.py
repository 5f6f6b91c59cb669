"""One change to each field of a regimen and of its parts, for the tests that must see every field
(``chemo regimen diff`` reports it, the FHIR export and import carry it).

:data:`MUTATIONS` maps (class, field) to a function that takes :func:`base_regimen` and returns it
with that one field changed to another valid value (a regimen chemo's own checks accept, so that it
can also be exported and read back).  :data:`NOT_COMPARED` lists the fields deliberately left out,
each with the reason.  :func:`uncovered` names every attrs field of every class that is in neither:
a field added to one of these classes fails the tests until it is given a mutation here (and so is
compared by the diff and mapped by the FHIR export), or a reason to be left out.
"""

from __future__ import annotations

import datetime

import attrs

from chemo.regimen import Bound, Cumulative, Derived, DrugLine, Modification, Note, Regimen, Retired, Threshold
from chemo.supportive import SupportiveLine, Timing
from chemo.units import Basis, Dose, parse_quantity

from conftest import REGIMENS

BASE_ID = "doxorubicin-ifosfamide"
# the shipped file, with what it lacks so that every field has a value: a BSA cap, a retirement
EXTRA = (b'\nbsa_cap = "2.0 m\xc2\xb2"\nbsa_cap_source = "Institutional policy: BSA capped at 2.0 m\xc2\xb2"\n'
         b'[retired]\ndate = 2026-11-30\nreason = "superseded by version 2"\n')


def base_bytes() -> bytes:
    text = (REGIMENS / f"{BASE_ID}.toml").read_bytes()
    head, sep, rest = text.partition(b"\n[cumulative]")
    return head + EXTRA.split(b"[retired]")[0] + sep + rest + b"\n[retired]" + EXTRA.split(b"[retired]")[1]


# Fields deliberately not compared by the diff, with the reason (never read back from FHIR either).
NOT_COMPARED = {
    (Regimen, "path"): "where the file was read from: the same regimen may sit anywhere",
    (Regimen, "sha256"): "the bytes of the file: a comment changes it, not the regimen",
}

# Fields whose change is listed but is not clinical (chemo.regimen_diff's module docstring).
NOT_CLINICAL = {
    (Regimen, "id"), (Regimen, "version"), (Regimen, "name"), (Regimen, "indication"), (Regimen, "source"),
    (Regimen, "day_split"), (Regimen, "bsa_cap_source"), (Regimen, "early_window_source"), (Regimen, "notes"),
    (DrugLine, "source"), (Derived, "source"), (Threshold, "source"), (Modification, "source"),
    (Cumulative, "source"), (Note, "text"), (Note, "source"), (SupportiveLine, "source"), (SupportiveLine, "note"),
    (Retired, "reason"), (Retired, "replaced_by"),
}

CLASSES = (Regimen, DrugLine, Dose, Derived, Threshold, Bound, Modification, Cumulative, Note, Retired,
           SupportiveLine, Timing)


def _dose(amount, basis, text) -> Dose:
    return Dose(amount, basis, text)


def _at(items, i, **changes) -> tuple:
    items = list(items)
    items[i] = attrs.evolve(items[i], **changes)
    return tuple(items)


def _index(items, test) -> int:
    return next(i for i, x in enumerate(items) if test(x))


def _drug(r, i, **changes):
    return attrs.evolve(r, drugs=_at(r.drugs, i, **changes))


def _supportive(r, test, **changes):
    return attrs.evolve(r, supportive=_at(r.supportive, _index(r.supportive, test), **changes))


def _gate(r, test, **changes):
    return attrs.evolve(r, thresholds=_at(r.thresholds, _index(r.thresholds, test), **changes))


def _band(r, test, **changes):
    return attrs.evolve(r, modifications=_at(r.modifications, _index(r.modifications, test), **changes))


def _bound(text) -> Bound:
    return Bound(text, parse_quantity(text), None)


DOXO, IFOS = 0, 1
ONDANSETRON = (lambda s: s.drug == "ondansetron")
DEXRAZOXANE = (lambda s: s.drug == "dexrazoxane")
HYDRATION = (lambda s: s.category == "hydration" and s.days == (1, 2, 3))
ANC_RETREATMENT = (lambda g: g.analyte == "anc" and g.kind == "retreatment")
PLATELETS_EACH_DAY = (lambda g: g.analyte == "platelets" and g.each_day)
LVEF = (lambda g: g.analyte == "lvef")
BILIRUBIN = (lambda g: g.analyte == "bilirubin")
CRCL_MIDDLE = (lambda m: m.analyte == "crcl" and m.low is not None and m.high is not None and m.high_inclusive)
BILI_TOP = (lambda m: m.analyte == "bilirubin" and m.high is None)


def _mesna(r, **changes):
    return attrs.evolve(r, derived=_at(r.derived, 0, **changes))


def _retired(r, **changes):
    return attrs.evolve(r, retired=attrs.evolve(r.retired, **changes))


def _cumulative(r, **changes):
    return attrs.evolve(r, cumulative=attrs.evolve(r.cumulative, **changes))


def _days(r, i, days):
    """A drug line given on other days, and the mesna that follows ifosfamide with it."""
    r = _drug(r, i, days=days)
    if r.drugs[i].drug == "ifosfamide":
        r = _mesna(r, days=days)
    return r


# (class, field) -> the base regimen with that field changed to another valid value
MUTATIONS = {
    (Regimen, "id"): lambda r: attrs.evolve(r, id="doxorubicin-ifosfamide-two"),
    (Regimen, "name"): lambda r: attrs.evolve(r, name=r.name + " (older patients)"),
    (Regimen, "indication"): lambda r: attrs.evolve(r, indication=r.indication + ", older patients"),
    (Regimen, "source"): lambda r: attrs.evolve(r, source=r.source + " Reviewed 2026-12-06."),
    (Regimen, "cycle_length_days"): lambda r: attrs.evolve(r, cycle_length_days=28),
    (Regimen, "cycles"): lambda r: attrs.evolve(r, cycles=4),
    (Regimen, "day_split"): lambda r: attrs.evolve(r, day_split=r.day_split + " Reviewed."),
    (Regimen, "drugs"): lambda r: _drug(r, DOXO, drug="epirubicin", dose=_dose(75, Basis.PER_M2, "75 mg/m²")),
    (Regimen, "derived"): lambda r: attrs.evolve(r, derived=()),
    (Regimen, "thresholds"): lambda r: attrs.evolve(r, thresholds=r.thresholds[:-1]),
    (Regimen, "modifications"): lambda r: attrs.evolve(r, modifications=r.modifications[:-1]),
    (Regimen, "cumulative"): lambda r: _cumulative(r, cap=400.0),
    (Regimen, "bsa_cap"): lambda r: attrs.evolve(r, bsa_cap=2.2),
    (Regimen, "bsa_cap_source"): lambda r: attrs.evolve(r, bsa_cap_source=r.bsa_cap_source + " (2026)"),
    (Regimen, "notes"): lambda r: attrs.evolve(r, notes=r.notes[:-1]),
    (Regimen, "early_window_days"): lambda r: attrs.evolve(r, early_window_days=2),
    (Regimen, "early_window_source"): lambda r: attrs.evolve(r, early_window_source="project choice, 2026"),
    (Regimen, "supportive"): lambda r: attrs.evolve(r, supportive=tuple(s for s in r.supportive if not DEXRAZOXANE(s))),
    (Regimen, "emetogenic_class"): lambda r: attrs.evolve(r, emetogenic_class="high"),
    (Regimen, "version"): lambda r: attrs.evolve(r, version="1.1"),
    (Regimen, "retired"): lambda r: attrs.evolve(r, retired=None),

    (DrugLine, "drug"): lambda r: _drug(r, DOXO, drug="epirubicin"),
    (DrugLine, "dose"): lambda r: _drug(r, DOXO, dose=_dose(60, Basis.PER_M2, "60 mg/m²")),
    (DrugLine, "per"): lambda r: _drug(r, DOXO, per="day", dose=_dose(25, Basis.PER_M2, "25 mg/m²")),
    (DrugLine, "days"): lambda r: _days(r, IFOS, (1, 2)),
    (DrugLine, "route"): lambda r: _drug(r, IFOS, route="IV infusion"),
    (DrugLine, "infusion"): lambda r: _drug(r, DOXO, infusion="25 mg/m² over 15 min"),
    (DrugLine, "source"): lambda r: _drug(r, DOXO, source="Tumour board 2026-12-01"),
    (DrugLine, "diluent"): lambda r: _drug(r, IFOS, diluent="nacl-09"),

    (Dose, "amount"): lambda r: _drug(r, DOXO, dose=_dose(60, Basis.PER_M2, "60 mg/m²")),
    (Dose, "basis"): lambda r: _drug(r, DOXO, dose=_dose(2, Basis.PER_KG, "2 mg/kg")),

    (Derived, "drug"): lambda r: _mesna(r, drug="mesna-b"),
    (Derived, "from_drug"): lambda r: _mesna(r, from_drug="doxorubicin"),
    (Derived, "fraction"): lambda r: _mesna(r, fraction=0.4),
    (Derived, "days"): lambda r: _mesna(r, days=(1, 2)),
    (Derived, "route"): lambda r: _mesna(r, route="PO"),
    (Derived, "infusion"): lambda r: _mesna(r, infusion="20 % at 0, 4 and 8 h"),
    (Derived, "source"): lambda r: _mesna(r, source="Ifex label, 2026"),
    (Derived, "schedule"): lambda r: _mesna(r, schedule=(Timing(0.0, "0 h"), Timing(4.0, "4 h after"))),

    (Threshold, "analyte"): lambda r: _gate(r, BILIRUBIN, analyte="alt"),
    (Threshold, "op"): lambda r: _gate(r, ANC_RETREATMENT, op=">", op_text=">"),
    (Threshold, "value"): lambda r: _gate(r, ANC_RETREATMENT, value=_bound("1.0 ×10⁹/L")),
    (Threshold, "max_age_days"): lambda r: _gate(r, LVEF, max_age_days=60.0),
    (Threshold, "source"): lambda r: _gate(r, LVEF, source="Seed 003, 2026"),
    (Threshold, "kind"): lambda r: _gate(r, LVEF, kind="retreatment", action="delay 1 week"),
    (Threshold, "action"): lambda r: _gate(r, ANC_RETREATMENT, action="delay 2 weeks"),
    (Threshold, "each_day"): lambda r: _gate(r, ANC_RETREATMENT, each_day=True),

    (Bound, "quantity"): lambda r: _gate(r, ANC_RETREATMENT, value=Bound("1.5 ×10⁹/L", parse_quantity("1.0 ×10⁹/L"),
                                                                          None)),
    (Bound, "uln_multiple"): lambda r: _gate(r, BILIRUBIN, value=Bound("1.0 × ULN", None, 1.5)),

    (Modification, "drug"): lambda r: _band(r, BILI_TOP, drug="ifosfamide"),
    (Modification, "analyte"): lambda r: _band(r, BILI_TOP, analyte="alt", low=Bound("5 × ULN", None, 5.0)),
    (Modification, "low"): lambda r: _band(r, CRCL_MIDDLE, low=_bound("40 mL/min")),
    (Modification, "low_inclusive"): lambda r: _band(r, CRCL_MIDDLE, low_inclusive=False),
    (Modification, "high"): lambda r: _band(r, CRCL_MIDDLE, high=_bound("50 mL/min")),
    (Modification, "high_inclusive"): lambda r: _band(r, CRCL_MIDDLE, high_inclusive=False),
    (Modification, "give"): lambda r: _band(r, CRCL_MIDDLE, give=0.5),
    (Modification, "source"): lambda r: _band(r, CRCL_MIDDLE, source="Renal table, 2026"),

    (Cumulative, "model"): lambda r: _cumulative(r, model="feijen-2019"),
    (Cumulative, "cap"): lambda r: _cumulative(r, cap=400.0),
    (Cumulative, "warn_at"): lambda r: _cumulative(r, warn_at=250.0),
    (Cumulative, "source"): lambda r: _cumulative(r, source="Seed 003, 2026"),

    (Note, "text"): lambda r: attrs.evolve(r, notes=_at(r.notes, 0, text=r.notes[0].text + " (reviewed)")),
    (Note, "source"): lambda r: attrs.evolve(r, notes=_at(r.notes, 0, source="clinical.md, 2026")),

    (Retired, "date"): lambda r: _retired(r, date=datetime.date(2026, 12, 1)),
    (Retired, "reason"): lambda r: _retired(r, reason="withdrawn by the committee"),
    (Retired, "replaced_by"): lambda r: _retired(r, replaced_by="epirubicin-ifosfamide"),

    (SupportiveLine, "category"): lambda r: _supportive(r, lambda s: s.drug == "dexamethasone", category="premedication"),
    (SupportiveLine, "drug"): lambda r: _supportive(r, ONDANSETRON, drug="aprepitant"),
    (SupportiveLine, "dose"): lambda r: _supportive(r, ONDANSETRON, dose=_dose(16, Basis.FLAT, "16 mg")),
    (SupportiveLine, "of"): lambda r: _supportive(r, DEXRAZOXANE, of="ifosfamide"),
    (SupportiveLine, "ratio"): lambda r: _supportive(r, DEXRAZOXANE, ratio=20.0, ratio_text="20:1"),
    (SupportiveLine, "days"): lambda r: _supportive(r, ONDANSETRON, days=(1, 2)),
    (SupportiveLine, "at"): lambda r: _supportive(r, ONDANSETRON, at=(Timing(-1.0, "1 h before"),)),
    (SupportiveLine, "route"): lambda r: _supportive(r, ONDANSETRON, route="PO"),
    (SupportiveLine, "source"): lambda r: _supportive(r, ONDANSETRON, source="MASCC/ESMO 2023"),
    (SupportiveLine, "fluid"): lambda r: _supportive(r, HYDRATION, fluid="glucose-5"),
    (SupportiveLine, "volume_ml"): lambda r: _supportive(r, HYDRATION, volume_ml=500.0),
    (SupportiveLine, "duration_h"): lambda r: _supportive(r, HYDRATION, duration_h=4.0),
    (SupportiveLine, "target"): lambda r: _supportive(r, HYDRATION, target="urine output at least 150 mL/h"),
    (SupportiveLine, "when_cumulative"): lambda r: _supportive(r, DEXRAZOXANE, when_cumulative=250.0,
                                                               when_text="250 mg/m²"),
    (SupportiveLine, "note"): lambda r: _supportive(r, ONDANSETRON, note="orally if the patient can swallow"),

    (Timing, "hours"): lambda r: _supportive(r, ONDANSETRON, at=(Timing(-1.0, "30 min before"),)),
}


# (class, field) -> the base regimen with a value written another way: the same regimen to a pharmacist
# (the diff reports no change: the number is compared, not its text), carried as written by FHIR
WRITTEN_OTHERWISE = {
    (Dose, "text"): lambda r: _drug(r, DOXO, dose=_dose(75, Basis.PER_M2, "0.075 g/m²")),
    (Bound, "text"): lambda r: _gate(r, ANC_RETREATMENT, value=_bound("1500 /µL")),
    (Timing, "text"): lambda r: _mesna(_supportive(r, ONDANSETRON, at=(Timing(-0.5, "0.5 h before"),)), schedule=(
        Timing(0.0, "0 min"), Timing(4.0, "240 min after"), Timing(8.0, "8 h after"))),
    (Threshold, "op_text"): lambda r: _gate(r, ANC_RETREATMENT, op_text="≥"),
    (SupportiveLine, "ratio_text"): lambda r: _supportive(r, DEXRAZOXANE, ratio_text="1000 %"),
    (SupportiveLine, "when_text"): lambda r: _supportive(r, DEXRAZOXANE, when_text="0.3 g/m²"),
}


def uncovered() -> list[str]:
    """``Class.field`` of every attrs field with no mutation here, nor a reason to be left out."""
    known = MUTATIONS.keys() | WRITTEN_OTHERWISE.keys() | NOT_COMPARED.keys()
    return [f"{cls.__name__}.{f.name}" for cls in CLASSES for f in attrs.fields(cls) if (cls, f.name) not in known]


def _renamed(r, old: str, new: str):
    """The regimen with drug ``old`` replaced by ``new`` wherever it is named (lines, bands, ratios)."""
    rename = (lambda x: new if x == old else x)
    return attrs.evolve(
        r, drugs=tuple(attrs.evolve(d, drug=rename(d.drug)) for d in r.drugs),
        modifications=tuple(attrs.evolve(m, drug=rename(m.drug)) for m in r.modifications),
        supportive=tuple(attrs.evolve(s, of=rename(s.of)) for s in r.supportive))


# For a round trip (FHIR) the changed regimen must be one chemo's checks accept, its numbers agreeing with
# their text: where a mutation above is not, this one is used instead.
VALID_MUTATIONS = {
    (Regimen, "drugs"): lambda r: _renamed(r, "doxorubicin", "epirubicin"),
    (DrugLine, "drug"): lambda r: _renamed(r, "doxorubicin", "epirubicin"),
    (Dose, "basis"): lambda r: _drug(r, DOXO, dose=_dose(130, Basis.FLAT, "130 mg")),
    (Bound, "quantity"): lambda r: _gate(r, ANC_RETREATMENT, value=_bound("1.0 ×10⁹/L")),
    (Bound, "uln_multiple"): lambda r: _gate(r, BILIRUBIN, value=Bound("1.5 × ULN", None, 1.5)),
    (SupportiveLine, "category"): lambda r: _supportive(r, lambda s: s.drug == "pegfilgrastim", category="premedication"),
    (SupportiveLine, "ratio"): lambda r: _supportive(r, DEXRAZOXANE, ratio=5.0, ratio_text="5:1"),
    (SupportiveLine, "days"): lambda r: _supportive(r, ONDANSETRON, days=(1, 2, 3, 4)),
    (Timing, "hours"): lambda r: _supportive(r, ONDANSETRON, at=(Timing(-1.0, "1 h before"),)),
}

# Fields with no other value the base regimen's checks accept on their own; each is carried in the round
# trip of the base regimen (its value there is not a default) and what it follows is mutated above.
NO_VALID_MUTATION = {
    (Regimen, "emetogenic_class"): "derived from the drugs: another class is refused (DrugLine.drug changes it)",
    (DrugLine, "route"): "doxorubicin and ifosfamide have one route each in the library (SupportiveLine.route "
                         "is mutated, written by the same code)",
    (Derived, "drug"): "mesna is the one drug of the library that follows another's dose as a derived line",
    (Derived, "days"): "a derived line's days are its parent's (DrugLine.days moves them)",
    (SupportiveLine, "drug"): "no other antiemetic, growth factor or cardioprotector of the library fits the base "
                              "regimen (aprepitant interacts with ifosfamide)",
    (SupportiveLine, "of"): "dexrazoxane follows an anthracycline; the base regimen has one",
}
