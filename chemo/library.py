"""The clinical library: drugs, equivalence models, analytes and body-size formulas.

All of it is read from the data files in ``regimens/library/`` (each number with
its source); this module only gives it shape.  ``load_library()`` is cached:
the files are read once per process.
"""

from __future__ import annotations

import functools
import os
import re
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP
from pathlib import Path

import attrs

from .datafile import Problem, Table, raise_problems, read_toml
from .errors import ChemoError
from .units import compatible, in_unit, parse_dose, parse_quantity

ROUNDING_MODES = {
    "half-up": ROUND_HALF_UP,
    "half-even": ROUND_HALF_EVEN,
    "down": ROUND_FLOOR,
    "up": ROUND_CEILING,
}
LIBRARY_KINDS = ("drugs", "analytes", "body-size", "lab-units")


_PROJECT = Path(__file__).resolve().parent.parent  # resolved once: resolve() costs ~28 µs a call


def regimens_dir() -> Path:
    """The folder of regimen files: ``$CHEMO_REGIMENS``, else the project's ``regimens/``."""
    env = os.environ.get("CHEMO_REGIMENS")
    return Path(env) if env else _PROJECT / "regimens"


def library_dir() -> Path:
    return regimens_dir() / "library"


# ------------------------------------------------------------------ value classes

@attrs.frozen
class Limits:
    """Plausible doses of a drug, by basis (mg, mg/m² or mg/kg): the largest single
    and cycle dose (ten-fold overdoses) and the smallest single dose a regimen may
    write (ten-fold underdoses)."""

    single: dict  # Basis -> float
    cycle: dict
    source: str
    min_single: dict = attrs.field(factory=dict)
    min_source: str | None = None


@attrs.frozen
class FractionRange:
    """For a drug derived from another (mesna from ifosfamide): the plausible fraction."""

    low: float
    high: float
    source: str


@attrs.frozen
class Drug:
    id: str
    name: str
    drug_class: str
    aliases: tuple
    routes: tuple
    rounding_mg: float | None  # increment; None: not rounded (flat oral doses)
    dose_levels: tuple  # fractions, level 0 first: (1.0, 0.75, 0.5)
    ladder: tuple  # flat mg steps from the top (12, 10, 8)
    ladder_end: str | None
    not_interchangeable_with: tuple
    equivalence: dict  # model id -> factor
    limits: Limits
    source: str
    derived_fraction: FractionRange | None = None
    emetogenic: str | None = None  # the drug's emetic-risk class ([drugs.<id>.emetogenic]); its source below
    emetogenic_source: str | None = None
    administration: object | None = None  # chemo.preparation.AdministrationDetail
    interactions: tuple = ()  # ((other drug id, effect, source), ...): refused together in a regimen
    after_chemotherapy_h: float | None = None  # a growth factor: at least this long after the last cytotoxic
    after_chemotherapy_source: str | None = None

    @property
    def is_anthracycline(self) -> bool:
        return bool(self.equivalence) or self.drug_class in ("anthracycline", "anthracenedione")


@attrs.frozen
class Model:
    id: str
    name: str
    source: str


@attrs.frozen
class Conversion:
    """``1 g/dL`` of this analyte is ``0.6206 mmol/L``."""

    from_q: object
    to_q: object
    source: str


@attrs.frozen
class Analyte:
    id: str
    name: str
    aliases: tuple
    unit: str
    plausible: tuple  # (low, high) Quantities
    conversions: tuple
    ambiguous: tuple  # Units refused for this analyte
    ambiguous_message: str | None
    deindexed_unit: str | None
    uln_range: tuple | None = None  # (low, high) Quantities: an upper limit of normal outside it is a mistake
    uln_source: str | None = None
    loinc: tuple = ()  # LOINC codes a laboratory system names this analyte by (chemo labs import)
    loinc_source: str | None = None

    def value_in(self, q, unit: str) -> float:
        """``q`` as a number of the written ``unit``, across mass and substance
        concentrations through the library's factors; ValueError if it cannot be."""
        if compatible(q, unit):
            return in_unit(q, unit)
        for conv in self.conversions:
            for a, b in ((conv.to_q, conv.from_q), (conv.from_q, conv.to_q)):
                if q.is_compatible_with(a.units) and compatible(b, unit):
                    return in_unit(q.to(a.units).magnitude / a.magnitude * b, unit)
        raise ValueError(f"{q} cannot be converted to {unit} for {self.id}")

    def accepts(self, q) -> bool:
        try:
            self.value_in(q, self.unit)
            return True
        except ValueError:
            return self.deindexed_unit is not None and compatible(q, self.deindexed_unit)

    def is_ambiguous(self, q) -> bool:
        return any(q.units == unit for unit in self.ambiguous)

    def conversion_sources(self) -> list[str]:
        return [c.source for c in self.conversions]


