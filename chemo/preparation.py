"""Administration detail of a drug and the bag (or syringe) a pharmacy makes of one dose.

The drug library (``regimens/library/drugs.toml``) gives each drug an ``[administration]``
table (presentations, container, allowed diluents and bag volumes, the final concentration
range, infusion duration, expiry after preparation, light protection, vesicant class,
incompatibilities) and an ``[emetogenic]`` class; ``[diluents]`` names the fluids.
:func:`read_administration` reads those tables (problems recorded, never raised);
:func:`prepare` turns one signed dose into the bag that holds it: the product, the volume to
draw, the diluent and bag volume, the final concentration (checked against the range), the
rate and the expiry.  A diluent the drug is incompatible with is refused with the reason.
"""

from __future__ import annotations

import datetime as _dt
from decimal import ROUND_HALF_UP, Decimal

import attrs

from .datafile import Table
from .errors import ChemoError, UnitError
from .units import in_unit, parse_quantity

CONTAINERS = ("bag", "syringe", "oral")
VESICANT = ("vesicant", "irritant", "non-vesicant")


class PreparationError(ChemoError):
    """A dose that cannot be made up as the library allows (exit 1)."""


@attrs.frozen
class Incompatibility:
    diluent: str
    why: str


@attrs.frozen
class AdministrationDetail:
    """How a drug is presented, diluted and given (library ``[drugs.<id>.administration]``)."""

    presentations: tuple  # ((mg, mL or None), ...): vial or capsule strengths
    container: str  # "bag", "syringe" or "oral"
    source: str
    bag_volumes_ml: tuple = ()
    concentration: tuple | None = None  # (low, high) mg/mL of the final preparation
    diluents: tuple = ()  # diluent ids allowed
    incompatible: tuple = ()  # Incompatibility
    duration_h: float | None = None
    expiry_h: float | None = None
    light: bool = False
    vesicant: str | None = None

    @property
    def stock_mg_ml(self) -> float | None:
        """The concentration of the product drawn from (every presentation has the same)."""
        for mg, ml in self.presentations:
            if ml:
                return mg / ml
        return None

    def presentation_text(self) -> str:
        """``"2 mg/mL (10, 50, 200 mg)"``; oral: ``"80, 125, 165 mg"``."""
        strengths = ", ".join(f"{mg:g}" for mg, _ in self.presentations) + " mg"
        stock = self.stock_mg_ml
        return f"{stock:g} mg/mL ({strengths})" if stock else strengths


@attrs.frozen
class Diluent:
    id: str
    name: str
    aliases: tuple
    source: str


@attrs.frozen
class Emetogenic:
    """The library's ``[emetogenic]`` table: the classes in rising order and the antiemetic classes each needs."""

    classes: tuple
    rule: str
    antiemetics: dict  # class -> tuple of drug classes required
    source: str

    def rank(self, cls: str) -> int:
        return self.classes.index(cls)


