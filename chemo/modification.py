"""The next cycle's dose, drug by drug, from the previous cycles' events: ``chemo next``.

:func:`suggest` is the engine, a pure function of the regimen's drugs, the events (recorded CTCAE
grades and grades derived from labs, :mod:`chemo.toxicity`), the lab observations the rules read
(LVEF and its baseline), the levels each earlier cycle was given at, and the rules of
``toxicity-rules.toml``.  It walks the cycles in order from the first:

* the level in force starts at 0 (the protocol dose);
* a cycle given at another level sets the level in force to it (a prescriber's choice: a raise
  above the suggestion is shown with its reason; nothing raises a level silently);
* each rule that fires on the cycle's events lowers it (``reduce``: the rows' largest ``levels``
  once per cycle, so a second episode in a later cycle lowers once more), holds the drug until
  the event is recorded again at ``until_grade`` or lower and then lowers it (``hold``), or stops
  the drug for the rest of the plan (``stop``).

Levels are the regimen's own (the drug library's ``dose_levels`` and ladders): a suggested level
is checked with :func:`chemo.dose.level_factor`, the dose path's one reading of a level; a level
below the lowest step is not suggested ("review": a prescriber's decision).
"""

from __future__ import annotations

import attrs

from .errors import ChemoError

ORDER = {"give": 0, "review": 1, "hold": 2, "stop": 3}


@attrs.frozen
class Fired:
    """One rule row that fired: what it did, the event behind it, the source."""

    rule: str
    action: str
    levels: int
    cycle: int  # the cycle the event followed
    event: str  # the event in words
    grade: int | None
    text: str
    source: str
    resolved: str | None = None  # a hold: the record that ended it

    def as_json(self) -> dict:
        return {"rule": self.rule, "action": self.action, "levels": self.levels, "cycle": self.cycle,
                "event": self.event, "grade": self.grade, "text": self.text, "source": self.source,
                "resolved": self.resolved}


@attrs.frozen
class DrugSuggestion:
    drug: str
    status: str  # give, hold, stop, review
    level: int | None  # the level in force (None: stopped)
    level_label: str | None  # "75 %", "10 mg (ladder level -1)"
    fired: tuple  # Fired, oldest first
    notes: tuple  # the levels given in earlier cycles, a prescriber's raise and its reason
    resume_level: int | None = None  # a hold: the level given once it ends

    def reasons(self) -> list[str]:
        return [f"cycle {f.cycle}: {f.event} -> rule {f.rule}: {f.text} [{f.source}]" for f in self.fired]

    def as_json(self) -> dict:
        return {"drug": self.drug, "status": self.status, "level": self.level, "level_label": self.level_label,
                "resume_level": self.resume_level, "rules": [f.as_json() for f in self.fired],
                "notes": list(self.notes)}