@attrs.frozen
class Rounding:
    mode: str = attrs.field(validator=attrs.validators.in_(tuple(ROUNDING_MODES)))
    tolerance: float  # fraction
    source: str
    fallback_mg: tuple = ()  # finer increments, in order, when a drug's own is too coarse for a small dose

    @property
    def decimal_mode(self) -> str:
        return ROUNDING_MODES[self.mode]


@attrs.frozen
class Verification:
    """How order verification names a decimal error."""

    decimal_error: float  # an order this many times the calculated dose, or this fraction of it
    source: str
    overdose: float = 0.10  # fraction above the calculated dose that is an overdose (a hard stop); from the file
    overdose_source: str = ""


@attrs.frozen
class Library:
    drugs: dict
    models: dict
    analytes: dict
    rounding: Rounding
    verification: Verification
    body_size: dict  # the parsed body-size.toml document
    files: dict  # kind -> path
    lab_units: dict = attrs.field(factory=dict)  # a lab's unit spelling -> the UCUM code it means (lab-units.toml)
    key: str | None = None  # the content key of the files it was read from (chemo.cache.key), when they did not change while read
    diluents: dict = attrs.field(factory=dict)  # id -> chemo.preparation.Diluent
    emetogenic: object | None = None  # chemo.preparation.Emetogenic

    def drug(self, ref: str) -> Drug | None:
        key = ref.strip().lower()
        if key in self.drugs:
            return self.drugs[key]
        for drug in self.drugs.values():
            if key in drug.aliases:
                return drug
        return None

    def analyte_by_loinc(self, code: str) -> Analyte | None:
        code = str(code).strip()
        for analyte in self.analytes.values():
            if code in analyte.loinc:
                return analyte
        return None

    def analyte(self, ref: str) -> Analyte | None:
        key = ref.strip().lower()
        if key in self.analytes:
            return self.analytes[key]
        for analyte in self.analytes.values():
            if key in analyte.aliases:
                return analyte
        return None


# ------------------------------------------------------------------ readers

def _read_drugs(doc: Table) -> tuple[dict, dict, Rounding | None, "Verification | None"]:
    doc.allow("library", "source", "rounding", "verification", "models", "drugs", "diluents", "emetogenic")
    doc.text("source")
    rounding = None
    rt = doc.table("rounding")
    if rt and rt.ok:
        rt.allow("mode", "tolerance", "fallback", "source")
        mode = rt.text("mode", choices=tuple(ROUNDING_MODES))
        tol = rt.fraction("tolerance", high=0.25)
        src = rt.text("source")
        steps = [rt.quantity(f"fallback[{i + 1}]", "mg", value=v) for i, v in enumerate(rt.texts("fallback"))]
        fallback = tuple(in_unit(q, "mg") for q in steps if q is not None)
        if any(b >= a for a, b in zip(fallback, fallback[1:])) or any(f <= 0 for f in fallback):
            rt.problem("must be more than 0 mg and fall step by step", at="fallback")
        if mode and tol is not None and src:
            rounding = Rounding(mode, tol, src, fallback)
    verification = None
    vt = doc.table("verification")
    if vt and vt.ok:
        vt.allow("decimal_error", "source", "overdose", "overdose_source")
        ratio = vt.number("decimal_error", 2, 100)
        src = vt.text("source")
        overdose = vt.fraction("overdose", high=0.5)
        overdose_src = vt.text("overdose_source")
        if ratio and src and overdose is not None and overdose_src:
            verification = Verification(ratio, src, overdose, overdose_src)
    models = {}
    mt = doc.table("models")
    if mt and mt.ok:
        for mid in mt.data:
            t = mt.table(mid)
            if t and t.ok:
                t.allow("name", "source")
                name, src = t.text("name"), t.text("source")
                if name and src:
                    models[mid] = Model(mid, name, src)
    from .preparation import read_diluents, read_emetogenic

    diluents = read_diluents(doc.table("diluents", required=False))
    emetogenic = read_emetogenic(doc.table("emetogenic", required=False))
    drugs = {}
    dt = doc.table("drugs")
    if dt and dt.ok:
        for did in dt.data:
            t = dt.table(did)
            if t and t.ok:
                drug = _read_drug(did, t, models, diluents, emetogenic)
                if drug:
                    drugs[did] = drug
    for drug in drugs.values():
        for other, _, _ in drug.interactions:
            if other not in drugs:
                doc.problem(f"unknown drug {other!r}", at=f"drugs.{drug.id}.interactions")
    _READ_EXTRAS["diluents"], _READ_EXTRAS["emetogenic"] = diluents, emetogenic
    return drugs, models, rounding, verification


