"""The pharmacist's check of one cycle, without any widget: what the screen shows.

The calculated doses come from :func:`chemo.dose.calculate_cycle`; each ordered
dose typed by the pharmacist becomes an :class:`chemo.order.OrderLine` and the
whole order is checked by :class:`chemo.verify.Checker`, the same rules as
``chemo verify``.  Text that is not a dose at all (no number) is ``unread``: it
blocks the sign-off with the parser's message.
"""

import re

import attrs

from chemo.errors import ChemoError

UNREAD = "unread"  # text that the order reader refuses; not an engine status
_NAMED = re.compile(r"^\s*(?P<drug>[A-Za-z][A-Za-z\- ]*?)\s*[,:]?\s*(?:day|d)\s*(?P<day>\d{1,2})\s*[,:]?\s+(?P<dose>\S.*)$",
                    re.IGNORECASE)


@attrs.frozen
class DoseContext:
    """What a cycle is dosed on: the patient, the regimen, the cycle and the body size."""

    patient_label: str
    regimen: object  # chemo.regimen.Regimen
    cycle: int
    dose_level: object = 0
    height: str | None = None
    weight: str | None = None
    bsa: str | None = None
    formula: str = "mosteller"
    weight_date: str | None = None
    patient_id: object = None
    plan_id: object = None
    signed: str | None = None  # "demo-pharmacist at 2026-06-15 10:00" when the cycle's doses are signed off
    signed_doses: tuple = ()  # (drug, day, dose_mg, level) as the dose sign-off recorded them
    mrn: str | None = None
    prescription: dict | None = None  # the standing prescription of the cycle (chemo.prescription.as_dict), if any
    lapsed: str | None = None  # why the cycle's dose sign-off lapsed (chemo.prescription.lapsed): to be signed again


@attrs.frozen
class RowVerdict:
    drug: str
    day: int
    status: str  # ok, review, hard-stop, unread
    reasons: tuple
    message: str


class VerifySession:
    """One cycle's calculated doses and the check of what is ordered against them."""

    def __init__(self, context: DoseContext, library=None):
        from chemo.dose import body_size, calculate_cycle
        from chemo.library import load_library

        self.context = context
        self.library = library or load_library()
        self.body = body_size(context.height, context.weight, context.bsa, context.formula, context.regimen,
                              self.library)
        self.cycle = calculate_cycle(context.regimen, self.body, context.cycle, context.dose_level, self.library)
        self.rows = list(self.cycle.administrations)
        if context.signed_doses:  # a signed cycle shows the doses its sign-off recorded
            signed = {(drug, day): (dose, level) for drug, day, dose, level in context.signed_doses}
            self.rows = [attrs.evolve(a, dose_mg=signed[(a.drug, a.day)][0], level=signed[(a.drug, a.day)][1] or a.level)
                         if (a.drug, a.day) in signed else a for a in self.rows]
        self.keys = [(a.drug, a.day) for a in self.rows]

    def route_paste(self, start: int, lines: list[str]) -> dict[int, str]:
        """Where pasted lines go: a line naming a drug and day of this cycle
        (``doxorubicin day 1 47 mg``) goes to that row, any other line to the
        next row from ``start``.  Returns {row index: dose text}."""
        placed: dict[int, str] = {}
        cursor = start
        for raw in lines:
            line = raw.strip()
            if not line:
                continue
            named = _NAMED.match(line)
            if named:
                drug = self.library.drug(named.group("drug").strip())
                key = (drug.id if drug else named.group("drug").strip().lower(), int(named.group("day")))
                if key in self.keys:
                    placed[self.keys.index(key)] = named.group("dose").strip()
                    continue
            while cursor in placed:
                cursor += 1
            if cursor < len(self.rows):
                placed[cursor] = line
                cursor += 1
        return placed

    def check(self, texts: list[str]) -> tuple[list[RowVerdict], str]:
        """Each row's verdict for the ordered texts (one per row, "" for none) and the overall status."""
        from chemo.order import Order, OrderLine, ordered_dose
        from chemo.verify import STATUS_RANK, Checker

        lines = []
        unread: dict[int, str] = {}
        for i, (a, text) in enumerate(zip(self.rows, texts)):
            text = text.strip()
            if not text:
                continue
            try:
                dose = ordered_dose(text)
            except ChemoError as exc:
                unread[i] = exc.message
                continue
            except Exception as exc:  # a bug in a parser must not take the screen down
                unread[i] = f"cannot read {text!r} ({type(exc).__name__})"
                continue
            lines.append(OrderLine(index=i + 1, drug=a.drug, day=a.day, dose=dose))
        ctx = self.context
        order = Order(path=f"(verification of {ctx.patient_label})", regimen=ctx.regimen.id, cycle=ctx.cycle,
                      dose_level=ctx.dose_level, height=ctx.height, weight=ctx.weight, bsa=ctx.bsa,
                      formula=ctx.formula, lines=tuple(lines))
        result = Checker(order, ctx.regimen, self.cycle, self.library).run()
        by_key = {}
        for r in result.lines:
            if (r.drug, r.day) not in by_key:
                by_key[(r.drug, r.day)] = r
        verdicts = []
        for i, a in enumerate(self.rows):
            if i in unread:
                verdicts.append(RowVerdict(a.drug, a.day, UNREAD, ("unit-error",), unread[i]))
                continue
            r = by_key.get((a.drug, a.day))
            if r is None:  # the checker reports every row; kept for safety
                verdicts.append(RowVerdict(a.drug, a.day, "review", ("missing-drug",), "not checked"))
            else:
                verdicts.append(RowVerdict(a.drug, a.day, r.status, tuple(r.reasons), r.message))
        statuses = [v.status for v in verdicts]
        if UNREAD in statuses:
            overall = "hard-stop"
        else:
            overall = max(statuses, key=STATUS_RANK.__getitem__, default="ok")
        return verdicts, overall




