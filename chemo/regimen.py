"""Regimen files: their shape, their checks, and loading them by id or path.

A regimen file (``regimens/<id>.toml``, documented in ``docs/regimen-format.md``)
says which drugs are given, at what dose as the protocol writes it, per day or
per cycle, on which days, which labs must pass before a cycle, how doses are
modified, and how cumulative anthracycline is counted.  ``check_regimen`` reads
one and reports every problem; ``load_regimen`` returns a valid one or raises.
"""

from __future__ import annotations

import datetime
import functools
import os
import re
import stat
from pathlib import Path

import attrs

from .datafile import FILE, MAX_FILE_BYTES, Problem, Table, parse_toml, raise_problems, read_toml
from .errors import RegimenError
from .library import Library, load_library, regimens_dir
from .units import Basis, Dose, display_text, in_unit

OPERATORS = {">": ">", ">=": ">=", "≥": ">=", "<": "<", "<=": "<=", "≤": "<="}
PER = ("day", "cycle")
MAX_CYCLE_DAYS = 84  # the longest cycle a regimen file may declare (12 weeks): a bound of the file format
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
VERSION_PATTERN = re.compile(r"^[0-9A-Za-z](?:[0-9A-Za-z.+-]{0,38}[0-9A-Za-z])?$")  # "1.0", "2026-12-06", "3b"
_ULN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:[x×*]\s*)?ULN\s*$", re.IGNORECASE)


# ------------------------------------------------------------------ value classes

@attrs.frozen
class Bound:
    """A lab value as a regimen writes it: an absolute quantity or a multiple of ULN."""

    text: str
    quantity: object | None  # pint Quantity, or None for ULN multiples
    uln_multiple: float | None

    def __str__(self) -> str:
        return self.text


@attrs.frozen
class DrugLine:
    drug: str
    dose: Dose
    per: str = attrs.field(validator=attrs.validators.in_(PER))  # "day" or "cycle"
    days: tuple
    route: str
    infusion: str | None
    source: str
    diluent: str | None = None  # a diluent id of the library, checked against the drug's incompatibilities

    @functools.cached_property
    def daily(self) -> Dose:
        """The dose of one administration day (worked out once per line)."""
        if self.per == "day":
            return self.dose
        return Dose(self.dose.amount / len(self.days), self.dose.basis, self.dose.text)

    @functools.cached_property
    def per_cycle(self) -> Dose:
        if self.per == "cycle":
            return self.dose
        return Dose(self.dose.amount * len(self.days), self.dose.basis, self.dose.text)

    def describe(self) -> str:
        days = _days_text(self.days)
        if self.per == "cycle" and len(self.days) > 1:
            return f"{display_text(self.dose.text)} per cycle, {self.daily} a day on {days}"
        return f"{display_text(self.dose.text)} {per_words(self.per)} on {days}"


@attrs.frozen
class Derived:
    """A supportive drug whose dose follows another's (mesna from ifosfamide)."""

    drug: str
    from_drug: str
    fraction: float
    days: tuple
    route: str
    infusion: str | None
    source: str
    schedule: tuple = ()  # chemo.supportive.Timing: the day's fraction split into equal doses at these times


GATE_KINDS = ("eligibility", "retreatment")


@attrs.frozen
class Threshold:
    """A readiness gate.  ``kind``: ``eligibility`` (checked before cycle 1) or ``retreatment`` (before every
    cycle); ``action``: what the protocol does when a retreatment gate fails (delay a week, transfuse and treat);
    ``each_day``: a retreatment gate whose source asks for it before each day of a multi-day cycle (a result
    grown too old since day 1 does not count for it)."""

    analyte: str
    op: str = attrs.field(validator=attrs.validators.in_((">", ">=", "<", "<=")))  # normalised (OPERATORS)
    op_text: str  # as written
    value: Bound
    max_age_days: float
    source: str
    kind: str = attrs.field(default="eligibility", validator=attrs.validators.in_(GATE_KINDS))
    action: str | None = None
    each_day: bool = False

    def applies_to(self, cycle: int) -> bool:
        """Eligibility gates before cycle 1; retreatment gates before every cycle."""
        return self.kind == "retreatment" or cycle == 1

    def describe(self) -> str:
        return f"{self.analyte} {self.op_text} {display_text(self.value.text)}"


