"""The clinical difference between two versions of a regimen.

Two parsed :class:`chemo.regimen.Regimen` objects are compared, never their text: a
changed comment, a reordered table or a dose rewritten in other units of the same
amount ("0.075 g/m²" for "75 mg/m²") is no change.  Every change names what a
pharmacist would call it (``doxorubicin``, ``ANC retreatment gate``, ``mesna``), the
field, the old and new values as the file writes them, the change in per cent where
a dose, threshold or cap moved on the same basis, and the source of the old and the
new entry.

A change is *clinical* when it changes what is given, when, to whom or under which
gate: a dose, basis, per, days, route, infusion, diluent, a derived fraction or
schedule, a supportive line, a gate, a band, the cumulative cap, the BSA cap, the
number or length of cycles, the early window, the emetogenic class, an added or
removed entry, or the regimen's retirement.  A changed ``source``, name, indication,
``day_split`` text, note, supportive ``note``, retirement reason or replacement, or
``version`` alone is listed but is not clinical.
"""

from __future__ import annotations

import attrs
import pint

from .regimen import Regimen, per_words, version_words
from .units import Dose, display_text

PER_SUFFIXES = (" per cycle", " a day")
SECTIONS = ("regimen", "drug", "derived", "supportive", "gate", "band", "cumulative", "note")


@attrs.frozen
class Change:
    """One difference between two versions of a regimen."""

    section: str = attrs.field(validator=attrs.validators.in_(SECTIONS))
    item: str  # as a pharmacist names it: "doxorubicin", "ANC retreatment gate", "ondansetron day 1"
    field: str  # "dose", "basis", "per", "days", "threshold", "cap", "added", "removed", ...
    old: str | None
    new: str | None
    change_pct: float | None  # a dose, threshold or cap moved on the same basis: per cent of the old value
    old_source: str | None  # the `source` of the old entry (None: the entry is new)
    new_source: str | None  # the `source` of the new entry (None: the entry was removed)
    clinical: bool

    def as_json(self) -> dict:
        return {"section": self.section, "item": self.item, "field": self.field, "old": self.old, "new": self.new,
                "change_pct": self.change_pct, "old_source": self.old_source, "new_source": self.new_source,
                "clinical": self.clinical}

    def line(self) -> str:
        """``doxorubicin: dose 75 mg/m² → 60 mg/m² per cycle (−20 %)``."""
        flag = "" if self.clinical else " [not clinical]"
        if self.field == "added":
            return f"{self.item}: added: {self.new}{flag}"
        if self.field == "removed":
            return f"{self.item}: removed: {self.old}{flag}"
        if self.field == "source":  # both are printed under the line
            return f"{self.item}: source changed{flag}"
        pct = f" ({pct_text(self.change_pct)})" if self.change_pct is not None else ""
        if self.field == "days":
            pct = f" ({_days_moved(self.old, self.new)})"
        old, new, per = _shown(self.old), _shown(self.new), ""
        for suffix in PER_SUFFIXES:  # "75 mg/m² → 60 mg/m² per cycle": a per both share is written once
            if old.endswith(suffix) and new.endswith(suffix):
                old, new, per = old[:-len(suffix)], new[:-len(suffix)], suffix
        if pct and not per and old.endswith(PER_SUFFIXES) and new.endswith(PER_SUFFIXES):
            pct = pct[:-1] + " a cycle)"  # a per-day dose for a per-cycle one: the per cent of a cycle's total
        return f"{self.item}: {self.field} {old} → {new}{per}{pct}{flag}"


def _shown(value: str | None) -> str:
    return "(none)" if value is None else value


def pct_text(pct: float) -> str:
    """``−20 %``, ``+33.3 %``, ``±0 %`` (one decimal at most; a true minus sign)."""
    shown = f"{abs(round(pct, 1)):g}"
    if shown == "0":
        return "±0 %"
    return f"{'−' if pct < 0 else '+'}{shown} %"


