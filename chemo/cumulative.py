"""Cumulative anthracycline exposure, in doxorubicin-equivalent mg/m².

    given = Σ over recorded administrations (dose mg ÷ BSA that day × factor)
          + Σ over prior exposure (mg/m² × factor)

with the factors of the equivalence model the plan's regimen names in its
``[cumulative]`` table (``regimens/library/drugs.toml`` holds each model's
factors and source).  History is never recomputed with today's BSA: each
administration row keeps the BSA it was dosed on.

The projection adds the anthracycline doses not yet given: the signed-off
doses of a cycle when a pharmacist has signed it off, else the regimen's
doses at full level on the plan's dosing body size (:func:`planned_doses`,
the one place that asks the dose engine).  A drug the model has no factor for
is an error, never a silent zero.
"""

from __future__ import annotations

import json

from attrs import frozen

from .errors import ChemoError
from .db import administrations, exposure, signoffs
from .db.store import Store

EPSILON = 1e-9  # mg/m²: a total this close to the cap is at it, not past it


class CumulativeError(ChemoError):
    """Exposure that cannot be counted under the model (exit 2)."""


@frozen
class Exposure:
    """One counted item: an administration or a prior exposure."""

    kind: str  # "administration" or "prior"
    drug: str
    mg_m2: float  # as given, of the drug itself
    factor: float
    equivalent_mg_m2: float
    detail: str


@frozen
class CumulativeReport:
    mrn: str
    model: str
    model_name: str
    model_source: str
    factors: dict
    cap_mg_m2: float
    warn_at_mg_m2: float
    source: str
    given_mg_m2: float
    next_cycle: int | None
    next_cycle_mg_m2: float  # doxorubicin-equivalent added by the next cycle
    after_next_cycle_mg_m2: float
    after_plan_mg_m2: float
    remaining_by_cycle: dict  # cycle -> doxorubicin-equivalent mg/m² planned but not yet given
    items: tuple
    warnings: tuple
    regimen_id: str

    def as_json(self) -> dict:
        return {
            "model": self.model, "model_name": self.model_name, "model_source": self.model_source,
            "factors": self.factors, "cap_mg_m2": self.cap_mg_m2, "warn_at_mg_m2": self.warn_at_mg_m2,
            "source": self.source, "regimen": self.regimen_id,
            "given_mg_m2": round(self.given_mg_m2, 2), "next_cycle": self.next_cycle,
            "after_next_cycle_mg_m2": round(self.after_next_cycle_mg_m2, 2),
            "after_plan_mg_m2": round(self.after_plan_mg_m2, 2),
            "warnings": list(self.warnings),
            "items": [{"kind": i.kind, "drug": i.drug, "mg_m2": round(i.mg_m2, 2), "factor": i.factor,
                       "equivalent_mg_m2": round(i.equivalent_mg_m2, 2), "detail": i.detail} for i in self.items],
        }

    def factors_text(self) -> str:
        return ", ".join(f"{drug} {factor:g}" for drug, factor in self.factors.items())


def model_factors(library, model: str) -> dict:
    """{drug: factor} of every library drug the model gives a factor for."""
    return {d.id: d.equivalence[model] for d in library.drugs.values() if model in d.equivalence}


def factor_of(library, model: str, drug: str) -> float:
    d = library.drugs.get(drug)
    if d is None or not d.is_anthracycline:
        return 0.0
    if model not in d.equivalence:
        raise CumulativeError(
            f"the equivalence model {model!r} has no factor for {drug}: its exposure cannot be counted "
            f"(the model covers {', '.join(model_factors(library, model))})", field="model")
    return d.equivalence[model]


def anthracycline_mg_m2(library, model: str, doses: list[dict], bsa: float, skip=frozenset(), cycle=None) -> float:
    """Doxorubicin-equivalent mg/m² of ``doses`` ({drug, day, dose_mg}) on ``bsa``, leaving out the (cycle, day,
    drug) in ``skip`` (those already given)."""
    total = 0.0
    for d in doses:
        factor = factor_of(library, model, d["drug"])
        if factor and (cycle, d["day"], d["drug"]) not in skip:
            total += d["dose_mg"] / bsa * factor
    return total


def planned_doses(store: Store, plan: dict, signed: dict[int, str], regimen, body,
                  cycle: int) -> tuple[list[dict], float]:
    """All doses of ``cycle`` as they will be given, and the BSA: the signed-off ones (``signed``: the plan's
    :func:`chemo.db.signoffs.dose_details`), else the standing prescription's, else the calculated ones."""
    signoff = signed.get(cycle)
    if signoff:
        detail = json.loads(signoff)
        return detail["doses"], detail["bsa_m2"]
    from .dose import calculate_cycle
    from .prescription import standing

    prescribed = standing(store, plan["id"], cycle)
    if prescribed is not None:
        return ([{"drug": x["drug"], "day": x["day"], "dose_mg": x["dose_mg"]} for x in prescribed["lines"]
                 if x["dose_mg"] is not None], prescribed["body"]["bsa_m2"])

    doses = calculate_cycle(regimen, body, cycle=cycle, dose_level=0)
    return [{"drug": a.drug, "day": a.day, "dose_mg": a.dose_mg} for a in doses.administrations], body.bsa_m2