_READ_EXTRAS: dict = {}  # the diluents and emetogenic classes of the drugs file last read (for _read_library)


def _read_supportive_keys(t: Table, diluents: dict, emetogenic) -> dict:
    """The keys of a drug added for supportive care and preparation (issue 20)."""
    from .preparation import read_administration

    out: dict = {}
    et = t.table("emetogenic", required=False)
    if et and et.ok:
        et.allow("class", "source")
        classes = emetogenic.classes if emetogenic else None
        out["emetogenic"], out["emetogenic_source"] = et.text("class", choices=classes), et.text("source")
    at = t.table("administration", required=False)
    if at and at.ok:
        out["administration"] = read_administration(at, set(diluents))
    interactions = []
    for it in t.tables("interactions"):
        if it.ok:
            it.allow("with", "effect", "source")
            other, effect, src = it.text("with"), it.text("effect"), it.text("source")
            if other and effect and src:
                interactions.append((other, effect, src))
    out["interactions"] = tuple(interactions)
    ct = t.table("after_chemotherapy", required=False)
    if ct and ct.ok:
        ct.allow("at_least", "source")
        q = ct.quantity("at_least", "h")
        out["after_chemotherapy_h"] = in_unit(q, "h") if q is not None else None
        out["after_chemotherapy_source"] = ct.text("source")
    return out


def _read_drug(did: str, t: Table, models: dict, diluents: dict | None = None, emetogenic=None) -> Drug | None:
    t.allow("name", "class", "aliases", "routes", "rounding", "dose_levels", "ladder", "ladder_end",
            "not_interchangeable_with", "source", "equivalence", "max", "min", "derived_fraction",
            "emetogenic", "administration", "interactions", "after_chemotherapy")
    extra = _read_supportive_keys(t, diluents or {}, emetogenic)
    name, cls, src = t.text("name"), t.text("class"), t.text("source")
    aliases = tuple(a.lower() for a in t.texts("aliases"))
    routes = tuple(t.texts("routes", required=True))
    rounding = None
    if "rounding" in t.data:
        q = t.quantity("rounding", "mg")
        rounding = in_unit(q, "mg") if q is not None else None
        if rounding is not None and rounding <= 0:
            t.problem("must be more than 0 mg", at="rounding")
    levels = []
    for i, text in enumerate(t.texts("dose_levels")):
        q = t.quantity(f"dose_levels[{i + 1}]", "%", value=text)
        if q is not None:
            levels.append(in_unit(q, ""))
    if levels and (levels[0] != 1.0 or any(b >= a for a, b in zip(levels, levels[1:]))):
        t.problem("must start at 100 % and fall step by step", at="dose_levels")
    ladder = []
    for i, text in enumerate(t.texts("ladder")):
        q = t.quantity(f"ladder[{i + 1}]", "mg", value=text)
        if q is not None:
            ladder.append(in_unit(q, "mg"))
    if any(b >= a for a, b in zip(ladder, ladder[1:])):
        t.problem("must fall step by step", at="ladder")
    ladder_end = t.text("ladder_end", required=bool(ladder))
    equivalence = {}
    et = t.table("equivalence", required=False)
    if et and et.ok:
        for mid in et.data:
            if mid not in models:
                et.problem(f"no model {mid!r} in [models]", at=mid)
                continue
            factor = et.number(mid, 0.01, 50)
            if factor is not None:
                equivalence[mid] = factor
    limits = None
    lt = t.table("max")
    if lt and lt.ok:
        lt.allow("single", "cycle", "source")
        per = {}
        for key in ("single", "cycle"):
            per[key] = _doses_by_basis(lt, key)
        lsrc = lt.text("source")
        minimum, min_source = {}, None
        mt = t.table("min", required=False)
        if mt and mt.ok:
            mt.allow("single", "source")
            minimum = _doses_by_basis(mt, "single")
            min_source = mt.text("source")
            for basis, low in minimum.items():
                if basis in per["single"] and low >= per["single"][basis]:
                    mt.problem(f"the smallest dose must be below the largest ({per['single'][basis]:g} {basis.label})",
                               at="single")
        if lsrc:
            limits = Limits(per["single"], per["cycle"], lsrc, minimum, min_source)
    derived_fraction = None
    ft = t.table("derived_fraction", required=False)
    if ft and ft.ok:
        ft.allow("range", "source")
        bounds = [ft.quantity(f"range[{i + 1}]", "%", value=v) for i, v in enumerate(ft.texts("range", required=True))]
        fsrc = ft.text("source")
        if len(bounds) != 2 or None in bounds:
            if len(bounds) != 2:
                ft.problem("expected [low, high]", at="range")
        elif fsrc:
            low, high = (in_unit(b, "") for b in bounds)
            if not 0 < low < high:
                ft.problem("expected 0 < low < high", at="range")
            else:
                derived_fraction = FractionRange(low, high, fsrc)
    if not (name and cls and src and routes and limits):
        return None
    return Drug(
        id=did, name=name, drug_class=cls, aliases=aliases, routes=routes, rounding_mg=rounding,
        dose_levels=tuple(levels), ladder=tuple(ladder), ladder_end=ladder_end,
        not_interchangeable_with=tuple(t.texts("not_interchangeable_with")),
        equivalence=equivalence, limits=limits, source=src, derived_fraction=derived_fraction, **extra,
    )