@attrs.frozen
class RegimenDiff:
    old_id: str
    new_id: str
    old_version: str | None
    new_version: str | None
    old_sha256: str | None
    new_sha256: str | None
    changes: tuple  # Change
    old_path: str | None = None
    new_path: str | None = None

    @property
    def clinical(self) -> bool:
        return any(c.clinical for c in self.changes)

    def as_json(self) -> dict:
        return {
            "old": {"id": self.old_id, "version": self.old_version, "sha256": self.old_sha256, "path": self.old_path},
            "new": {"id": self.new_id, "version": self.new_version, "sha256": self.new_sha256, "path": self.new_path},
            "clinical": self.clinical,
            "changes": [c.as_json() for c in self.changes],
        }

    def lines(self) -> list[str]:
        def who(rid, version, sha):
            return version_words(rid, version, sha)

        out = [f"{who(self.old_id, self.old_version, self.old_sha256)} → "
               f"{who(self.new_id, self.new_version, self.new_sha256)}"]
        if not self.changes:
            out.append("no changes")
            return out
        clinical = sum(c.clinical for c in self.changes)
        out.append(f"{len(self.changes)} change{'s' * (len(self.changes) != 1)}, {clinical} clinical")
        for c in self.changes:
            out.append(c.line())
            out.append(f"  old source: {c.old_source if c.old_source is not None else '(none: not in the old version)'}")
            out.append(f"  new source: {c.new_source if c.new_source is not None else '(none: not in the new version)'}")
        return out


# ------------------------------------------------------------------ values as text, and their change in per cent

def _pct(old: float | None, new: float | None) -> float | None:
    if old is None or new is None or old == 0:
        return None
    return (new - old) / old * 100


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1e-12)


def _dose_text(dose: Dose | None) -> str | None:
    return None if dose is None else display_text(str(dose.text))


