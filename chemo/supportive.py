"""Supportive care lines of a regimen: antiemetics, hydration, uroprotection, growth factor,
cardioprotection, premedication (``[[supportive]]``, documented in ``docs/regimen-format.md``).

Each line names a drug of the library (or, for hydration, a fluid), a dose (flat, per m², per
kg, or a ratio of a cytotoxic line's dose), the days and the times on each day relative to the
start of that day's treatment (``"30 min before"``, ``"0 h"``, ``"4 h after"``), a route and,
where one applies, a condition (dexrazoxane from a cumulative doxorubicin-equivalent dose).
:func:`read_supportive` reads and checks them; the regimen-wide checks live here too:

* the emetogenic class the file states is the one derived from its drugs (library), and the
  antiemetic lines hold every drug class the library's ``[emetogenic]`` table asks for, on
  every day a cytotoxic is infused;
* a supportive drug that interacts with a drug of the regimen (aprepitant with ifosfamide) is
  refused with the effect and its source;
* a growth factor comes at least the library's ``after_chemotherapy`` after the end of the last
  infused cytotoxic (its day, plus the drug's infusion duration);
* mesna's schedule (``[[derived]] schedule``) splits the stated fraction into equal doses.

The doses are calculated, rounded and checked by :func:`chemo.dose.calculate_cycle`, the one dose path.
"""

from __future__ import annotations

import re

import attrs

from .datafile import Table
from .units import Dose, in_unit, parse_quantity

CATEGORIES = ("antiemetic", "hydration", "uroprotection", "growth factor", "cardioprotection", "premedication")
_AT = re.compile(r"^\s*(.+?)\s*(before|after)?\s*$")
_RATIO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*:\s*1\s*$")


@attrs.frozen
class Timing:
    """A time on a day of the cycle, in hours from the start of that day's treatment (negative: before)."""

    hours: float
    text: str

    def absolute_h(self, day: int) -> float:
        return (day - 1) * 24 + self.hours


@attrs.frozen
class SupportiveLine:
    category: str
    drug: str | None  # a library drug id; None for hydration (a fluid)
    dose: Dose | None  # flat, per m² or per kg; None for a ratio or hydration
    of: str | None  # the cytotoxic line a ratio follows
    ratio: float | None  # 10.0 for "10:1", 0.2 for "20 %"
    ratio_text: str | None
    days: tuple
    at: tuple  # Timing, one per dose on each day
    route: str
    source: str
    fluid: str | None = None  # hydration: a diluent id of the library
    volume_ml: float | None = None
    duration_h: float | None = None
    target: str | None = None  # hydration: e.g. a urine-output target, as text
    when_cumulative: float | None = None  # mg/m² doxorubicin-equivalent: the line applies from there
    when_text: str | None = None
    note: str | None = None

    def describe(self) -> str:
        times = ", ".join(t.text for t in self.at)
        days = ", ".join(map(str, self.days))
        if self.category == "hydration":
            what = f"{self.volume_ml:g} mL over {self.duration_h:g} h"
        elif self.ratio is not None:
            what = f"{self.ratio_text} of {self.of}"
        else:
            what = str(self.dose.text)
        cond = f"; from cumulative {self.when_text}" if self.when_text else ""
        return f"{self.category}: {self.drug or self.fluid} {what} {self.route}, day {days} at {times}{cond}"


def parse_at(text: str) -> float:
    """``"30 min before"`` -> -0.5; ``"4 h after"`` and ``"4 h"`` -> 4.0 (hours). ValueError if not a time."""
    m = _AT.match(str(text))
    if not m:
        raise ValueError(text)
    hours = in_unit(parse_quantity(m.group(1), "h"), "h")
    return -hours if m.group(2) == "before" and hours else hours


def read_ratio(t: Table, key: str = "ratio") -> tuple[float | None, str | None]:
    raw = t.get(key, str, True, 'a ratio ("10:1") or a percentage ("20 %")')
    if raw is None:
        return None, None
    m = _RATIO.match(raw)
    if m:
        value = float(m.group(1))
    else:
        q = t.quantity(key, "%")
        if q is None:
            return None, None
        value = in_unit(q, "")
    if value <= 0:
        t.problem(f"{raw!r}: a ratio must be more than 0", at=key)
        return None, None
    return value, raw