def _doses_by_basis(t: Table, key: str) -> dict:
    """``["90 mg/m²", "250 mg"]`` as {Basis.PER_M2: 90, Basis.FLAT: 250}."""
    doses = {}
    for i, text in enumerate(t.texts(key, required=True)):
        try:
            dose = parse_dose(text)
        except ChemoError as exc:
            t.problem(exc.message, at=f"{key}[{i + 1}]")
            continue
        if dose.basis in doses:
            t.problem(f"two limits for {dose.basis.label}", at=f"{key}[{i + 1}]")
        doses[dose.basis] = dose.amount
    return doses


def _read_analytes(doc: Table) -> dict:
    doc.allow("library", "source", "analytes")
    doc.text("source")
    analytes = {}
    at = doc.table("analytes")
    if not (at and at.ok):
        return analytes
    for aid in at.data:
        t = at.table(aid)
        if not (t and t.ok):
            continue
        t.allow("name", "aliases", "unit", "plausible", "conversions", "ambiguous",
                "ambiguous_message", "deindexed_unit", "uln", "loinc")
        name, unit = t.text("name"), t.text("unit")
        conversions = []
        for c in t.tables("conversions"):
            c.allow("from", "to", "source")
            f, to, src = c.quantity("from", None), c.quantity("to", None), c.text("source")
            if f is not None and to is not None and src:
                conversions.append(Conversion(f, to, src))
        plausible = t.texts("plausible", required=True)
        bounds = [t.quantity(f"plausible[{i + 1}]", None, value=v) for i, v in enumerate(plausible)]
        ambiguous = []
        for i, v in enumerate(t.texts("ambiguous")):
            q = t.quantity(f"ambiguous[{i + 1}]", None, value="1 " + v)
            if q is not None:
                ambiguous.append(q.units)
        if ambiguous:
            t.text("ambiguous_message")
        deindexed = t.text("deindexed_unit", required=False)
        uln_range = uln_source = None
        ut = t.table("uln", required=False)
        if ut and ut.ok:
            ut.allow("range", "source")
            texts = ut.texts("range", required=True)
            pair = [ut.quantity(f"range[{i + 1}]", None, value=v) for i, v in enumerate(texts)]
            uln_source = ut.text("source")
            if len(pair) != 2:
                ut.problem("expected [low, high]", at="range")
            elif None not in pair:
                uln_range = tuple(pair)
        loinc, loinc_source = (), None
        lt = t.table("loinc", required=False)
        if lt and lt.ok:
            lt.allow("codes", "source")
            codes = lt.texts("codes", required=True)
            loinc_source = lt.text("source")
            for i, code in enumerate(codes):
                if not re.fullmatch(r"[0-9]{1,7}-[0-9]", code):
                    lt.problem(f"{code!r} is not a LOINC code (digits, '-', a check digit)", at=f"codes[{i + 1}]")
            loinc = tuple(codes)
        if not (name and unit) or len(bounds) != 2 or None in bounds:
            if len(plausible) != 2:
                t.problem("expected [low, high]", at="plausible")
            continue
        canonical = parse_quantity("1 " + unit) if unit else None
        analyte = Analyte(
            id=aid, name=name, aliases=tuple(a.lower() for a in t.texts("aliases")), unit=unit,
            plausible=tuple(bounds), conversions=tuple(conversions), ambiguous=tuple(ambiguous),
            ambiguous_message=t.data.get("ambiguous_message"), deindexed_unit=deindexed,
            uln_range=uln_range, uln_source=uln_source, loinc=loinc, loinc_source=loinc_source,
        )
        for i, b in enumerate(bounds):
            if not analyte.accepts(b):
                t.problem(f"{plausible[i]!r} does not fit the unit {unit!r}", at=f"plausible[{i + 1}]")
        for i, b in enumerate(uln_range or ()):
            if not analyte.accepts(b):
                t.problem(f"{b} does not fit the unit {unit!r}", at=f"uln.range[{i + 1}]")
        if canonical is not None:
            for other in analytes.values():
                for code in set(other.loinc) & set(loinc):
                    t.problem(f"LOINC code {code!r} is already {other.id}'s: a code names one analyte", at="loinc")
            analytes[aid] = analyte
    return analytes