def _same_dose(a: Dose | None, b: Dose | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.basis is b.basis and _close(a.amount, b.amount)


def _dose_pct(a: Dose | None, b: Dose | None) -> float | None:
    """The change of a dose as per cent of the old one, on the same basis only."""
    if a is None or b is None or a.basis is not b.basis:
        return None
    return _pct(a.amount, b.amount)


def _days_list(days) -> str:
    """``1, 2, 3``: the days of a cycle a line is given on."""
    return ", ".join(map(str, sorted(days)))


def _days_moved(old: str, new: str) -> str:
    """``day 4 added; day 1 removed`` between two :func:`_days_list` texts."""
    def days(text):
        return {int(d) for d in text.split(", ")} if text and text != "(none)" else set()

    parts = []
    for what, moved in (("added", days(new) - days(old)), ("removed", days(old) - days(new))):
        if moved:
            parts.append(f"day{'s' * (len(moved) > 1)} {', '.join(map(str, sorted(moved)))} {what}")
    return "; ".join(parts)


def _fraction_text(fraction: float | None) -> str | None:
    return None if fraction is None else f"{fraction * 100:g} %"


def _mg_m2_text(value: float | None) -> str | None:
    return None if value is None else f"{value:g} mg/m²"


def _times_text(times) -> str:
    return ", ".join(t.text for t in times) if times else "(none)"


def _hours(times) -> list:
    """The times of a schedule in hours, however written ("30 min before" and "0.5 h before" are one)."""
    return [round(t.hours, 9) for t in times]


def _bound_key(bound) -> tuple | None:
    """A lab value comparable across the ways of writing it ("1.5 ×10⁹/L" and "1500 /µL" are one)."""
    if bound is None:
        return None
    if bound.uln_multiple is not None:
        return ("ULN", round(bound.uln_multiple, 9))
    base = bound.quantity.to_base_units()
    return (str(base.units), float(f"{base.magnitude:.9g}"))


def _bound_pct(a, b) -> float | None:
    if a is None or b is None:
        return None
    if a.uln_multiple is not None or b.uln_multiple is not None:
        if a.uln_multiple is not None and b.uln_multiple is not None:
            return _pct(a.uln_multiple, b.uln_multiple)
        return None
    try:
        return _pct(a.quantity.magnitude, b.quantity.to(a.quantity.units).magnitude)
    except (pint.DimensionalityError, ValueError):  # g/dL against mmol/L: no per cent without the analyte's factor
        return None


def _bound_text(bound) -> str | None:
    return None if bound is None else display_text(bound.text)


def _analyte_name(analyte: str) -> str:
    """``ANC`` for ``anc``: an analyte id of four letters or fewer is an abbreviation, written in capitals."""
    return analyte.upper() if len(analyte) <= 4 else analyte


def _gate_name(analyte: str, kind: str) -> str:
    return f"{_analyte_name(analyte)} {kind} gate"


# ------------------------------------------------------------------ one comparison per kind of entry

class _Changes:
    """Collects the changes of one pair of entries (or of the regimen itself)."""

    def __init__(self, section: str, item: str, old_source, new_source):
        self.section, self.item = section, item
        self.old_source, self.new_source = old_source, new_source
        self.out: list[Change] = []

    def add(self, field, old, new, *, clinical=True, pct=None, old_source=None, new_source=None):
        self.out.append(Change(self.section, self.item, field, old, new, pct,
                               self.old_source if old_source is None else old_source,
                               self.new_source if new_source is None else new_source, clinical))

    def compare(self, field, old, new, **kw):
        if old != new:
            self.add(field, old, new, **kw)


def _drug_changes(item: str, a, b) -> list[Change]:
    c = _Changes("drug", item, a.source, b.source)
    if a.dose.basis is not b.dose.basis:
        c.add("basis", a.dose.basis.label, b.dose.basis.label)
    if not _same_dose(a.dose, b.dose) or a.per != b.per:
        # "75 mg/m² per cycle": with its per; the per cent of the written dose, or of what a cycle gives
        # when one is per day and the other per cycle
        c.add("dose", f"{_dose_text(a.dose)} {per_words(a.per)}", f"{_dose_text(b.dose)} {per_words(b.per)}",
              pct=_dose_pct(a.dose, b.dose) if a.per == b.per else _dose_pct(a.per_cycle, b.per_cycle))
    c.compare("per", a.per, b.per)
    c.compare("days", _days_list(a.days), _days_list(b.days))
    if a.days != b.days and a.per == b.per and a.dose.basis is b.dose.basis:
        # the same written dose over other days: what one day (of a per-cycle dose) or a cycle (of a per-day
        # dose) gives changes with them
        if a.per == "cycle" and not _same_dose(a.daily, b.daily):
            c.add("daily dose", f"{a.daily} a day", f"{b.daily} a day", pct=_dose_pct(a.daily, b.daily))
        elif a.per == "day" and not _same_dose(a.per_cycle, b.per_cycle):
            c.add("cycle dose", f"{a.per_cycle} per cycle", f"{b.per_cycle} per cycle",
                  pct=_dose_pct(a.per_cycle, b.per_cycle))
    c.compare("route", a.route, b.route)
    c.compare("infusion", a.infusion, b.infusion)
    c.compare("diluent", a.diluent, b.diluent)
    c.compare("source", a.source, b.source, clinical=False)
    return c.out


def _derived_changes(item: str, a, b) -> list[Change]:
    c = _Changes("derived", item, a.source, b.source)
    c.compare("from", a.from_drug, b.from_drug)
    if not _close(a.fraction, b.fraction):
        c.add("fraction", _fraction_text(a.fraction), _fraction_text(b.fraction), pct=_pct(a.fraction, b.fraction))
    c.compare("days", _days_list(a.days), _days_list(b.days))
    c.compare("route", a.route, b.route)
    c.compare("infusion", a.infusion, b.infusion)
    if _hours(a.schedule) != _hours(b.schedule):  # "0 min" and "0 h" are one time
        c.add("schedule", _times_text(a.schedule), _times_text(b.schedule))
    c.compare("source", a.source, b.source, clinical=False)
    return c.out


def _supportive_changes(item: str, a, b) -> list[Change]:
    c = _Changes("supportive", item, a.source, b.source)
    c.compare("category", a.category, b.category)
    c.compare("drug", a.drug, b.drug)
    c.compare("fluid", a.fluid, b.fluid)
    if a.dose is not None and b.dose is not None and a.dose.basis is not b.dose.basis:
        c.add("basis", a.dose.basis.label, b.dose.basis.label)
    if not _same_dose(a.dose, b.dose):
        c.add("dose", _dose_text(a.dose), _dose_text(b.dose), pct=_dose_pct(a.dose, b.dose))
    c.compare("of", a.of, b.of)
    if not _close(a.ratio, b.ratio):
        c.add("ratio", a.ratio_text, b.ratio_text, pct=_pct(a.ratio, b.ratio))
    if not _close(a.volume_ml, b.volume_ml):
        c.add("volume", None if a.volume_ml is None else f"{a.volume_ml:g} mL",
              None if b.volume_ml is None else f"{b.volume_ml:g} mL", pct=_pct(a.volume_ml, b.volume_ml))
    if not _close(a.duration_h, b.duration_h):
        c.add("duration", None if a.duration_h is None else f"{a.duration_h:g} h",
              None if b.duration_h is None else f"{b.duration_h:g} h")
    c.compare("days", _days_list(a.days), _days_list(b.days))
    if _hours(a.at) != _hours(b.at):
        c.add("at", _times_text(a.at), _times_text(b.at))
    c.compare("route", a.route, b.route)
    c.compare("target", a.target, b.target)
    if not _close(a.when_cumulative, b.when_cumulative):
        c.add("when_cumulative", a.when_text, b.when_text, pct=_pct(a.when_cumulative, b.when_cumulative))
    c.compare("note", a.note, b.note, clinical=False)
    c.compare("source", a.source, b.source, clinical=False)
    return c.out


def _gate_changes(item: str, a, b) -> list[Change]:
    c = _Changes("gate", item, a.source, b.source)
    c.compare("kind", a.kind, b.kind)
    c.compare("op", a.op_text if a.op != b.op else None, b.op_text if a.op != b.op else None)
    if _bound_key(a.value) != _bound_key(b.value):
        c.add("threshold", _bound_text(a.value), _bound_text(b.value), pct=_bound_pct(a.value, b.value))
    if not _close(a.max_age_days, b.max_age_days):
        c.add("max_age", f"{a.max_age_days:g} days", f"{b.max_age_days:g} days")
    c.compare("action", a.action, b.action)
    c.compare("each_day", str(a.each_day).lower(), str(b.each_day).lower())
    c.compare("source", a.source, b.source, clinical=False)
    return c.out


def _band_changes(item: str, a, b) -> list[Change]:
    c = _Changes("band", item, a.source, b.source)
    if not _close(a.give, b.give):
        c.add("give", _give_value(a.give), _give_value(b.give), pct=_pct(a.give, b.give))
    c.compare("source", a.source, b.source, clinical=False)
    return c.out


def _give_value(give: float) -> str:
    return f"{give * 100:g} %" + (" (do not give)" if give == 0 else "")


def _note_changes(item: str, a, b) -> list[Change]:
    c = _Changes("note", item, a.source, b.source)
    c.compare("text", a.text, b.text, clinical=False)
    c.compare("source", a.source, b.source, clinical=False)
    return c.out


# ------------------------------------------------------------------ pairing the entries of two versions

def _pair(olds, news, key, compare):
    """Pairs of (old, new) entries with the same ``key``; then the removed and the added ones.

    Within a key (two hydration lines of one fluid, two platelet retreatment gates) entries
    with no clinical difference pair first, then those with the fewest changes, in file order:
    a regimen compared with itself pairs every entry with itself."""
    groups: dict = {}
    for o in olds:
        groups.setdefault(key(o), ([], []))[0].append(o)
    for n in news:
        groups.setdefault(key(n), ([], []))[1].append(n)
    pairs, removed, added = [], [], []
    for k, (os_, ns) in groups.items():
        os_, ns = list(os_), list(ns)
        scored = sorted(
            ((any(ch.clinical for ch in compare("", o, n)), len(compare("", o, n)), i, j)
             for i, o in enumerate(os_) for j, n in enumerate(ns)))
        used_o, used_n = set(), set()
        for _, _, i, j in scored:
            if i not in used_o and j not in used_n:
                used_o.add(i)
                used_n.add(j)
                pairs.append((os_[i], ns[j]))
        removed += [o for i, o in enumerate(os_) if i not in used_o]
        added += [n for j, n in enumerate(ns) if j not in used_n]
    return pairs, removed, added


def _entries(section, olds, news, key, compare, name, describe, source=lambda x: x.source):
    """Every change of one kind of entry: paired ones compared, the rest added or removed."""
    pairs, removed, added = _pair(olds, news, key, compare)
    clinical = section != "note"
    out = []
    for o, n in pairs:
        out += compare(name(o, olds, news), o, n)
    for o in removed:
        out.append(Change(section, name(o, olds, news), "removed", describe(o), None, None, source(o), None, clinical))
    for n in added:
        out.append(Change(section, name(n, olds, news), "added", None, describe(n), None, None, source(n), clinical))
    return out


def _supportive_name(line, olds, news) -> str:
    """``ondansetron``; ``nacl-09 day 4`` where one drug or fluid has more than one line in a version."""
    what = line.drug or line.fluid
    if any(sum((s.drug or s.fluid) == what for s in version) > 1 for version in (olds, news)):
        return f"{what} day {min(line.days)}"
    return what


def _gate_item(gate, olds, news) -> str:
    """``ANC retreatment gate``; ``platelets retreatment gate (each day)`` beside a day-1 one."""
    name = _gate_name(gate.analyte, gate.kind)
    same = [g for g in (*olds, *news) if (g.analyte, g.kind) == (gate.analyte, gate.kind)]
    if any(g.each_day != gate.each_day for g in same):
        name += " (each day)" if gate.each_day else " (day 1)"
    return name


def _band_item(band, olds=(), news=()) -> str:
    return f"{band.drug} {_analyte_name(band.analyte)} band {band.range_text()}"


def _gates(old: Regimen, new: Regimen) -> list[Change]:
    """Gates pair by analyte and kind; a gate whose kind changed pairs by analyte alone."""
    pairs, removed, added = _pair(old.thresholds, new.thresholds, lambda g: (g.analyte, g.kind), _gate_changes)
    moved, removed, added = _pair(removed, added, lambda g: g.analyte, _gate_changes)
    olds, news = old.thresholds, new.thresholds
    out = []
    for o, n in pairs:
        out += _gate_changes(_gate_item(o, olds, news), o, n)
    for o, n in moved:
        out += _gate_changes(f"{_analyte_name(o.analyte)} gate", o, n)
    for o in removed:
        out.append(Change("gate", _gate_item(o, olds, news), "removed", _gate_text(o), None, None, o.source, None, True))
    for n in added:
        out.append(Change("gate", _gate_item(n, olds, news), "added", None, _gate_text(n), None, None, n.source, True))
    return out


def _gate_text(g) -> str:
    age = f", within {g.max_age_days:g} days"
    action = f"; if not met: {g.action}" if g.action else ""
    return f"{g.describe()}{age}{' each day' if g.each_day else ''}{action}"


def _regimen_changes(old: Regimen, new: Regimen) -> list[Change]:
    c = _Changes("regimen", "regimen", old.source, new.source)
    c.compare("id", old.id, new.id, clinical=False)
    c.compare("version", old.version, new.version, clinical=False)
    c.compare("name", old.name, new.name, clinical=False)
    c.compare("indication", old.indication, new.indication, clinical=False)
    c.compare("source", old.source, new.source, clinical=False)
    c.compare("cycles", str(old.cycles), str(new.cycles))
    c.compare("cycle_length", f"{old.cycle_length_days} days", f"{new.cycle_length_days} days")
    c.compare("early_window", f"{old.early_window_days} days", f"{new.early_window_days} days",
              old_source=old.early_window_source, new_source=new.early_window_source)
    c.compare("early_window_source", old.early_window_source, new.early_window_source, clinical=False,
              old_source=old.early_window_source, new_source=new.early_window_source)
    if not _close(old.bsa_cap, new.bsa_cap):
        c.add("bsa_cap", None if old.bsa_cap is None else f"{old.bsa_cap:g} m²",
              None if new.bsa_cap is None else f"{new.bsa_cap:g} m²", pct=_pct(old.bsa_cap, new.bsa_cap),
              old_source=old.bsa_cap_source or old.source, new_source=new.bsa_cap_source or new.source)
    c.compare("bsa_cap_source", old.bsa_cap_source, new.bsa_cap_source, clinical=False)
    c.compare("emetogenic_class", old.emetogenic_class, new.emetogenic_class)
    c.compare("day_split", old.day_split, new.day_split, clinical=False)
    a, b = old.retired, new.retired
    if (a is None) != (b is None):
        c.add("retired", _retired_text(a), _retired_text(b))  # a retired regimen starts no new plan
    elif a is not None:
        c.compare("retired date", a.date.isoformat(), b.date.isoformat())
        c.compare("retired reason", a.reason, b.reason, clinical=False)
        c.compare("replaced_by", a.replaced_by, b.replaced_by, clinical=False)
    return c.out


def _retired_text(retired) -> str | None:
    if retired is None:
        return None
    by = f"; replaced by {retired.replaced_by}" if retired.replaced_by else ""
    return f"since {retired.date.isoformat()}: {retired.reason}{by}"


def _cumulative_changes(old: Regimen, new: Regimen) -> list[Change]:
    a, b = old.cumulative, new.cumulative
    c = _Changes("cumulative", "cumulative dose", a.source, b.source)
    c.compare("model", a.model, b.model)
    if not _close(a.cap, b.cap):
        c.add("cap", _mg_m2_text(a.cap), _mg_m2_text(b.cap), pct=_pct(a.cap, b.cap))
    if not _close(a.warn_at, b.warn_at):
        c.add("warn_at", _mg_m2_text(a.warn_at), _mg_m2_text(b.warn_at), pct=_pct(a.warn_at, b.warn_at))
    c.compare("source", a.source, b.source, clinical=False)
    return c.out


def diff_regimens(old: Regimen, new: Regimen) -> RegimenDiff:
    """Every difference between two parsed regimens, in the order a pharmacist reads a file."""
    changes = _regimen_changes(old, new)
    changes += _entries("drug", old.drugs, new.drugs, lambda d: d.drug, _drug_changes,
                        lambda d, *_: d.drug, lambda d: f"{d.drug} {d.describe()} {d.route}")
    changes += _entries("derived", old.derived, new.derived, lambda d: d.drug, _derived_changes,
                        lambda d, *_: d.drug,
                        lambda d: f"{d.drug} {_fraction_text(d.fraction)} of {d.from_drug} {d.route}")
    changes += _entries("supportive", old.supportive, new.supportive, lambda s: (s.category, s.drug or s.fluid),
                        _supportive_changes, _supportive_name, lambda s: s.describe())
    changes += _gates(old, new)
    changes += _entries("band", old.modifications, new.modifications,
                        lambda m: (m.drug, m.analyte, _bound_key(m.low), m.low_inclusive, _bound_key(m.high),
                                   m.high_inclusive),
                        _band_changes, _band_item, lambda m: m.action_text())
    changes += _cumulative_changes(old, new)
    changes += _entries("note", old.notes, new.notes, lambda n: n.text, _note_changes,
                        lambda n, *_: "note", lambda n: n.text)
    return RegimenDiff(old.id, new.id, old.version, new.version, old.sha256, new.sha256, tuple(changes),
                       old_path=str(old.path), new_path=str(new.path))