def read_times(t: Table, key: str = "at") -> tuple | None:
    raw = t.data.get(key, ["0 h"])
    if not isinstance(raw, list) or not raw or not all(isinstance(v, str) for v in raw):
        t.problem('expected a list of times, e.g. ["30 min before", "4 h after"]', at=key)
        return None
    out = []
    for i, text in enumerate(raw, 1):
        try:
            hours = parse_at(text)
        except Exception:  # noqa: BLE001 - a unit error of any kind is the same problem here
            t.problem(f"{text!r}: expected a time like \"30 min before\", \"0 h\" or \"4 h after\"", at=f"{key}[{i}]")
            return None
        if not -24 < hours < 24:
            t.problem(f"{text!r}: a time on a day lies within 24 h of its start", at=f"{key}[{i}]")
            return None
        out.append(Timing(hours, text))
    if [x.hours for x in out] != sorted({x.hours for x in out}):
        t.problem("list each time once, earliest first", at=key)
        return None
    return tuple(out)


def read_supportive(doc: Table, library, lines, named: set, cycle_days, read_days, check_limits) -> list[SupportiveLine]:
    """Every ``[[supportive]]`` line of a regimen (problems recorded in ``doc``)."""
    by_id = {line.drug: line for line in lines}
    out = []
    for t in doc.tables("supportive"):
        if not t.ok:
            continue
        t.allow("category", "drug", "dose", "of", "ratio", "days", "at", "route", "fluid", "volume", "duration",
                "target", "when_cumulative", "note", "source")
        category = t.text("category", choices=CATEGORIES)
        src = t.text("source")
        note = t.text("note", required=False)
        at = read_times(t)
        if category == "hydration":
            fluid = t.text("fluid")
            if fluid and fluid not in library.diluents:
                t.problem(f"unknown fluid {fluid!r} (the library's diluents: {', '.join(library.diluents)})", at="fluid")
                fluid = None
            volume = t.quantity("volume", "mL")
            duration = t.quantity("duration", "h")
            days = read_days(t, cycle_days)
            route = t.text("route")
            target = t.text("target", required=False)
            for key in ("drug", "dose", "of", "ratio", "when_cumulative"):
                if key in t.data:
                    t.problem("hydration gives a fluid, a volume and a duration, not a drug dose", at=key)
            if volume is not None and in_unit(volume, "mL") <= 0:
                t.problem("must be more than 0 mL", at="volume")
                volume = None
            if duration is not None and in_unit(duration, "h") <= 0:
                t.problem("must be more than 0 h", at="duration")
                duration = None
            if fluid and volume is not None and duration is not None and days and at and route and src:
                out.append(SupportiveLine(category, None, None, None, None, None, days, at, route, src, fluid=fluid,
                                          volume_ml=in_unit(volume, "mL"), duration_h=in_unit(duration, "h"),
                                          target=target, note=note))
            continue
        did = t.text("drug")
        drug = library.drugs.get(did) if did else None
        if did and not drug:
            alias = library.drug(did)
            t.problem(f"{did!r} is an alias: write the library id {alias.id!r}" if alias else
                      f"unknown drug {did!r} (the library has: {', '.join(sorted(library.drugs))})", at="drug")
        if did in named:
            t.problem(f"{did} is a drug of [[drugs]]: a supportive line is another drug", at="drug")
        route = t.text("route")
        if drug and route and route not in drug.routes:
            t.problem(f"{route!r} is not a route for {did} (library: {', '.join(drug.routes)})", at="route")
        dose = ratio = ratio_text = parent = None
        of = None
        if "of" in t.data or "ratio" in t.data:
            of = t.text("of")
            ratio, ratio_text = read_ratio(t)
            if "dose" in t.data:
                t.problem("give a dose, or a ratio of another line's dose, not both", at="dose")
            parent = by_id.get(of)
            if of and of not in named:
                t.problem(f"{of!r} is not a drug of this regimen's [[drugs]]", at="of")
            if drug and ratio and drug.derived_fraction:
                span = drug.derived_fraction
                if not span.low * (1 - 1e-9) <= ratio <= span.high * (1 + 1e-9):
                    t.problem(f"{ratio_text!r} is outside the plausible {span.low * 100:g}-{span.high * 100:g} % of "
                              f"{of} for {did} ({span.source})", at="ratio")
            elif drug and ratio and not drug.derived_fraction:
                t.problem(f"{did} has no derived_fraction in the library: it cannot follow another drug's dose", at="ratio")
        else:
            dose = t.dose("dose")
        if "days" in t.data or of is None:
            days = read_days(t, cycle_days)
        else:  # a ratio line follows its parent's days unless it says otherwise (a parent with a problem: reported there)
            days = parent.days if parent is not None else None
        if parent is not None and days and not set(days) <= set(parent.days):
            t.problem(f"day {sorted(set(days) - set(parent.days))[0]} has no {of} dose to follow", at="days")
            days = None
        when = when_text = None
        if "when_cumulative" in t.data:
            q = t.quantity("when_cumulative", "mg/m**2")
            if q is not None:
                when, when_text = in_unit(q, "mg/m**2"), t.data["when_cumulative"]
        if drug and days and at:
            if dose is not None:
                check_limits(t, drug, Dose(dose.amount * len(at), dose.basis, dose.text), "day", len(days))
            elif parent is not None and ratio and _plausible(parent, library, check_limits):
                daily = parent.daily
                check_limits(t, drug, Dose(daily.amount * ratio * len(at), daily.basis, f"{ratio_text} of {of}"),
                             "day", len(days), key="ratio")
        for other, effect, isrc in (drug.interactions if drug else ()):
            if other in named:
                t.problem(f"{did} with {other}: {effect} ({isrc})", at="drug")
        if category and drug and (dose or (parent and ratio)) and days and at and route and src:
            out.append(SupportiveLine(category, did, dose, of if parent else None, ratio, ratio_text, days, at, route,
                                      src, when_cumulative=when, when_text=when_text, note=note))
    return out