@attrs.frozen
class Modification:
    drug: str
    analyte: str
    low: Bound | None
    low_inclusive: bool
    high: Bound | None
    high_inclusive: bool
    give: float  # fraction of the dose given; 0: do not give
    source: str

    def range_text(self) -> str:
        """``≥ 30 mL/min and < 60 mL/min``: the band's bounds as written."""
        parts = []
        if self.low:
            parts.append(f"{'≥' if self.low_inclusive else '>'} {display_text(self.low.text)}")
        if self.high:
            parts.append(f"{'≤' if self.high_inclusive else '<'} {display_text(self.high.text)}")
        return " and ".join(parts)

    def action_text(self) -> str:
        return "do not give" if self.give == 0 else f"give {self.give * 100:g} %"

    def describe(self) -> str:
        return f"{self.analyte} {self.range_text()}: {self.drug} {self.action_text()}"


@attrs.frozen
class Note:
    """Supportive care or a caution that goes with the doses (G-CSF prophylaxis, hydration)."""

    text: str
    source: str


@attrs.frozen
class Cumulative:
    model: str
    cap: float  # doxorubicin-equivalent mg/m²
    warn_at: float
    source: str


@attrs.frozen
class Retired:
    """A regimen withdrawn from new plans (``[retired]``): since when, why, and what replaces it."""

    date: datetime.date
    reason: str
    replaced_by: str | None = None  # a regimen id


@attrs.frozen
class Regimen:
    id: str
    name: str
    indication: str
    source: str
    cycle_length_days: int
    cycles: int
    day_split: str
    drugs: tuple
    derived: tuple
    thresholds: tuple
    modifications: tuple
    cumulative: Cumulative
    bsa_cap: float | None  # m², only when the regimen declares one
    bsa_cap_source: str | None
    path: str
    sha256: str
    notes: tuple = ()  # Note: supportive care and cautions the pharmacist must see with the doses
    early_window_days: int = 0  # a cycle may be given this many days before it is due (the calendar)
    early_window_source: str = ""
    supportive: tuple = ()  # chemo.supportive.SupportiveLine: antiemetics, hydration, G-CSF, dexrazoxane ...
    emetogenic_class: str | None = None  # as derived from the drugs (and stated by the file)
    version: str | None = None  # the file's own version ("1.0"); `chemo validate --strict` requires it
    retired: Retired | None = None  # no new plan may start on a retired regimen

    def line(self, drug: str) -> DrugLine | None:
        return next((d for d in self.drugs if d.drug == drug), None)

    def derived_line(self, drug: str) -> Derived | None:
        return next((d for d in self.derived if d.drug == drug), None)

    @property
    def drug_ids(self) -> tuple:
        return tuple(d.drug for d in self.drugs) + tuple(d.drug for d in self.derived)


def per_words(per: str) -> str:
    """``a day`` or ``per cycle``: what a dose written per day or per cycle is given over."""
    return "a day" if per == "day" else "per cycle"


def version_words(regimen_id: str, version: str | None, sha256: str | None = None) -> str:
    """``doxorubicin-ifosfamide version 1.0 (sha256 1a2b3c4d5e6f)``: one version of a regimen file, as every
    command names it (the first 12 hex digits of its bytes' SHA-256, when known)."""
    words = f"{regimen_id} version {version or '(none)'}"
    return f"{words} (sha256 {sha256[:12]})" if sha256 else words


def _days_text(days) -> str:
    days = sorted(days)
    if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
        return f"days {days[0]}-{days[-1]}"
    return ("day " if len(days) == 1 else "days ") + ", ".join(map(str, days))


# ------------------------------------------------------------------ reading

TOP_KEYS = ("id", "name", "indication", "source", "cycle_length", "cycles", "day_split", "bsa_cap",
            "bsa_cap_source", "cumulative", "drugs", "derived", "thresholds", "modifications", "notes",
            "early_window", "early_window_source", "supportive", "emetogenic_class", "version", "retired")