def parse_level(text: str, regimen, library=None):
    """A dose level as the pharmacist types it: ``0``, ``-1`` for every drug, or ``doxorubicin=-1, ifosfamide=-2``
    (drugs not named stay at 0, or at the one number given with them).  Checked against the
    library's levels by calculating the cycle."""
    from chemo.dose import parse_dose_levels
    from chemo.library import load_library

    library = library or load_library()
    text = str(text).strip()
    if not text:
        return 0
    return parse_dose_levels(re.split(r"[,;]", text), regimen, library, field="dose level")


def level_text(level) -> str:
    if isinstance(level, dict):
        return ", ".join(f"{drug}={value}" for drug, value in level.items())
    return str(level)


def refusal(verdicts: list[RowVerdict], cap_problem=None) -> str | None:
    """Why the pharmacist may not sign, in one line; None when they may.

    ``cap_problem``: the engine's objection (a string), or the list of
    ``backend.SignProblem`` the sign-off would refuse (the first is named)."""
    if isinstance(cap_problem, (list, tuple)):
        cap_problem = cap_problem[0].finding if cap_problem else None
    unread = [v for v in verdicts if v.status == UNREAD]
    if unread:
        v = unread[0]
        return f"cannot sign: {v.drug} day {v.day} is not a dose ({v.message})"
    stops = [v for v in verdicts if v.status == "hard-stop"]
    if stops:
        v = stops[0]
        more = f" (and {len(stops) - 1} more hard stop{'s' * (len(stops) > 2)})" if len(stops) > 1 else ""
        return f"cannot sign: hard stop on {v.drug} day {v.day}: {', '.join(v.reasons)}{more}"
    missing = [v for v in verdicts if "missing-drug" in v.reasons]
    if missing:
        v = missing[0]
        return f"cannot sign: {v.drug} day {v.day} has no ordered dose ({len(missing)} line{'s' * (len(missing) > 1)} empty)"
    if cap_problem:
        return f"cannot sign: {cap_problem}"
    return None


def cli_command(context: DoseContext) -> str:
    """The command line that signs this cycle with an override (the TUI has none)."""
    level = context.dose_level
    if isinstance(level, dict):
        levels = "".join(f" --dose-level {drug}={value}" for drug, value in level.items() if value)
    else:
        levels = f" --dose-level {level}" if level else ""
    return (f"chemo signoff {context.mrn or 'MRN'} --cycle {context.cycle} --check dose{levels} "
            "--override-reason \"...\"")


def refused_words(problem, context: DoseContext, offer: str | None = None, *, tried: bool = False) -> str:
    """The refusal of a dose sign-off in words: the engine's finding, what the pharmacist can do here (the dose
    level the engine suggests, ctrl+l), and that an override is the command line's."""
    finding = (problem.short or problem.finding).strip().rstrip(" .;")
    head = "SIGN-OFF REFUSED" if tried else "CANNOT SIGN"
    text = f"{head}: {finding}."
    if offer:
        text += f" ctrl+l sets the dose level the engine names: {offer}."
    text += " The TUI offers no override; override from the command line: " + cli_command(context)
    return text