def report(store: Store, mrn: str) -> CumulativeReport:
    from .library import load_library
    from .records import active_plan, get_patient, plan_body, plan_regimen

    library = load_library()
    patient = get_patient(store, mrn)
    plan = active_plan(store, patient["id"], mrn)
    regimen, changed = plan_regimen(plan)
    cum = regimen.cumulative
    model = library.models[cum.model]
    items = []
    for row in administrations.for_patient(store, patient["id"]):
        factor = factor_of(library, cum.model, row["drug"])
        if factor == 0.0:
            continue
        mg_m2 = row["dose_mg"] / row["bsa_m2"]
        items.append(Exposure("administration", row["drug"], mg_m2, factor, mg_m2 * factor,
                              f"{row['dose_mg']:g} mg ÷ {row['bsa_m2']:.2f} m², {row['regimen_id']} cycle "
                              f"{row['cycle']} day {row['day']}, {row['given_at']}"))
    for row in exposure.for_patient(store, patient["id"]):
        factor = factor_of(library, cum.model, row["drug"])
        items.append(Exposure("prior", row["drug"], row["mg_m2"], factor, row["mg_m2"] * factor,
                              f"prior {row['dose_text']}" + (f" ({row['note']})" if row["note"] else "")))
    given = sum(i.equivalent_mg_m2 for i in items)

    body = plan_body(plan, regimen)
    done = administrations.given(store, plan["id"])
    per_cycle = []
    signed = signoffs.dose_details(store, plan["id"])
    for cycle in range(1, plan["planned_cycles"] + 1):
        doses, bsa = planned_doses(store, plan, signed, regimen, body, cycle)
        added = anthracycline_mg_m2(library, cum.model, doses, bsa, done, cycle)
        if added > 0:
            per_cycle.append((cycle, added))
    next_cycle, next_added = per_cycle[0] if per_cycle else (None, 0.0)
    after_next = given + next_added
    after_plan = given + sum(a for _, a in per_cycle)

    warnings = []
    dex = library.drugs.get("dexrazoxane")
    dex_note = f"consider dexrazoxane ({dex.source})" if dex else "consider dexrazoxane"
    if given >= cum.warn_at - EPSILON:
        warnings.append(f"cumulative {given:.0f} mg/m² has reached {cum.warn_at:g} mg/m²: {dex_note}; "
                        f"tighten cardiac monitoring (LVEF) [{cum.source}]")
    elif next_cycle and after_next >= cum.warn_at - EPSILON:
        warnings.append(f"cycle {next_cycle} brings the cumulative dose to {after_next:.0f} mg/m², past "
                        f"{cum.warn_at:g} mg/m²: {dex_note}; tighten cardiac monitoring (LVEF) [{cum.source}]")
    if given > cum.cap + EPSILON:
        warnings.append(f"cumulative {given:.0f} mg/m² is already past the cap of {cum.cap:g} mg/m²")
    elif next_cycle and after_next > cum.cap + EPSILON:
        warnings.append(f"cycle {next_cycle} would pass the cap: {after_next:.0f} of {cum.cap:g} mg/m²; "
                        "its dose sign-off and administration are refused without a pharmacist's override")
    elif after_plan > cum.cap + EPSILON:
        running = given
        for cycle, added in per_cycle:
            running += added
            if running > cum.cap + EPSILON:
                warnings.append(f"the remaining plan would pass the cap at cycle {cycle}: {after_plan:.0f} of "
                                f"{cum.cap:g} mg/m²")
                break
    if changed:
        warnings.append(f"the regimen file {regimen.path} has changed since the plan was started: projections use "
                        "the file as it is now; start a new plan before the next sign-off")
    return CumulativeReport(
        mrn=patient["mrn"], model=cum.model, model_name=model.name, model_source=model.source,
        factors=model_factors(library, cum.model), cap_mg_m2=cum.cap, warn_at_mg_m2=cum.warn_at, source=cum.source,
        given_mg_m2=given, next_cycle=next_cycle, next_cycle_mg_m2=next_added, after_next_cycle_mg_m2=after_next,
        after_plan_mg_m2=after_plan, remaining_by_cycle=dict(per_cycle), items=tuple(items), warnings=tuple(warnings), regimen_id=regimen.id)


def passes_cap(total: float, cap: float) -> bool:
    return total > cap + EPSILON