MAX_EARLY_WINDOW_DAYS = 7


def check_regimen(source, library: Library | None = None, *, strict: bool = False) -> tuple[Regimen | None, list[Problem]]:
    """Read a regimen document (from :func:`read_toml`): the regimen, or None, and every problem.
    ``strict`` (``chemo validate --strict``): a file without its own ``version`` is a problem too."""
    problems = list(source.problems)
    if source.document is None:
        return None, problems
    library = library or load_library()
    doc = Table(source.document, "", problems, source.path)
    doc.allow(*TOP_KEYS)
    rid = doc.text("id")
    if rid and not ID_PATTERN.match(rid):
        doc.problem(f"{rid!r}: an id is lower-case words joined by '-'", at="id")
    name, indication, src = doc.text("name"), doc.text("indication"), doc.text("source")
    version = doc.text("version", required=False)
    if strict and "version" not in doc.data:
        doc.problem('missing: --strict requires a version, e.g. version = "1.0"', at="version")
    if version is not None and not VERSION_PATTERN.match(version):
        doc.problem(f"{version!r}: a version is letters, digits, '.', '-' and '+', starting and ending with a "
                    f"letter or digit, at most 40, e.g. \"1.0\"",
                    at="version")
        version = None
    retired = _read_retired(doc)
    day_split = doc.text("day_split")
    length = doc.quantity("cycle_length", "day")
    cycle_days = None
    if length is not None:
        days = in_unit(length, "day")
        if days != int(days) or not 1 <= days <= MAX_CYCLE_DAYS:
            doc.problem(f"{doc.data['cycle_length']!r}: expected a whole number of days, 1-{MAX_CYCLE_DAYS}",
                        at="cycle_length")
        else:
            cycle_days = int(days)
    cycles = doc.integer("cycles", 1, 12)
    early = _read_early_window(doc, cycle_days)

    bsa_cap = None
    if "bsa_cap" in doc.data:
        q = doc.quantity("bsa_cap", "m**2")
        if q is not None:
            bsa_cap = in_unit(q, "m**2")
            if not 1.0 <= bsa_cap <= 3.0:
                doc.problem(f"{doc.data['bsa_cap']!r} is outside 1-3 m²", at="bsa_cap")
                bsa_cap = None
        doc.text("bsa_cap_source")

    drugs = _read_drug_lines(doc, library, cycle_days)
    named = _named_drugs(doc)
    derived = _read_derived(doc, library, drugs, named)
    thresholds = _read_thresholds(doc, library)
    modifications = _read_modifications(doc, library, drugs, named)
    cumulative = _read_cumulative(doc, library, drugs)
    from .supportive import check_regimen_supportive, read_supportive

    supportive = read_supportive(doc, library, drugs, named, cycle_days, _read_days, _check_limits)
    emetogenic_class = check_regimen_supportive(doc, library, drugs, supportive) if drugs else None
    notes = []
    for t in doc.tables("notes"):
        if t.ok:
            t.allow("text", "source")
            text, note_source = t.text("text"), t.text("source")  # not ``src``: that is the regimen's own source
            if text and note_source:
                notes.append(Note(text, note_source))

    if problems or None in (rid, name, indication, src, day_split, cycle_days, cycles, cumulative, early):
        return None, problems
    regimen = Regimen(
        id=rid, name=name, indication=indication, source=src, cycle_length_days=cycle_days, cycles=cycles,
        day_split=day_split, drugs=tuple(drugs), derived=tuple(derived), thresholds=tuple(thresholds),
        modifications=tuple(modifications), cumulative=cumulative, bsa_cap=bsa_cap,
        bsa_cap_source=doc.data.get("bsa_cap_source"), path=source.path, sha256=source.sha256, notes=tuple(notes),
        early_window_days=early[0], early_window_source=early[1],
        supportive=tuple(supportive), emetogenic_class=emetogenic_class, version=version, retired=retired,
    )
    return regimen, problems


