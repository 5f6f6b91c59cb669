"""Allergies on the patient record, and the drugs of a cycle they concern.

``chemo allergy add MRN SUBSTANCE --reaction TEXT [--severity]`` records one (any registered
user: prescriber, pharmacist or nurse); the substance is matched once, when recorded, to a drug
of the library (by id or alias: ``Ifex`` is ifosfamide) or to a drug class of the library
(``anthracycline``, ``5-HT3 receptor antagonist``).  A substance the library does not know is
kept as written and shown everywhere, but cannot be matched to a drug: the record says so.

:func:`conflicts` names the drugs of a cycle (cytotoxic, derived and supportive) an allergy
concerns; the dose sign-off refuses while there is one, unless a pharmacist overrides with a
reason (:mod:`chemo.treatment`).
"""

from __future__ import annotations

import attrs

from . import audit
from .db import allergies as allergy_rows
from .db.store import Store, now_local
from .errors import ChemoError
from .records import get_patient, locked_patient
from .roles import ANY, require

SEVERITIES = ("mild", "moderate", "severe", "life-threatening")


@attrs.frozen
class Conflict:
    drug: str
    allergy: dict

    def finding(self) -> str:
        a = self.allergy
        via = "" if a["drug"] == self.drug else f" (its class: {a['drug_class']})" if a["drug_class"] else ""
        severity = f", {a['severity']}" if a["severity"] else ""
        return f"{self.drug}: the patient is allergic to {a['substance']}{via} ({a['reaction']}{severity})"


def match(library, substance: str) -> tuple[str | None, str | None]:
    """(library drug id, library drug class) the substance names; (None, None) when neither."""
    drug = library.drug(substance)
    if drug is not None:
        return drug.id, None
    key = substance.strip().lower()
    classes = {d.drug_class.lower(): d.drug_class for d in library.drugs.values()}
    if key in classes:
        return None, classes[key]
    return None, None


def add_allergy(store: Store, actor: str, mrn: str, substance: str, reaction: str, severity: str | None = None) -> dict:
    from .library import load_library

    substance = str(substance).strip()
    if not 1 <= len(substance) <= 80:
        raise ChemoError("a substance of 1-80 characters is needed", field="substance")
    reaction = str(reaction or "").strip()
    if not 1 <= len(reaction) <= 200:
        raise ChemoError("describe the reaction (1-200 characters)", field="reaction")
    if severity is not None:
        severity = str(severity).strip().lower()
        if severity not in SEVERITIES:
            raise ChemoError(f"{severity!r}: expected one of {', '.join(SEVERITIES)}", field="severity")
    drug, drug_class = match(load_library(), substance)
    with store.transaction(per_patient=True):  # a write about one patient holds that patient's lock
        require(store, actor, ANY, "recording an allergy")
        patient = locked_patient(store, mrn)
        record = {"patient_id": patient["id"], "substance": substance, "drug": drug, "drug_class": drug_class,
                  "reaction": reaction, "severity": severity, "recorded_at": now_local().isoformat(),
                  "recorded_by": actor}
        aid = allergy_rows.add(store, record)
        audit.append(store, actor, "allergy.add", "allergies", aid, None, record)
    return {"id": aid, **record}


def list_allergies(store: Store, mrn: str) -> list[dict]:
    patient = get_patient(store, mrn)
    return allergy_rows.for_patient(store, patient["id"])


def describe(a: dict) -> str:
    """One allergy as the worksheet and the screens print it."""
    named = f" = {a['drug']}" if a["drug"] and a["drug"] != a["substance"].lower() else ""
    named += f" (class {a['drug_class']})" if a["drug_class"] else ""
    unmatched = "" if a["drug"] or a["drug_class"] else " (not a drug or class of the library: not matched)"
    severity = f", {a['severity']}" if a["severity"] else ""
    return f"{a['substance']}{named}: {a['reaction']}{severity}{unmatched}"


def conflicts(allergies: list[dict], drug_ids, library) -> list[Conflict]:
    """Each (drug of the cycle, allergy) where the allergy names the drug or its library class."""
    out = []
    for did in dict.fromkeys(drug_ids):
        drug = library.drugs.get(did)
        for a in allergies:
            if a["drug"] == did or (drug is not None and a["drug_class"] and a["drug_class"] == drug.drug_class):
                out.append(Conflict(did, a))
    return out