@attrs.frozen
class Suggestion:
    mrn: str
    regimen: str
    cycle: int | None  # None: every planned cycle has been given
    cycles: int
    drugs: tuple  # DrugSuggestion
    rules_file: str
    events_considered: int

    def starting_level(self):
        """The level a prescription starts from: 0 when every drug is given at full dose, else {drug: level} of
        the drugs given (a held or stopped drug stays at 0 here: ordering it is a departure that needs a reason)."""
        levels = {d.drug: d.level for d in self.drugs if d.status == "give" and d.level}
        return levels or 0

    def summary(self) -> dict:
        """{drug: {"status", "level", "rules"}}: what was suggested, for an audit row."""
        return {d.drug: {"status": d.status, "level": d.level, "rules": [f.rule for f in d.fired]} for d in self.drugs}

    def dose_level(self) -> dict:
        """{drug: level} of the drugs given at a level (what ``calculate_cycle`` takes)."""
        return {d.drug: d.level for d in self.drugs if d.status == "give"}

    def lines(self) -> list[str]:
        """The suggestion in words, drug by drug and rule by rule (``chemo next`` and the prescriber's screen)."""
        if self.cycle is None:
            out = [f"{self.mrn}: every one of the {self.cycles} planned cycles has been given; the levels in force:"]
        else:
            out = [f"{self.mrn}: cycle {self.cycle} of {self.cycles} ({self.regimen}): suggested"]
        for d in self.drugs:
            if d.status == "stop":
                what = "STOP"
            elif d.status == "hold":
                what = f"HOLD (then level {d.resume_level}, {d.level_label})"
            elif d.status == "review":
                what = f"REVIEW (level {d.level}: no such dose level)"
            else:
                what = f"level {d.level} ({d.level_label})"
            out.append(f"  {d.drug:<12} {what}")
            for f in d.fired:
                done = f"; ended: {f.resolved}" if f.resolved else ""
                out.append(f"      cycle {f.cycle}: {f.event}")
                out.append(f"        rule {f.rule} ({f.action}): {f.text}{done}")
                out.append(f"        source: {f.source}")
            for n in d.notes:
                out.append(f"      {n}")
            if not d.fired and not d.notes:
                out.append("      no rule fired: the protocol dose")
        return out

    def as_json(self) -> dict:
        return {"mrn": self.mrn, "regimen": self.regimen, "cycle": self.cycle, "cycles": self.cycles,
                "drugs": [d.as_json() for d in self.drugs], "rules_file": self.rules_file,
                "events_considered": self.events_considered}


def _label(drug_obj, level: int, daily) -> tuple[str | None, str | None]:
    """(label, why not) of ``level`` for the drug: the dose path's own reading of a level."""
    from .dose import level_factor

    try:
        return level_factor(drug_obj, level, daily)[1], None
    except ChemoError as exc:
        return None, exc.message


def _term_fires(rule, events, cycle):
    hits = [e for e in events if e.cycle == cycle and e.term == rule.term and e.grade >= rule.grade]
    return max(hits, key=lambda e: (e.grade, e.at)) if hits else None


def _lab_fires(rule, observations, cycle):
    for o in observations:
        if o["cycle"] != cycle or o["analyte"] != rule.analyte:
            continue
        why = []
        if rule.below is not None and o["value"] < rule.below:
            why.append(f"below {rule.below:g} {rule.unit}")
        if rule.drop is not None and o.get("baseline") is not None and o["baseline"] - o["value"] >= rule.drop - 1e-9:
            why.append(f"{o['baseline'] - o['value']:g} points below the baseline {o['baseline']:g} {rule.unit} "
                       f"({o['baseline_at'][:10]})")
        if why:
            return o, "; ".join(why)
    return None


def _resolution(rule, fired_at: str, events):
    """The record that ends a hold: the same term at ``until_grade`` or lower, after the event."""
    later = [e for e in events if e.term == rule.term and e.at > fired_at and e.kind == "recorded"]
    if not later:
        return None
    newest = max(later, key=lambda e: (e.at, e.id or 0))
    return newest if newest.grade <= rule.until_grade else None