def _read_retired(doc: Table) -> Retired | None:
    """``[retired]``: ``date`` (a TOML date or "YYYY-MM-DD"), ``reason`` and optionally ``replaced_by``."""
    t = doc.table("retired", required=False)
    if t is None or not t.ok:
        return None
    t.allow("date", "reason", "replaced_by")
    when = t.data.get("date")
    if isinstance(when, str):
        try:
            when = datetime.date.fromisoformat(when)
        except ValueError:
            when = None
    if not isinstance(when, datetime.date) or isinstance(when, datetime.datetime):
        given = "missing" if "date" not in t.data else f"got {t.data['date']!r}"[:80]
        t.problem(f"expected the date it was retired, e.g. 2026-11-30 ({given})", at="date")
        when = None
    reason = t.text("reason")
    replaced_by = t.text("replaced_by", required=False)
    if replaced_by is not None and not ID_PATTERN.match(replaced_by):
        t.problem(f"{replaced_by!r}: expected a regimen id (lower-case words joined by '-')", at="replaced_by")
        replaced_by = None
    if when is None or reason is None:
        return None
    return Retired(when, reason, replaced_by)


def _read_early_window(doc: Table, cycle_days: int | None) -> tuple | None:
    """(days, source) of ``early_window``: how many days before its due date a cycle may be given."""
    q = doc.quantity("early_window", "day")
    src = doc.text("early_window_source")
    if q is None or src is None:
        return None
    days = in_unit(q, "day")
    limit = MAX_EARLY_WINDOW_DAYS if cycle_days is None else min(MAX_EARLY_WINDOW_DAYS, cycle_days - 1)
    if days != int(days) or not 0 <= days <= limit:
        doc.problem(f"{doc.data['early_window']!r}: expected a whole number of days, 0-{limit}", at="early_window")
        return None
    return int(days), src


def _named_drugs(doc: Table) -> set:
    """Drug ids the file names in [[drugs]], valid or not: a bad dose is reported once,
    not again as 'not a drug of this regimen' wherever the drug is referred to."""
    raw = doc.data.get("drugs")
    if not isinstance(raw, list):
        return set()
    return {d.get("drug") for d in raw if isinstance(d, dict) and isinstance(d.get("drug"), str)}


def _read_days(t: Table, cycle_days: int | None) -> tuple | None:
    days = t.data.get("days")
    if days is None:
        t.problem("missing: expected the days given, e.g. [1, 2, 3]", at="days")
        return None
    if not isinstance(days, list) or not days or not all(isinstance(d, int) and not isinstance(d, bool) for d in days):
        t.problem(f"expected a list of day numbers, e.g. [1, 2, 3], got {days!r}"[:120], at="days")
        return None
    if len(set(days)) != len(days):
        t.problem("a day is listed twice", at="days")
        return None
    bad = [d for d in days if d < 1 or (cycle_days is not None and d > cycle_days)]
    if bad:
        t.problem(f"day {bad[0]} is outside the cycle (days 1-{cycle_days or '?'})", at="days")
        return None
    return tuple(sorted(days))


def _check_limits(t: Table, drug, dose: Dose, per: str, n_days: int, key: str = "dose") -> None:
    """A dose must sit within its drug's plausible range on its own basis."""
    limits = drug.limits
    if dose.basis not in limits.single:
        bases = ", ".join(b.label for b in limits.single) or "none"
        t.problem(f"{drug.id} is not dosed in {dose.basis.label} (the library has limits for: {bases})", at=key)
        return
    if dose.amount <= 0:
        t.problem(f"{dose.text!r}: a dose must be more than 0", at=key)
        return
    daily = dose.amount if per == "day" else dose.amount / n_days
    cycle = dose.amount * n_days if per == "day" else dose.amount
    label = dose.basis.label
    if daily > limits.single[dose.basis] * (1 + 1e-9):
        t.problem(
            f"{dose.text!r} gives {daily:g} {label} a day, above the largest plausible single dose of "
            f"{drug.id} ({limits.single[dose.basis]:g} {label}; {limits.source})", at=key)
    elif dose.basis in limits.cycle and cycle > limits.cycle[dose.basis] * (1 + 1e-9):
        t.problem(
            f"{dose.text!r} gives {cycle:g} {label} per cycle, above the largest plausible cycle dose of "
            f"{drug.id} ({limits.cycle[dose.basis]:g} {label}; {limits.source})", at=key)
    elif dose.basis in limits.min_single and daily < limits.min_single[dose.basis] * (1 - 1e-9):
        t.problem(
            f"{dose.text!r} gives {daily:g} {label} a day, below the smallest plausible dose of "
            f"{drug.id} ({limits.min_single[dose.basis]:g} {label}; {limits.min_source}): a tenth of the dose?", at=key)