def read_administration(t: Table, diluent_ids) -> AdministrationDetail | None:
    """One drug's ``[administration]`` table; None (with problems recorded) when it is invalid."""
    t.allow("presentations", "container", "bag_volumes", "concentration", "diluents", "incompatible", "duration",
            "expiry", "light", "vesicant", "source")
    container = t.text("container", choices=CONTAINERS)
    src = t.text("source")
    presentations = []
    for i, text in enumerate(t.texts("presentations", required=True), 1):
        mass, _, volume = text.partition("/")
        try:
            mg = in_unit(parse_quantity(mass.strip(), "mg"), "mg")
            ml = in_unit(parse_quantity(volume.strip(), "mL"), "mL") if volume.strip() else None
        except UnitError as exc:
            t.problem(f"{text!r}: expected a strength like \"50 mg/25 mL\" or \"10 mg\" ({exc.message})",
                      at=f"presentations[{i}]")
            continue
        if mg <= 0 or (ml is not None and ml <= 0):
            t.problem(f"{text!r}: a strength and a volume are more than 0", at=f"presentations[{i}]")
            continue
        presentations.append((mg, ml))
    stocks = {round(mg / ml, 6) for mg, ml in presentations if ml}
    if len(stocks) > 1:
        t.problem("the presentations differ in concentration: the volume to draw would depend on the vial",
                  at="presentations")
    if container is None or src is None:
        return None
    if container == "oral":
        return AdministrationDetail(tuple(presentations), container, src)
    if not stocks:
        t.problem("an injected drug needs a presentation with its volume (\"50 mg/25 mL\")", at="presentations")
    bags = tuple(in_unit(q, "mL") for q in (t.quantity(f"bag_volumes[{i}]", "mL", value=v)
                                          for i, v in enumerate(t.texts("bag_volumes", required=container == "bag"), 1))
                 if q is not None)
    if list(bags) != sorted(set(bags)):
        t.problem("list each bag volume once, smallest first", at="bag_volumes")
    conc = None
    raw = t.texts("concentration", required=True)
    if len(raw) != 2:
        t.problem("expected [low, high] in mg/mL", at="concentration")
    else:
        qs = [t.quantity(f"concentration[{i}]", "mg/mL", value=v) for i, v in enumerate(raw, 1)]
        if None not in qs:
            low, high = (in_unit(q, "mg/mL") for q in qs)
            if not 0 < low <= high:
                t.problem("expected 0 < low ≤ high", at="concentration")
            else:
                conc = (low, high)
    diluents = tuple(t.texts("diluents", required=container == "bag"))
    for d in diluents:
        if d not in diluent_ids:
            t.problem(f"unknown diluent {d!r} (the library has: {', '.join(sorted(diluent_ids))})", at="diluents")
    incompatible = []
    for it in t.tables("incompatible"):
        if it.ok:
            it.allow("diluent", "why")
            d, why = it.text("diluent"), it.text("why")
            if d and d not in diluent_ids:
                it.problem(f"unknown diluent {d!r}", at="diluent")
            elif d in diluents:
                it.problem(f"{d} is both allowed and incompatible", at="diluent")
            if d and why:
                incompatible.append(Incompatibility(d, why))
    duration = t.quantity("duration", "h")
    expiry = t.quantity("expiry", "h")
    light = t.get("light", bool, True, "true or false")
    vesicant = t.text("vesicant", choices=VESICANT)
    if conc is None or duration is None or expiry is None or light is None or vesicant is None:
        return None
    return AdministrationDetail(tuple(presentations), container, src, bags, conc, diluents, tuple(incompatible),
                                in_unit(duration, "h"), in_unit(expiry, "h"), light, vesicant)


def read_diluents(t: Table | None) -> dict:
    out = {}
    if t is None or not t.ok:
        return out
    for did in t.data:
        dt = t.table(did)
        if dt and dt.ok:
            dt.allow("name", "aliases", "source")
            name, src = dt.text("name"), dt.text("source")
            if name and src:
                out[did] = Diluent(did, name, tuple(a.lower() for a in dt.texts("aliases")), src)
    return out


def read_emetogenic(t: Table | None) -> Emetogenic | None:
    if t is None or not t.ok:
        return None
    t.allow("classes", "rule", "antiemetics", "source")
    classes = tuple(t.texts("classes", required=True))
    rule, src = t.text("rule"), t.text("source")
    needs = {}
    at = t.table("antiemetics")
    if at and at.ok:
        for cls in at.data:
            if cls not in classes:
                at.problem(f"{cls!r} is not one of the classes ({', '.join(classes)})", at=cls)
            needs[cls] = tuple(at.texts(cls))
    if classes and rule and src:
        return Emetogenic(classes, rule, needs, src)
    return None


def diluent_id(library, ref: str) -> str | None:
    """A diluent id from its id, name or alias (``"NaCl"``, ``"sodium chloride 0.9 %"``)."""
    key = str(ref).strip().lower()
    for d in library.diluents.values():
        if key in (d.id, d.name.lower()) or key in d.aliases:
            return d.id
    return None