def suggest_drug(regimen_id: str, drug: str, drug_obj, daily, next_cycle: int, events, observations,
                 given_levels: dict, rules) -> DrugSuggestion:
    level = 0
    fired: list[Fired] = []
    notes: list[str] = []
    stopped = None
    hold = None  # (Fired, rule, event time, cycle)
    mine = [r for r in rules if r.applies(regimen_id, drug)]
    for cycle in range(0, next_cycle):
        if cycle in given_levels and drug in given_levels[cycle]:
            given, why = given_levels[cycle][drug]
            if given is None:
                notes.append(f"cycle {cycle}: not given" + (f" ({why})" if why else ""))
            elif given != level:
                if given > level:
                    notes.append(f"cycle {cycle} was given at level {given}, above level {level} in force: a "
                                 f"prescriber's raise" + (f" ({why})" if why else " (no reason recorded)"))
                else:
                    notes.append(f"cycle {cycle} was given at level {given} (level {level} was in force)")
                level = given
            if hold is not None and given is not None:
                notes.append(f"cycle {cycle}: given after the hold of rule {hold[0].rule}")
                hold = None
        if stopped is not None:
            continue
        in_cycle = []
        for rule in mine:
            if rule.term is not None:
                e = _term_fires(rule, events, cycle)
                if e is not None:
                    in_cycle.append((rule, Fired(rule.id, rule.action, rule.levels, cycle, e.describe(), e.grade,
                                                 rule.text, rule.source), e.at))
            else:
                hit = _lab_fires(rule, observations, cycle)
                if hit is not None:
                    o, why = hit
                    event = (f"{o['analyte']} {o['value']:g} {rule.unit} collected "
                             f"{o['collected_at'][:16].replace('T', ' ')}: {why}")
                    in_cycle.append((rule, Fired(rule.id, rule.action, rule.levels, cycle, event, None, rule.text,
                                                 rule.source), o["collected_at"]))
        if not in_cycle:
            continue
        fired += [f for _, f, _ in in_cycle]
        stops = [x for x in in_cycle if x[0].action == "stop"]
        holds = [x for x in in_cycle if x[0].action == "hold"]
        reduces = [x for x in in_cycle if x[0].action == "reduce"]
        if stops:
            stopped = stops[0][1]
            continue
        if holds:
            rule, f, at = max(holds, key=lambda x: (x[0].levels, x[0].until_grade is not None and -x[0].until_grade))
            hold = (f, rule, at, cycle)
            level -= max(x[0].levels for x in holds + reduces)
            continue
        level -= max(x[0].levels for x in reduces)
    if stopped is not None:
        return DrugSuggestion(drug, "stop", None, None, tuple(fired), tuple(notes))
    label, why_not = _label(drug_obj, level, daily)
    if hold is not None:
        f, rule, at, _ = hold
        resolved = _resolution(rule, at, events)
        if resolved is None:
            return DrugSuggestion(drug, "hold", level, label, tuple(fired), tuple(notes) + (
                f"held until {rule.term} is recorded at grade {rule.until_grade} or lower",), resume_level=level)
        fired = [attrs.evolve(x, resolved=f"{resolved.term} grade {resolved.grade} recorded "
                                           f"{resolved.at[:16].replace('T', ' ')}") if x is f else x for x in fired]
    if label is None:
        return DrugSuggestion(drug, "review", level, None, tuple(fired), tuple(notes) + (
            f"no dose level {level}: {why_not}",))
    return DrugSuggestion(drug, "give", level, label, tuple(fired), tuple(notes))


def suggest(mrn: str, regimen, library, next_cycle: int | None, events, observations, given_levels: dict,
            rules) -> Suggestion:
    """Every drug of the regimen for ``next_cycle`` (None: the plan is complete; the level each drug
    would carry is still shown)."""
    upto = regimen.cycles + 1 if next_cycle is None else next_cycle
    drugs = []
    for line in regimen.drugs:
        drug_obj = library.drug(line.drug)
        drugs.append(suggest_drug(regimen.id, line.drug, drug_obj, line.daily, upto, events, observations,
                                  given_levels, rules.rules))
    considered = sum(1 for e in events if e.cycle < upto)
    return Suggestion(mrn, regimen.id, next_cycle, regimen.cycles, tuple(drugs), rules.file, considered)


# ------------------------------------------------------------------ from the record