def _unknown_drug(t: Table, library: Library, ref, key: str = "drug") -> None:
    alias = library.drug(ref) if isinstance(ref, str) else None
    if alias:
        t.problem(f"{ref!r} is an alias: write the library id {alias.id!r}", at=key)
    else:
        t.problem(f"unknown drug {ref!r} (the library has: {', '.join(sorted(library.drugs))})", at=key)


def _read_drug_lines(doc: Table, library: Library, cycle_days) -> list[DrugLine]:
    lines = []
    seen = set()
    for t in doc.tables("drugs", required=True):
        if not t.ok:
            continue
        t.allow("drug", "dose", "per", "days", "route", "infusion", "source", "diluent")
        did = t.text("drug")
        drug = library.drugs.get(did) if did else None
        if did and not drug:
            _unknown_drug(t, library, did)
        if did in seen:
            t.problem(f"{did} is listed twice: give one entry per drug", at="drug")
        seen.add(did)
        dose = t.dose("dose")
        per = t.get("per", str, True, 'whether the dose is per "day" or per "cycle"')
        if per is not None and per not in PER:
            t.problem(f"{per!r}: expected \"day\" or \"cycle\"", at="per")
            per = None
        days = _read_days(t, cycle_days)
        route = t.text("route")
        if drug and route and route not in drug.routes:
            t.problem(f"{route!r} is not a route for {did} (library: {', '.join(drug.routes)})", at="route")
        infusion = t.text("infusion", required=False)
        src = t.text("source")
        diluent = _read_diluent(t, library, drug)
        if drug and dose and per and days:
            _check_limits(t, drug, dose, per, len(days))
            if drug.ladder and dose.basis is Basis.FLAT and dose.amount not in drug.ladder:
                steps = ", ".join(f"{s:g} mg" for s in drug.ladder)
                t.problem(f"{dose.text!r} is not a step of {did}'s ladder ({steps})", at="dose")
        if did and drug and dose and per and days and route and src:
            lines.append(DrugLine(did, dose, per, days, route, infusion, src, diluent))
    return lines


def _read_diluent(t: Table, library: Library, drug) -> str | None:
    """A ``[[drugs]] diluent``: a diluent of the library the drug may be made up in."""
    if "diluent" not in t.data:
        return None
    from .preparation import PreparationError, check_diluent, diluent_id

    raw = t.text("diluent")
    found = diluent_id(library, raw) if raw else None
    if raw and found is None:
        t.problem(f"unknown diluent {raw!r} (the library has: {', '.join(library.diluents)})", at="diluent")
    elif found and drug is not None:
        if drug.administration is None or drug.administration.container == "oral":
            t.problem(f"{drug.id} is not made up in a diluent", at="diluent")
            return None
        try:
            check_diluent(drug, drug.administration, found, library)
        except PreparationError as exc:
            t.problem(exc.message, at="diluent")
            return None
    return found