def _read_lab_units(doc: Table) -> dict:
    """lab-units.toml: each spelling a lab writes, the one UCUM code chemo reads that it means, and its source."""
    from .labs.ucum import UCUM_TO_CHEMO

    doc.allow("library", "source", "synonyms")
    doc.text("source")
    out: dict = {}
    for entry in doc.tables("synonyms", required=True):
        entry.allow("spelling", "ucum", "source")
        spelling, ucum = entry.text("spelling"), entry.text("ucum")
        entry.text("source")
        if ucum is not None and ucum not in UCUM_TO_CHEMO:
            entry.problem(f"{ucum!r} is not a UCUM code chemo reads (chemo/labs/ucum.py)", at="ucum")
        if spelling is not None and spelling in UCUM_TO_CHEMO:
            entry.problem(f"{spelling!r} is itself a UCUM code chemo reads: not a synonym", at="spelling")
        if spelling is not None and spelling in out:
            entry.problem(f"{spelling!r} is listed twice", at="spelling")
        if spelling is not None and ucum is not None:
            out[spelling] = ucum
    return out


def _read_body_size(doc: Table) -> dict:
    doc.allow("library", "source", "limits", "bsa", "crcl", "egfr", "recalculate", "plausibility", "obesity",
              "crcl_weight")
    doc.text("source")
    cw = doc.table("crcl_weight", required=True)
    if cw and cw.ok:  # which body weight Cockcroft-Gault is given (chemo.bodysize.crcl_weight)
        cw.allow("ideal_male", "ideal_female", "ideal_per_inch", "ideal_from_height", "adjusted_fraction",
                 "obese_bmi", "obese", "below_ideal", "otherwise", "source")
        for key in ("ideal_male", "ideal_female", "ideal_per_inch"):
            cw.quantity(key, "kg")
        cw.quantity("ideal_from_height", "cm")
        cw.quantity("obese_bmi", "kg/m**2")
        fraction = cw.fraction("adjusted_fraction")
        if fraction == 0:
            cw.problem("must be more than 0 %", at="adjusted_fraction")
        for key in ("obese", "below_ideal", "otherwise"):
            cw.text(key, choices=("actual", "ideal", "adjusted"))
        cw.text("source")
    pt = doc.table("plausibility", required=False)
    if pt and pt.ok:
        pt.allow("bmi", "bmi_source", "weight_change", "weight_change_window", "weight_change_source")
        pair = pt.texts("bmi", required=True)
        if len(pair) != 2:
            pt.problem("expected [low, high]", at="bmi")
        for i, v in enumerate(pair):
            pt.quantity(f"bmi[{i + 1}]", "kg/m**2", value=v)
        if pt.fraction("weight_change") == 0:
            pt.problem("must be more than 0 %", at="weight_change")
        window = pt.quantity("weight_change_window", "day")
        if window is not None and window.to("day").magnitude <= 0:
            pt.problem("must be more than 0 days", at="weight_change_window")
        pt.text("bmi_source")
        pt.text("weight_change_source")
    ot = doc.table("obesity", required=False)
    if ot and ot.ok:
        ot.allow("bmi", "note", "source")
        ot.quantity("bmi", "kg/m**2")
        ot.text("note")
        ot.text("source")
    rc = doc.table("recalculate", required=False)
    if rc and rc.ok:
        rc.allow("weight_change", "max_weight_age", "source")
        change = rc.fraction("weight_change")
        if change == 0:
            rc.problem("must be more than 0 %", at="weight_change")
        age = rc.quantity("max_weight_age", "day")
        if age is not None and in_unit(age, "day") <= 0:
            rc.problem("must be more than 0 days", at="max_weight_age")
        rc.text("source")
    lt = doc.table("limits")
    if lt and lt.ok:
        lt.allow("height", "weight", "age", "creatinine", "bsa", "source")
        for key, unit in (("height", "cm"), ("weight", "kg"), ("creatinine", "mg/dL"), ("bsa", "m**2")):
            pair = lt.texts(key, required=True)
            if len(pair) != 2:
                lt.problem("expected [low, high]", at=key)
            for i, v in enumerate(pair):
                lt.quantity(f"{key}[{i + 1}]", unit, value=v)
        lt.text("source")
    for section, forms in (("bsa", ("mosteller", "power", "boyd")), ("crcl", None), ("egfr", None)):
        st = doc.table(section)
        if not (st and st.ok):
            continue
        for fid in st.data:
            t = st.table(fid)
            if t and t.ok:
                t.text("name")
                t.text("source")
                if forms:
                    t.text("form", choices=forms)
    return doc.data