def _given_levels(store, plan: dict, regimen, library) -> dict:
    """cycle -> {drug: (level, why)} of every cycle prescribed (the standing prescription's level and reason), else
    signed off (the level it was signed at)."""
    import json

    from .db import signoffs
    from .dose import levels_by_drug

    from .db import prescriptions

    out: dict = {}
    for row in prescriptions.for_plan(store, plan["id"]):  # oldest first: the standing one of a cycle comes last
        try:
            levels = levels_by_drug(regimen, json.loads(row["dose_level"]), library)
        except (ValueError, ChemoError):
            continue
        out[row["cycle"]] = {d: (lv, row["reason"]) for d, lv in levels.items()}
    prescribed = set(out)
    for row in signoffs.for_plan(store, plan["id"]):
        if row["cycle"] in prescribed:
            continue  # the prescription says the level and why; its sign-off signs that level
        if row["check_kind"] != "dose":
            continue
        try:
            detail = json.loads(row["detail"])
            levels = levels_by_drug(regimen, detail.get("dose_level", 0), library)
        except (ValueError, ChemoError, AttributeError):
            continue
        why = detail.get("level_reason")
        out[row["cycle"]] = {d: (lv, why) for d, lv in levels.items()}
    return out


def next_cycle(store, plan: dict, regimen) -> int | None:
    """The cycle to suggest for: the one after the newest cycle with a dose given (None: all given)."""
    from .toxicity import cycle_starts

    starts = cycle_starts(store, plan["id"])
    n = max(starts) + 1 if starts else 1
    return None if n > plan["planned_cycles"] else n


def observations(lab_rows: list[dict], plan: dict, starts: dict, analytes: set) -> list[dict]:
    from .toxicity import baseline_of, cycle_of

    out = []
    for a in analytes:
        base = baseline_of(lab_rows, a, plan["start_date"], starts.get(1))
        for row in lab_rows:
            if row["analyte"] != a or row.get("comparator") or (base is not None and row["id"] == base["id"]):
                continue
            if row["collected_at"][:10] < plan["start_date"]:
                continue
            out.append({"analyte": a, "value": row["value"], "collected_at": row["collected_at"],
                        "cycle": cycle_of(row["collected_at"], starts),
                        "baseline": None if base is None else base["value"],
                        "baseline_at": None if base is None else base["collected_at"]})
    out.sort(key=lambda o: o["collected_at"])
    return out


def for_plan(store, mrn: str, plan: dict, cycle: int | None = None, regimen=None) -> Suggestion:
    """The suggestion for ``cycle`` of ``plan`` (default: its next cycle), from the events before it."""
    from .library import load_library
    from .records import plan_regimen
    from .toxicity import plan_events
    from .toxicity_data import load

    _, rules = load()
    library = load_library()
    if regimen is None:
        regimen, _ = plan_regimen(plan)
    found, lab_rows, starts = plan_events(store, plan)
    obs = observations(lab_rows, plan, starts, {r.analyte for r in rules.rules if r.analyte})
    target = next_cycle(store, plan, regimen) if cycle is None else cycle
    return suggest(mrn, regimen, library, target, found, obs, _given_levels(store, plan, regimen, library), rules)


def for_patient(store, mrn: str) -> Suggestion:
    """``chemo next MRN``: the suggestion for the active plan's next cycle."""
    from .records import active_plan, get_patient

    patient = get_patient(store, mrn)
    return for_plan(store, mrn, active_plan(store, patient["id"], mrn))


def departures(suggestion: Suggestion, levels: dict) -> list[str]:
    """What an order at ``levels`` ({drug: level}) does other than the suggestion, one line per drug (each
    needs the prescriber's reason)."""
    out = []
    for d in suggestion.drugs:
        chosen = levels.get(d.drug, 0)
        why = "; ".join(f"rule {f.rule} ({f.event})" for f in d.fired) or "no rule fired"
        if d.status == "stop":
            out.append(f"{d.drug}: 'chemo next' suggests stopping it ({why}); the order gives it at level {chosen}")
        elif d.status == "hold":
            out.append(f"{d.drug}: 'chemo next' suggests holding it ({why}); the order gives it at level {chosen}")
        elif d.status == "review":
            out.append(f"{d.drug}: 'chemo next' finds no dose level left ({why}): the order gives it at level {chosen}")
        elif d.status == "give" and chosen != d.level:
            way = "above" if chosen > d.level else "below"
            out.append(f"{d.drug}: level {chosen} is {way} the suggested level {d.level} ({d.level_label}; {why})")
    return out
