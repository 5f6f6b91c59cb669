"""The toxicity data files: CTCAE v5.0 terms (``ctcae.toml``) and the dose-modification rules
(``toxicity-rules.toml``), both in the library folder, read into checked values.

Every problem of either file is reported as ``FILE: FIELD.PATH: message`` (``chemo validate``);
a loader that needs them valid raises the first one.  Lab bounds are converted once, here, to the
analyte's canonical unit of the drug library (``analytes.toml``).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import attrs

from .datafile import Problem, Table, raise_problems, read_toml

KINDS = ("ctcae", "toxicity-rules")
OPS = ("<", "<=", ">", ">=")
ACTIONS = ("reduce", "hold", "stop")


@attrs.frozen
class Derivation:
    """One row of a term's grading by value: ``analyte op value``, ``op uln × ULN``, or a ``drop`` from baseline."""

    grade: int
    analyte: str
    unit: str  # the analyte's canonical unit: value and drop are in it
    op: str | None = None
    value: float | None = None
    uln: float | None = None
    drop: float | None = None
    text: str = ""  # the row as written: "< 1.5 ×10⁹/L"

    def holds(self, value: float, uln: float | None, baseline: float | None) -> bool:
        if self.drop is not None:
            return baseline is not None and baseline - value >= self.drop - 1e-9
        bound = self.value if self.uln is None else (None if uln is None else self.uln * uln)
        if bound is None:
            return False
        return {"<": value < bound, "<=": value <= bound, ">": value > bound, ">=": value >= bound}[self.op]


@attrs.frozen
class Term:
    id: str
    term: str  # CTCAE's own spelling
    soc: str
    grades: dict  # int -> CTCAE text
    source: str
    aliases: tuple = ()
    derive: tuple = ()  # Derivation

    def derived_grade(self, analyte: str, value: float, uln: float | None, baseline: float | None):
        """(grade, the rows that hold) of one result of ``analyte``, or (None, ()) when no row holds."""
        rows = tuple(d for d in self.derive if d.analyte == analyte and d.holds(value, uln, baseline))
        if not rows:
            return None, ()
        top = max(d.grade for d in rows)
        return top, tuple(d for d in rows if d.grade == top)


@attrs.frozen
class Ctcae:
    version: str
    source: str
    terms: dict  # id -> Term
    file: str

    def term(self, ref: str) -> Term | None:
        key = str(ref).strip().lower().replace("_", "-")
        spaced = key.replace("-", " ")
        for t in self.terms.values():
            if key == t.id or spaced == t.term.lower() or key in t.aliases or spaced in t.aliases:
                return t
        return None


@attrs.frozen
class Rule:
    id: str
    drugs: tuple
    regimens: tuple  # empty: every regimen that gives one of the drugs
    action: str
    text: str
    source: str
    term: str | None = None
    grade: int | None = None
    analyte: str | None = None
    below: float | None = None
    drop: float | None = None
    unit: str | None = None
    levels: int = 0
    until_grade: int | None = None

    def applies(self, regimen_id: str, drug: str) -> bool:
        return drug in self.drugs and (not self.regimens or regimen_id in self.regimens)


@attrs.frozen
class RdiTarget:
    """The relative dose intensity below which a drug is flagged (``[rdi]`` of the rules file)."""

    pct: float
    source: str


@attrs.frozen
class Rules:
    rules: tuple
    source: str
    file: str
    rdi_target: RdiTarget


def library_folder() -> Path:
    from .library import library_dir

    return library_dir()


def _analyte(t: Table, key: str, library):
    name = t.text(key)
    if name is None:
        return None
    analyte = library.analyte(name)
    if analyte is None:
        t.problem(f"{name!r} is not an analyte of the drug library (known: {', '.join(sorted(library.analytes))})",
                  at=key)
    return analyte


def _bound(t: Table, key: str, analyte, required: bool = True):
    q = t.quantity(key, None, required)  # the unit is checked against the analyte's, with its conversions
    if q is None:
        return None
    try:
        return analyte.value_in(q, analyte.unit)
    except ValueError as exc:
        t.problem(f"{t.data[key]!r} is not a value of {analyte.id} (in {analyte.unit})", at=key)
        return None


def read_ctcae(doc: Table, library) -> Ctcae | None:
    doc.allow("library", "version", "source", "terms")
    version, source = doc.text("version"), doc.text("source")
    terms_table = doc.table("terms")
    terms = {}
    if terms_table is not None:
        for tid in terms_table.data:
            t = terms_table.table(tid)
            t.allow("term", "soc", "grades", "source", "aliases", "derive")
            name, soc, src = t.text("term"), t.text("soc"), t.text("source")
            grades_t = t.table("grades")
            grades = {}
            if grades_t is not None:
                for key in grades_t.data:
                    if not str(key).isdigit() or not 1 <= int(key) <= 5:
                        grades_t.problem("a CTCAE grade is a whole number 1-5", at=str(key))
                        continue
                    text = grades_t.text(str(key))
                    if text is not None:
                        grades[int(key)] = text
            derive = []
            for d in t.tables("derive"):
                d.allow("grade", "analyte", "op", "value", "uln", "drop")
                grade = d.integer("grade", 1, 5)
                analyte = _analyte(d, "analyte", library)
                if grade is not None and grade not in grades:
                    d.problem(f"grade {grade} is not defined for this term", at="grade")
                if analyte is None or grade is None:
                    continue
                if "drop" in d.data:
                    drop = _bound(d, "drop", analyte)
                    if drop is not None:
                        derive.append(Derivation(grade, analyte.id, analyte.unit, drop=drop,
                                                 text=f"fallen by {d.data['drop']} or more from baseline"))
                    continue
                op = d.text("op", choices=OPS)
                if ("value" in d.data) == ("uln" in d.data):
                    d.problem("give either value (with its unit) or uln (a multiple of the ULN), not both", at="")
                    continue
                if "uln" in d.data:
                    uln = d.number("uln", 0.01, 100)
                    if op is not None and uln is not None:
                        derive.append(Derivation(grade, analyte.id, analyte.unit, op=op, uln=uln,
                                                 text=f"{op} {uln:g} × ULN"))
                else:
                    value = _bound(d, "value", analyte)
                    if op is not None and value is not None:
                        derive.append(Derivation(grade, analyte.id, analyte.unit, op=op, value=value,
                                                 text=f"{op} {d.data['value']}"))
            if name and soc and src and grades:
                terms[str(tid)] = Term(str(tid), name, soc, grades, src, tuple(a.lower() for a in t.texts("aliases")),
                                       tuple(derive))
    if version is None or source is None:
        return None
    return Ctcae(version, source, terms, doc.file)