def _read_derived(doc: Table, library: Library, lines: list[DrugLine], named: set) -> list[Derived]:
    derived = []
    by_id = {line.drug: line for line in lines}
    for t in doc.tables("derived"):
        if not t.ok:
            continue
        t.allow("drug", "from", "fraction", "route", "infusion", "source", "schedule")
        did = t.text("drug")
        drug = library.drugs.get(did) if did else None
        if did and not drug:
            _unknown_drug(t, library, did)
        if did in by_id or any(d.drug == did for d in derived):
            t.problem(f"{did} is listed twice", at="drug")
        parent_id = t.text("from")
        parent = by_id.get(parent_id)
        if parent_id and parent_id not in named:
            t.problem(f"{parent_id!r} is not a drug of this regimen", at="from")
        fraction = t.fraction("fraction", high=2.0)
        if fraction == 0:
            t.problem("a derived dose of 0 % is no dose", at="fraction")
        elif fraction and drug and drug.derived_fraction:
            span = drug.derived_fraction
            if not span.low * (1 - 1e-9) <= fraction <= span.high * (1 + 1e-9):
                t.problem(f"{t.data['fraction']!r} is outside the plausible {span.low * 100:g}-{span.high * 100:g} % "
                          f"for {did} ({span.source})", at="fraction")
        route = t.text("route")
        if drug and route and route not in drug.routes:
            t.problem(f"{route!r} is not a route for {did} (library: {', '.join(drug.routes)})", at="route")
        src = t.text("source")
        if drug and parent and fraction:
            dose = Dose(parent.dose.amount * fraction, parent.dose.basis, f"{fraction * 100:g} % of {parent.dose.text}")
            _check_limits(t, drug, dose, parent.per, len(parent.days), key="fraction")
        from .supportive import read_schedule

        schedule = read_schedule(t)
        if drug and parent and fraction and route and src:
            derived.append(Derived(did, parent_id, fraction, parent.days, route, t.data.get("infusion"), src, schedule))
    return derived


def read_bound(t: Table, key: str, analyte, value=None) -> Bound | None:
    """A lab value as written in a threshold or band: ``"9.0 g/dL"`` or ``"1.5 × ULN"``."""
    raw = value if value is not None else t.get(key, str, True, 'a value with its unit (e.g. "9.0 g/dL") or a multiple of ULN ("1.5 × ULN")')
    if raw is None:
        return None
    uln = _ULN.match(raw)
    if uln:
        multiple = float(uln.group(1))
        if not 0 < multiple <= 100:
            t.problem(f"{raw!r}: a multiple of ULN must be more than 0", at=key)
            return None
        return Bound(raw, None, multiple)
    q = t.quantity(key, None, value=raw)
    if q is None or analyte is None:
        return None
    if analyte.is_ambiguous(q):
        t.problem(f"{raw!r} is {analyte.ambiguous_message}", at=key)
        return None
    if not analyte.accepts(q):
        t.problem(f"{raw!r} does not fit {analyte.id} (expected a value like {analyte.unit})", at=key)
        return None
    try:
        value = analyte.value_in(q, analyte.unit)
    except ValueError:  # a de-indexed eGFR in mL/min: a lab may be recorded so, a threshold may not
        t.problem(f"{raw!r}: a threshold for {analyte.id} is written in {analyte.unit}; a value in "
                  f"{analyte.deindexed_unit} would need each patient's BSA", at=key)
        return None
    low, high = (analyte.value_in(b, analyte.unit) for b in analyte.plausible)
    if not low <= value <= high:
        t.problem(f"{raw!r} is outside what {analyte.name} can be ({low:g}-{high:g} {analyte.unit})", at=key)
        return None
    return Bound(raw, q, None)


def _read_thresholds(doc: Table, library: Library) -> list[Threshold]:
    thresholds = []
    for t in doc.tables("thresholds"):
        if not t.ok:
            continue
        t.allow("analyte", "op", "value", "max_age", "source", "kind", "action", "each_day")
        aid = t.text("analyte")
        analyte = library.analytes.get(aid) if aid else None
        if aid and not analyte:
            alias = library.analyte(aid)
            hint = f"write {alias.id!r}" if alias else f"known: {', '.join(sorted(library.analytes))}"
            t.problem(f"unknown analyte {aid!r} ({hint})", at="analyte")
        op = t.text("op")
        if op and op not in OPERATORS:
            t.problem(f"{op!r} is not an operator (>, >=, ≥, <, <=, ≤)", at="op")
            op = None
        bound = read_bound(t, "value", analyte)
        age = t.quantity("max_age", "day")
        if age is not None and in_unit(age, "day") <= 0:
            t.problem("must be more than 0 days", at="max_age")
            age = None
        src = t.text("source")
        kind = t.get("kind", str, True, '"eligibility" (checked before cycle 1) or "retreatment" (before every cycle)')
        if kind is not None and kind not in GATE_KINDS:
            t.problem(f'{kind!r}: expected "eligibility" or "retreatment"', at="kind")
            kind = None
        action = t.text("action", required=kind == "retreatment")
        if action is not None and kind == "eligibility":
            t.problem("an eligibility gate has no action (it is checked once, before cycle 1)", at="action")
        each_day = t.data.get("each_day", False)
        if not isinstance(each_day, bool):
            t.problem(f"expected true or false, got {each_day!r}", at="each_day")
            each_day = None
        elif each_day and kind == "eligibility":
            t.problem("each_day applies to a retreatment gate only", at="each_day")
        if analyte and op and bound and age is not None and src and kind and each_day is not None:
            thresholds.append(Threshold(aid, OPERATORS[op], op, bound, in_unit(age, "day"), src, kind, action,
                                        each_day))
    return thresholds