@functools.lru_cache(maxsize=8)
def _load(directory: str) -> Library:
    """The library of ``directory``: from the on-disk cache (keyed on the files' bytes,
    see :mod:`chemo.cache`) when it checked clean before, else read and checked.  A library
    whose files did not change while it was read carries their content key (``Library.key``)."""
    from . import cache

    paths = cache.library_paths(directory)
    key = cache.key("library", paths)
    library = cache.load("library", key)
    if isinstance(library, Library) and library.key == key:
        if not cache.has("body-size", key):
            cache.store("body-size", key, library.body_size)
        return library
    library = _read_library(directory)
    if key is not None and cache.key("library", paths) == key:  # unchanged while it was read
        library = attrs.evolve(library, key=key)
        cache.store("library", key, library)
        cache.store("body-size", key, library.body_size)  # what chemo bsa needs, without this module
    return library


def _read_library(directory: str) -> Library:
    problems: list[Problem] = []
    parts = {}
    files = {}
    for kind in LIBRARY_KINDS:
        path = Path(directory) / f"{kind}.toml"
        files[kind] = str(path)
        source = read_toml(path)
        problems += source.problems
        if source.document is None:
            continue
        parts[kind] = source.document
    raise_problems(problems)
    drugs, models, rounding, verification = _read_drugs(Table(parts["drugs"], "", problems, files["drugs"]))
    analytes = _read_analytes(Table(parts["analytes"], "", problems, files["analytes"]))
    body_size = _read_body_size(Table(parts["body-size"], "", problems, files["body-size"]))
    lab_units = _read_lab_units(Table(parts["lab-units"], "", problems, files["lab-units"]))
    raise_problems(problems)
    return Library(drugs, models, analytes, rounding, verification, body_size, files, lab_units=lab_units,
                   diluents=_READ_EXTRAS.get("diluents", {}), emetogenic=_READ_EXTRAS.get("emetogenic"))


def load_library(directory: str | os.PathLike | None = None) -> Library:
    """The library from ``$CHEMO_REGIMENS/library``, else the project's ``regimens/library`` (or
    ``directory``); raises RegimenError if invalid.  Read once per process and folder."""
    return _load(str(library_dir() if directory is None else directory))


def check_library_file(source, kind: str) -> list[Problem]:
    """Every problem of one library file (for ``chemo validate``)."""
    problems = list(source.problems)
    if source.document is None:
        return problems
    table = Table(source.document, "", problems, source.path)
    if kind == "drugs":
        _read_drugs(table)
    elif kind == "analytes":
        _read_analytes(table)
    elif kind == "body-size":
        _read_body_size(table)
    elif kind == "lab-units":
        _read_lab_units(table)
    return problems