def _plausible(parent, library, check_limits) -> bool:
    """Whether the parent line's own dose is within its limits (else its problem is reported there,
    not again as a problem of the line that follows it)."""
    scratch: list = []
    check_limits(Table({}, "", scratch, ""), library.drugs[parent.drug], parent.dose, parent.per, len(parent.days))
    return not scratch


def cytotoxic_end_h(library, lines) -> tuple[float, str] | None:
    """When the last infused (not oral) drug of the regimen ends, in hours from day 1's start, and which it is."""
    end = None
    for line in lines:
        detail = library.drugs[line.drug].administration
        if detail is None or detail.container == "oral":
            continue
        at = (max(line.days) - 1) * 24 + (detail.duration_h or 0.0)
        if end is None or at > end[0]:
            end = (at, f"{line.drug} day {max(line.days)} (over {detail.duration_h:g} h)")
    return end


def regimen_class(library, lines) -> tuple[str | None, list]:
    """The emetogenic class derived from the regimen's drugs, and (drug, class) of each."""
    emeto = library.emetogenic
    classes = [(line.drug, library.drugs[line.drug].emetogenic) for line in lines]
    known = [c for _, c in classes if c]
    if emeto is None or not known:
        return None, classes
    return max(known, key=emeto.rank), classes


def check_regimen_supportive(doc: Table, library, lines, supportive) -> str | None:
    """The regimen-wide checks; returns the emetogenic class (as derived) or None."""
    derived, per_drug = regimen_class(library, lines)
    if not supportive and "emetogenic_class" not in doc.data:
        return derived  # a file without supportive care (older files, test fixtures): nothing to check
    stated = doc.text("emetogenic_class", required=True,
                      choices=library.emetogenic.classes if library.emetogenic else None)
    if stated and derived and stated != derived:
        shown = ", ".join(f"{d} {c or '?'}" for d, c in per_drug)
        doc.problem(f"{stated!r}, but the drugs give {derived!r} ({shown}; {library.emetogenic.rule})",
                    at="emetogenic_class")
    if derived and library.emetogenic:
        needed = library.emetogenic.antiemetics.get(derived, ())
        infused = sorted({d for line in lines for d in line.days
                          if (library.drugs[line.drug].administration is None
                              or library.drugs[line.drug].administration.container != "oral")})
        for cls in needed:
            covered = {d for s in supportive if s.category == "antiemetic" and s.drug
                       and library.drugs[s.drug].drug_class == cls for d in s.days}
            missing = [d for d in infused if d not in covered]
            if missing:
                doc.problem(f"a {derived}-emetogenic regimen needs a {cls} on each day of chemotherapy; none on day "
                            f"{', '.join(map(str, missing))} ({library.emetogenic.source})", at="supportive")
    end = cytotoxic_end_h(library, lines)
    for i, s in enumerate(supportive, 1):
        drug = library.drugs.get(s.drug) if s.drug else None
        if drug is None or drug.after_chemotherapy_h is None or end is None:
            continue
        first = min(x.absolute_h(d) for d in s.days for x in s.at)
        if first - end[0] < drug.after_chemotherapy_h - 1e-9:
            doc.problem(f"{s.drug} on day {min(s.days)} at {s.at[0].text} is {first - end[0]:g} h after the end of "
                        f"{end[1]}: it must be at least {drug.after_chemotherapy_h:g} h after "
                        f"({drug.after_chemotherapy_source})", at=f"supportive[{i}].days")
    return derived


def read_schedule(t: Table) -> tuple:
    """``[[derived]] schedule``: the times of the equal doses the day's fraction is split into."""
    if "schedule" not in t.data:
        return ()
    times = read_times(t, "schedule")
    return times or ()