def read_rules(doc: Table, library, ctcae: Ctcae | None) -> Rules | None:
    doc.allow("library", "source", "rules", "rdi")
    source = doc.text("source")
    target = None
    rdi = doc.table("rdi")
    if rdi is not None:
        rdi.allow("target", "source")
        pct, target_source = rdi.fraction("target"), rdi.text("source")
        if pct is not None and target_source is not None:
            target = RdiTarget(pct * 100, target_source)
    rules, seen = [], set()
    for r in doc.tables("rules", required=True):
        r.allow("id", "drugs", "regimens", "term", "grade", "analyte", "below", "drop", "action", "levels",
                "until_grade", "text", "source")
        rid, action, text, src = r.text("id"), r.text("action", choices=ACTIONS), r.text("text"), r.text("source")
        if rid in seen:
            r.problem(f"{rid!r} is used by another rule", at="id")
        seen.add(rid)
        drugs = r.texts("drugs", required=True)
        for i, d in enumerate(drugs):
            if d not in library.drugs:
                r.problem(f"{d!r} is not a drug of the drug library", at=f"drugs[{i + 1}]")
        regimens = r.texts("regimens")
        term = grade = analyte = below = drop = unit = None
        if ("term" in r.data) == ("analyte" in r.data):
            r.problem("give a CTCAE term (with grade) or a lab analyte (with below and/or drop)", at="")
        elif "term" in r.data:
            term = r.text("term")
            grade = r.integer("grade", 0, 5)
            t = ctcae.term(term) if (ctcae and term) else None
            if term and ctcae and t is None:
                r.problem(f"{term!r} is not a term of {Path(ctcae.file).name}", at="term")
            elif t is not None:
                term = t.id
        else:
            a = _analyte(r, "analyte", library)
            if a is not None:
                analyte, unit = a.id, a.unit
                below = _bound(r, "below", a, required=False)
                drop = _bound(r, "drop", a, required=False)
                if below is None and drop is None:
                    r.problem("give below and/or drop with their unit", at="")
        levels = r.integer("levels", 0, 5, required=action in ("reduce", "hold")) or 0
        until = r.integer("until_grade", 0, 4, required=action == "hold")
        if action == "reduce" and levels == 0:
            r.problem("a reduction lowers at least one level", at="levels")
        if None in (rid, action, text, src) or not drugs:
            continue
        rules.append(Rule(rid, tuple(drugs), tuple(regimens), action, text, src, term=term, grade=grade,
                          analyte=analyte, below=below, drop=drop, unit=unit, levels=levels, until_grade=until))
    if source is None or target is None:
        return None
    return Rules(tuple(rules), source, doc.file, target)


def check_file(source, kind: str) -> list[Problem]:
    """Every problem of one of the two files (for ``chemo validate``)."""
    from .errors import ChemoError
    from .library import load_library

    problems = list(source.problems)
    if source.document is None:
        return problems
    try:
        library = load_library()
    except ChemoError:
        return problems + [Problem(source.path, "(file)", "cannot be checked: the drug library does not validate")]
    table = Table(source.document, "", problems, source.path)
    if kind == "ctcae":
        read_ctcae(table, library)
    else:
        ctcae_problems: list[Problem] = []
        ctcae_source = read_toml(Path(source.path).parent / "ctcae.toml")
        ctcae = None
        if ctcae_source.document is not None:
            ctcae = read_ctcae(Table(ctcae_source.document, "", ctcae_problems, ctcae_source.path), library)
        read_rules(table, library, ctcae)
    return problems


@functools.lru_cache(maxsize=4)
def _load(folder: str):
    from .library import load_library

    library = load_library()
    problems: list[Problem] = []
    docs = {}
    for kind in KINDS:
        src = read_toml(Path(folder) / f"{kind}.toml")
        problems += src.problems
        docs[kind] = src
    raise_problems(problems)
    ctcae = read_ctcae(Table(docs["ctcae"].document, "", problems, docs["ctcae"].path), library)
    rules = read_rules(Table(docs["toxicity-rules"].document, "", problems, docs["toxicity-rules"].path), library,
                       ctcae)
    raise_problems(problems)
    return ctcae, rules


def load(folder: str | os.PathLike | None = None) -> tuple[Ctcae, Rules]:
    """(CTCAE terms, modification rules) of the library folder; RegimenError naming file and field if invalid."""
    return _load(str(library_folder() if folder is None else folder))