def _read_modifications(doc: Table, library: Library, lines: list[DrugLine], named: set) -> list[Modification]:
    modifications = []
    regimen_drugs = {line.drug for line in lines}
    for t in doc.tables("modifications"):
        if not t.ok:
            continue
        t.allow("drug", "analyte", "from", "above", "to", "below", "give", "source")
        did = t.text("drug")
        if did and did not in named:
            t.problem(f"{did!r} is not a drug of this regimen", at="drug")
        aid = t.text("analyte")
        analyte = library.analytes.get(aid) if aid else None
        if aid and not analyte:
            t.problem(f"unknown analyte {aid!r}", at="analyte")
        if "from" in t.data and "above" in t.data:
            t.problem("give either 'from' (≥) or 'above' (>), not both", at="above")
        if "to" in t.data and "below" in t.data:
            t.problem("give either 'to' (≤) or 'below' (<), not both", at="below")
        low_key = "from" if "from" in t.data else "above" if "above" in t.data else None
        high_key = "to" if "to" in t.data else "below" if "below" in t.data else None
        if not low_key and not high_key:
            t.problem("a band needs a lower ('from'/'above') or upper ('to'/'below') bound", at="")
        low = read_bound(t, low_key, analyte) if low_key else None
        high = read_bound(t, high_key, analyte) if high_key else None
        give = t.fraction("give")
        src = t.text("source")
        if low and high and not _band_is_open(t, analyte, low, high, low_key == "from" and high_key == "to"):
            continue
        if did in regimen_drugs and analyte and (low or high) and give is not None and src:
            if (low_key is None or low) and (high_key is None or high):
                modifications.append(Modification(did, aid, low, low_key == "from", high, high_key == "to", give, src))
    return modifications


def _band_is_open(t: Table, analyte, low: Bound, high: Bound, closed: bool) -> bool:
    """A band's lower bound lies below its upper one, both on the same scale (ULN or absolute)."""
    if (low.uln_multiple is None) != (high.uln_multiple is None):
        t.problem(f"the band mixes a multiple of ULN ({low.text if low.uln_multiple else high.text}) with an "
                  "absolute value: write both bounds the same way", at="")
        return False
    if low.uln_multiple is not None:
        a, b = low.uln_multiple, high.uln_multiple
    else:
        a, b = analyte.value_in(low.quantity, analyte.unit), analyte.value_in(high.quantity, analyte.unit)
    if a > b or (a == b and not closed):
        t.problem(f"the band from {low.text} to {high.text} is empty: no value can fall in it", at="")
        return False
    return True


def _read_cumulative(doc: Table, library: Library, lines: list[DrugLine]) -> Cumulative | None:
    t = doc.table("cumulative")
    if not (t and t.ok):
        return None
    t.allow("model", "cap", "warn_at", "source")
    model = t.text("model")
    if model and model not in library.models:
        t.problem(f"unknown equivalence model {model!r} (the library has: {', '.join(library.models)})", at="model")
        model = None
    cap = t.quantity("cap", "mg/m**2")
    warn = t.quantity("warn_at", "mg/m**2")
    src = t.text("source")
    if cap is not None and warn is not None and in_unit(warn, "mg/m**2") >= in_unit(cap, "mg/m**2"):
        t.problem("the warning must come before the cap", at="warn_at")
        return None
    if model:
        for line in lines:
            drug = library.drugs[line.drug]
            if drug.is_anthracycline and model not in drug.equivalence:
                t.problem(f"model {model!r} has no doxorubicin-equivalence factor for {line.drug}", at="model")
                return None
    if model and cap is not None and warn is not None and src:
        return Cumulative(model, in_unit(cap, "mg/m**2"), in_unit(warn, "mg/m**2"), src)
    return None


