"""Worksheet sections of issue 20: the prescriber, measurement dates, allergies, and the bags to
compound (:mod:`chemo.compounding`) with the supportive care of the cycle."""

from __future__ import annotations

import datetime as _dt
import json

from .worksheet import Section


def measured_on(store, patient: dict, plan: dict) -> tuple[str, str]:
    """The dates of the height and weight the plan is dosed on (the newest on or before the plan's start)."""
    from .records import latest_body

    day = _dt.date.fromisoformat(plan["created_at"][:10])
    body = latest_body(store, patient["id"], day)
    return body["height_on"] or "unknown", body["weight_on"] or "unknown"


def prescriber(store, plan: dict, cycle: int) -> str:
    """Who ordered the cycle: the prescriber of its standing prescription, else the user who started the plan."""
    from .db import users
    from .prescription import standing

    rx = standing(store, plan["id"], cycle)
    if rx is not None:
        return (f"{rx['prescribed_by']} (prescriber), prescription {rx['id']} of "
                f"{rx['prescribed_at'][:16].replace('T', ' ')}")

    roles = sorted(users.roles_of(store, plan["created_by"]))
    role = f" ({', '.join(roles)})" if roles else ""
    return f"{plan['created_by']}{role}, plan {plan['id']} started {plan['created_at'][:16].replace('T', ' ')}"


def allergy_text(store, patient: dict) -> str:
    from .allergies import describe
    from .db import allergies

    rows = allergies.for_patient(store, patient["id"])
    return "; ".join(describe(a) for a in rows) if rows else "none recorded"


def compounding_sections(store, mrn, plan, cycle, regimen, doses, dose_signoff, library) -> list[Section]:
    """The bags of the cycle (signed doses once signed off) and the supportive care that goes with them."""
    from .compounding import HEADER, detail_of, items, row
    from .cumulative import report

    from .prescription import standing

    rx = standing(store, plan["id"], cycle) if dose_signoff is None else None
    if dose_signoff is not None:
        detail = json.loads(dose_signoff["detail"])
        source = "as signed off"
        conditional = detail.get("conditional", [])
    elif rx is not None and rx.get("supportive") is not None:  # a prescription not yet signed: its lines
        from .dose import schedules_of

        rows = [{"drug": x["drug"], "day": x["day"], "dose_mg": x["dose_mg"]} for x in rx["lines"]
                if x["dose_mg"] is not None]
        detail = {"doses": rows, "schedules": schedules_of(regimen, rows, library),
                  "supportive": rx["supportive"]["supportive"]}
        source = f"as prescribed (prescription {rx['id']}, not signed off)"
        conditional = rx["supportive"]["conditional"]
    else:
        from .dose import calculate_cycle
        from .records import plan_body

        given = report(store, mrn).given_mg_m2
        calc = calculate_cycle(regimen, plan_body(plan, regimen), cycle=cycle, dose_level=doses.dose_level,
                               library=library, cumulative_mg_m2=given)
        detail = detail_of(calc)
        source = "calculated (not signed off)"
        conditional = list(calc.conditional)
    found = items(detail, regimen, library)
    notes = [f"Emetogenic class: {regimen.emetogenic_class or 'not stated by the regimen'}; doses {source}; "
             "final concentration = mg / (bag + drawn volume)"]
    notes += [f"Not given: {c}" for c in conditional]
    notes += [f"CANNOT BE MADE UP: {i.drug} day {i.day} {i.at}: {i.problem}" for i in found if i.problem]
    growth = [i for i in found if i.category == "growth factor"]
    notes += [f"G-CSF: {i.drug} {i.dose_mg:g} mg {i.route} on day {i.day} ({i.at})" for i in growth]
    return [Section("Bags and doses to prepare", header=HEADER, rows=tuple(row(i) for i in found),
                    notes=tuple(notes))]