def check_diluent(drug, detail: AdministrationDetail, diluent: str, library) -> None:
    """Refuse a diluent the drug is incompatible with, or one the library does not allow for it."""
    for inc in detail.incompatible:
        if inc.diluent == diluent:
            raise PreparationError(f"{drug.id} in {library.diluents[diluent].name}: incompatible ({inc.why})",
                                   field="diluent")
    if detail.diluents and diluent not in detail.diluents:
        allowed = ", ".join(library.diluents[d].name for d in detail.diluents)
        raise PreparationError(f"{drug.id} in {library.diluents[diluent].name}: not an allowed diluent "
                               f"(library: {allowed})", field="diluent")


@attrs.frozen
class Bag:
    """One dose made up: what the pharmacy draws, into what, and how it is given."""

    drug: str
    dose_mg: float
    container: str
    product: str  # the presentation(s) drawn from
    draw_ml: float | None  # volume of product to draw
    diluent: str | None  # the diluent's name
    bag_ml: float | None  # diluent volume of the bag (None for a syringe or oral dose)
    total_ml: float | None  # what the patient receives
    final_mg_ml: float | None
    concentration_range: tuple | None
    duration_h: float | None
    rate_ml_h: float | None
    expiry_h: float | None
    light: bool
    vesicant: str | None

    def expiry_at(self, prepared: _dt.datetime) -> _dt.datetime | None:
        return None if self.expiry_h is None else prepared + _dt.timedelta(hours=self.expiry_h)

    def as_json(self) -> dict:
        return attrs.asdict(self)


def _tenth(value: float) -> float:
    return float(Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def prepare(drug, dose_mg: float, library, diluent: str | None = None) -> Bag:
    """The bag (or syringe, or capsules) holding ``dose_mg`` of ``drug``.

    A bag takes the smallest of the library's bag volumes whose final concentration (the dose in
    the bag volume plus the volume drawn) lies in the allowed range; none does: refused.  A
    syringe holds the product undiluted, whose concentration must lie in the range too."""
    detail = drug.administration
    if detail is None:
        raise PreparationError(f"{drug.id}: the drug library has no administration detail", field="drug")
    if detail.container == "oral":
        return Bag(drug.id, dose_mg, "oral", detail.presentation_text(), None, None, None, None, None, None, None, None,
                   None, False, None)
    if diluent is None:
        diluent = detail.diluents[0] if detail.diluents else None
    elif diluent not in library.diluents:
        found = diluent_id(library, diluent)
        if found is None:
            raise PreparationError(f"unknown diluent {diluent!r} (the library has: "
                                   f"{', '.join(d.name for d in library.diluents.values())})", field="diluent")
        diluent = found
    if diluent is not None:
        check_diluent(drug, detail, diluent, library)
    stock = detail.stock_mg_ml
    draw = _tenth(dose_mg / stock)
    low, high = detail.concentration
    name = library.diluents[diluent].name if diluent else None
    if detail.container == "syringe":
        final = stock
        if not low * (1 - 1e-9) <= final <= high * (1 + 1e-9):
            raise PreparationError(f"{drug.id}: {final:g} mg/mL is outside {low:g}-{high:g} mg/mL", field="concentration")
        rate = draw / detail.duration_h
        return Bag(drug.id, dose_mg, "syringe", detail.presentation_text(), draw, name, None, draw, final, (low, high),
                   detail.duration_h, _tenth(rate), detail.expiry_h, detail.light, detail.vesicant)
    for bag in detail.bag_volumes_ml:
        total = bag + draw
        final = dose_mg / total
        if low * (1 - 1e-9) <= final <= high * (1 + 1e-9):
            return Bag(drug.id, dose_mg, "bag", detail.presentation_text(), draw, name, bag, _tenth(total),
                       round(final, 3), (low, high), detail.duration_h, _tenth(total / detail.duration_h),
                       detail.expiry_h, detail.light, detail.vesicant)
    sizes = ", ".join(f"{b:g} mL" for b in detail.bag_volumes_ml)
    raise PreparationError(f"{drug.id} {dose_mg:g} mg: no bag ({sizes}) gives a concentration within {low:g}-{high:g} "
                           "mg/mL", field="concentration")
