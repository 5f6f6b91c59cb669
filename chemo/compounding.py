"""What the pharmacy prepares for a cycle: one item per bag, syringe or oral dose, with its time.

The items come from a dose sign-off's ``detail`` (the doses signed, the mesna schedule, the
supportive lines) or, before a sign-off, from the same shape made of a calculation
(:func:`detail_of`); each injected item is made up by :func:`chemo.preparation.prepare` in
the diluent the regimen names for its line (else the library's first allowed one).  The
worksheet and the compounding labels (:mod:`chemo.labels`) both print these items.
"""

from __future__ import annotations

import attrs

from .dose_text import mg_text
from .preparation import Bag, PreparationError, prepare


@attrs.frozen
class Item:
    day: int
    at: str  # "0 h", "30 min before", "4 h after"
    hours: float
    drug: str  # a library drug id, or a fluid id (hydration)
    dose_mg: float | None  # None for hydration
    route: str
    category: str  # "chemotherapy", "uroprotection", "antiemetic", ...
    bag: object | None  # chemo.preparation.Bag; None for hydration or where it could not be made up
    problem: str | None = None  # why the dose could not be made up as the library allows
    volume_ml: float | None = None  # hydration
    rate_ml_h: float | None = None
    duration_h: float | None = None
    fluid: str | None = None

    @property
    def labelled(self) -> bool:
        """A compounded bag or syringe gets a label; an oral dose or a stock hydration bag does not."""
        return self.dose_mg is not None and self.bag is not None and self.bag.container in ("bag", "syringe")


def detail_of(doses) -> dict:
    """A :class:`chemo.dose.CycleDoses` in the shape a dose sign-off's detail stores it."""
    return {"doses": [{"drug": a.drug, "day": a.day, "dose_mg": a.dose_mg, "route": a.route,
                       "derived_from": a.derived_from} for a in doses.administrations],
            "schedules": {f"{a.drug}:{a.day}": [[t, mg] for t, _, mg in a.schedule]
                          for a in doses.administrations if a.schedule},
            "supportive": [s.as_json() for s in doses.supportive]}


def _hours(at: str) -> float:
    from .supportive import parse_at

    try:
        return parse_at(at)
    except Exception:  # noqa: BLE001 - a time signed by an older file: sorted first
        return 0.0


def items(detail: dict, regimen, library) -> list[Item]:
    """Every item of the cycle, by day and time."""
    routes = {line.drug: line.route for line in regimen.drugs} | {d.drug: d.route for d in regimen.derived}
    derived = {d.drug for d in regimen.derived}
    out = []

    def make(drug_id, mg, diluent=None, route=None):
        drug = library.drugs[drug_id]
        if route == "PO" and (drug.administration is None or drug.administration.container != "oral"):
            return Bag(drug_id, mg, "oral", "by mouth", *([None] * 9), False, None), None  # a tablet, not the injection
        try:
            return prepare(library.drugs[drug_id], mg, library, diluent), None
        except PreparationError as exc:
            return None, exc.message

    schedules = detail.get("schedules", {})
    for d in detail.get("doses", []):
        line = regimen.line(d["drug"])
        diluent = line.diluent if line is not None else None
        category = "uroprotection" if d["drug"] in derived else "chemotherapy"
        route = d.get("route") or routes.get(d["drug"], "")
        split = schedules.get(f"{d['drug']}:{d['day']}")
        for at, mg in (split or [["0 h", d["dose_mg"]]]):
            bag, problem = make(d["drug"], mg, diluent, route)
            out.append(Item(d["day"], at, _hours(at), d["drug"], mg, route, category, bag, problem))
    for s in detail.get("supportive", []):
        if s.get("dose_mg") is None:
            out.append(Item(s["day"], s["at"], s["hours"], s["drug"], None, s["route"], s["category"], None,
                            volume_ml=s.get("volume_ml"), rate_ml_h=s.get("rate_ml_h"), duration_h=s.get("duration_h"),
                            fluid=library.diluents[s["drug"]].name if s["drug"] in library.diluents else s["drug"]))
            continue
        bag, problem = make(s["drug"], s["dose_mg"], route=s["route"])
        out.append(Item(s["day"], s["at"], s["hours"], s["drug"], s["dose_mg"], s["route"], s["category"], bag, problem))
    out.sort(key=lambda i: (i.day, i.hours))
    return out


def row(item: Item) -> tuple:
    """One item as a worksheet row: day, time, drug, mg, product, draw, diluent and bag, final
    concentration (range), rate and duration, expiry, handling."""
    if item.dose_mg is None:
        return (str(item.day), item.at, f"{item.fluid} (hydration)", "-", "-", "-", f"{item.volume_ml:g} mL", "-",
                f"{item.rate_ml_h:g} mL/h, {item.duration_h:g} h", "-", item.route)
    if item.bag is None:
        return (str(item.day), item.at, item.drug, mg_text(item.dose_mg), "CANNOT BE MADE UP", "-", "-",
                item.problem or "-", "-", "-", item.route)
    b = item.bag
    if b.container == "oral":
        return (str(item.day), item.at, item.drug, mg_text(item.dose_mg), b.product, "-", "oral", "-", "-", "-",
                item.route)
    diluent = f"{b.diluent} {b.bag_ml:g} mL" if b.bag_ml else (f"undiluted, into running {b.diluent}" if b.diluent
                                                                 else "undiluted")
    low, high = b.concentration_range
    conc = f"{b.final_mg_ml:g} mg/mL ({low:g}-{high:g})"
    duration = f"{b.duration_h * 60:g} min" if b.duration_h < 1 else f"{b.duration_h:g} h"
    handling = ", ".join(x for x in (b.vesicant if b.vesicant != "non-vesicant" else "",
                                     "protect from light" if b.light else "") if x)
    return (str(item.day), item.at, item.drug, mg_text(item.dose_mg), b.product, f"{b.draw_ml:g} mL", diluent, conc,
            f"{b.rate_ml_h:g} mL/h, {duration}", f"{b.expiry_h:g} h",
            item.route + (f"; {handling}" if handling else ""))


HEADER = ("Day", "Time", "Drug", "mg", "Product", "Draw", "Diluent and bag", "Final conc. (allowed)", "Rate, duration",
          "Expiry after preparation", "Route, handling")