# ------------------------------------------------------------------ finding and loading

def regimen_path(ref: str) -> Path:
    """A regimen id (``doxorubicin-ifosfamide``) or a path to a file."""
    path = Path(ref)
    if path.suffix == ".toml" or path.exists() or "/" in ref:
        return path
    candidate = regimens_dir() / f"{ref}.toml"
    if candidate.exists():
        return candidate
    known = ", ".join(available_regimens())
    raise RegimenError(f"no regimen {ref!r} (known: {known}); give an id or a path to a .toml file", field="regimen")


def available_regimens() -> list[str]:
    return sorted(p.stem for p in regimens_dir().glob("*.toml"))


_CHECKED: dict = {}  # content key (chemo.cache.key: the file's path and bytes, the code, the library's key) -> Regimen
_KEEP = 64  # regimens kept in this process (a few files, each in a version or two)


def load_regimen(ref, library: Library | None = None) -> Regimen:
    """A valid regimen by id or path; a RegimenError naming the file and field otherwise.

    Given the library it is checked against, a regimen is kept under its content key: the
    file's path and bytes, the code that checks it and the key of that library's files.  A
    regimen with a key already checked is not checked again, in this process (``_CHECKED``,
    which ``chemo verify``, the plans and the TUI share) or an earlier one (the on-disk cache,
    :mod:`chemo.cache`); a changed byte of either is checked afresh.  Without a library (it
    is loaded only if the file can be read) the file is always read and checked."""
    path = ref if isinstance(ref, Path) else regimen_path(str(ref))
    key, sha256 = _cache_key(path, library)
    if key is None:
        return _read_regimen(path, library)
    regimen = _CHECKED.get(key)
    if regimen is not None:
        return regimen
    from . import cache

    regimen = cache.load("regimen", key)
    if not isinstance(regimen, Regimen):
        regimen = _read_regimen(path, library)
        if regimen.sha256 != sha256:  # changed between the key and the reading: kept nowhere
            return regimen
        cache.store("regimen", key, regimen)
    if len(_CHECKED) >= _KEEP:
        _CHECKED.clear()
    _CHECKED[key] = regimen
    return regimen


def _cache_key(path, library: Library | None) -> tuple:
    """(content key, SHA-256 of the bytes it was made from) of the regimen at ``path`` checked against
    ``library``; (None, None) when it has none (no library given, a library not read from files the
    cache knows, not a regular file, too large)."""
    if library is None or library.key is None:
        return None, None
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_FILE_BYTES:  # a pipe is read once, by read_toml
            return None, None
        from . import cache

        sha256 = cache.file_sha256(path)
    except (OSError, ValueError):
        return None, None
    return cache.key_of("regimen", [(path, sha256)], extra=library.key), sha256


def regimen_from_bytes(data: bytes, name: str, library: Library | None = None) -> Regimen:
    """A valid regimen from a file's bytes (a git revision's of it, or a copy kept in the record), named
    ``name`` in its errors; a RegimenError otherwise.  Not cached: its ``path`` is ``name``."""
    return _checked(parse_toml(data, name), library)


def _read_regimen(path, library: Library | None) -> Regimen:
    return _checked(read_toml(path), library)


def _checked(source, library: Library | None) -> Regimen:
    path = source.path
    if source.document is not None and "library" in source.document:
        raise RegimenError("is a library file, not a regimen", file=str(path))
    regimen, problems = check_regimen(source, library)
    raise_problems(problems)
    if regimen is None:  # every None comes with a problem; this is a bug if reached
        raise RegimenError(f"{FILE}: could not be read", file=str(path))
    return regimen
