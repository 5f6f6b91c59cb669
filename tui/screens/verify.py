"""Dose verification (pharmacist): calculated doses day by day, ordered doses, verdicts, sign-off.

The line being typed is marked ``▶`` (a marker that survives a monochrome
terminal) and tinted, and named above the table: "Ordered dose for ifosfamide
day 1".  What the sign-off says goes on the status line above the table, never
in a notification over it.
"""

from __future__ import annotations

import attrs
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, Static

from ..text import one_line
from ..verify_model import UNREAD, DoseContext, VerifySession, level_text, parse_level, refusal, refused_words
from ..widgets.badge import Badge
from ..widgets.footer import KeyFooter
from ..widgets.inputs import EngineValidator, MAX_INPUT, OrderedInput, PasteInput, first_failure
from ..widgets.titlebar import TitleBar
from .base import ChemoScreen


def _check_dose(text: str) -> None:
    from chemo.order import ordered_dose

    dose = ordered_dose(text)
    if dose.unit_problem:
        from chemo.errors import UnitError

        raise UnitError(dose.unit_problem)


def _mg(value: float) -> str:
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{text} mg"


MARK = "▶"  # the line being typed; a character, so it shows without colour
UNIT = "mg"  # every dispensed dose is in mg: the placeholder names the unit, never a number


class DoseRow(Vertical):
    """One administration: day, drug, the dispensed dose; the ordered dose; its verdict and reason."""

    def __init__(self, index: int, administration, locked: bool = False) -> None:
        super().__init__(classes="dose-row")
        self.index = index
        self.a = administration
        self.locked = locked  # the cycle is signed off: the ordered dose is read-only
        self.focused = False

    def label(self) -> Text:
        a = self.a
        mark = (f"{MARK} ", "bold") if self.focused else "  "
        return Text.assemble(mark, (f"d{a.day:<2} ", "bold"), (f"{a.drug:<12.12}", "bold"), f" {_mg(a.dose_mg):>10}")

    def mark(self, focused: bool) -> None:
        """``▶`` and the tint on the line whose ordered dose is being typed."""
        self.focused = focused
        self.set_class(focused, "-focused")
        self.query_one(".dose-label", Static).update(self.label())

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self.mark(True)

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        self.mark(False)

    def set_administration(self, administration) -> None:
        self.a = administration
        self.query_one(".dose-label", Static).update(self.label())

    def compose(self) -> ComposeResult:
        with Horizontal(classes="dose-line"):
            yield Static(self.label(), classes="dose-label")
            yield PasteInput(placeholder=f"dose in {UNIT}", id=f"order-{self.index}", classes="dose-input",
                             validators=[EngineValidator(_check_dose, allow_empty=True)], valid_empty=True,
                             disabled=self.locked)
            yield Badge(None, classes="dose-badge")
        yield Static("", classes="dose-message")

    def show(self, status: str, reasons: tuple, message: str) -> None:
        badge_widget = self.query_one(Badge)
        empty = "missing-drug" in reasons
        if status == UNREAD:
            badge_widget.set("hard-stop", "NOT A DOSE")
        elif empty:
            badge_widget.set("missing", "EMPTY")
        else:
            badge_widget.set(status)
        head = f"{self.a.drug} day {self.a.day}: "
        if message.startswith(head):
            message = message[len(head):]
        if empty:
            message = "no dose typed yet; " + message.removesuffix(": missing").replace("no order line; ", "")
        self.query_one(".dose-message", Static).update(Text(message, style="" if status == "ok" else "bold"))
        self.set_class(status in ("hard-stop", UNREAD), "-stop")
        self.set_class(status == "review", "-review")


class VerifyScreen(ChemoScreen):
    """The calculated doses of one cycle and the ordered doses checked against them as they are typed."""

    CSS_PATH = "verify.tcss"
    KEYS_NOTE = ("Type or paste each ordered dose with its unit; a pasted order fills one line per dose.\n"
                 f"{MARK} marks the line being typed; the line above the table names its drug and day.")
    BINDINGS = [
        Binding("escape", "app.back", "Back", tooltip="Back to the patient's overview"),
        Binding("ctrl+s", "sign", "Sign", priority=True,
                tooltip="Sign off the doses (pharmacist); twice when a line needs review"),
        Binding("ctrl+l", "focus_level", "Level", tooltip="The dose level (filled with the level the engine names)"),
        Binding("ctrl+o", "worksheet", "Sheet", priority=True,
                tooltip="Write the cycle worksheet PDF (DRAFT until the dose is signed off)"),
        # priority: a dose field (an Input) would take ↑↓ to scroll the table instead of moving between lines
        Binding("down", "app.focus_next", "Next line", show=False, priority=True, tooltip="Next line (also Enter, tab)"),
        Binding("up", "app.focus_previous", "Previous line", show=False, priority=True,
                tooltip="Previous line (also shift+tab)"),
    ]

    def __init__(self, context: DoseContext, backend=None) -> None:
        super().__init__()
        self.context = context
        self.backend = backend
        self.session: VerifySession | None = None
        self.error: str | None = None
        try:
            self.session = VerifySession(context)
        except Exception as exc:
            self.error = one_line(exc)
        self.verdicts: list = []
        self.overall = "review"
        self.signed = context.signed is not None
        self.recheck_pending = False
        self.check_cache: dict = {}  # dose level -> backend.SignCheck (or the message of its failure)
        self.offer: str | None = None  # the dose level the engine names for a modification band
        self.refused: str | None = None  # the engine's refusal of the last ctrl+s, until something changes

    def compose(self) -> ComposeResult:
        ctx = self.context
        yield TitleBar("Verify doses", ctx.patient_label, essential=True)
        with Vertical(id="verify-head"):
            yield Static(self.head_text(), id="verify-context")
            with Horizontal(id="verify-level-line"):
                yield Static("Dose level ", id="verify-level-label")
                yield OrderedInput(value=level_text(ctx.dose_level), id="dose-level", max_length=MAX_INPUT,
                            validators=[EngineValidator(self._check_level)],
                            placeholder="0, -1, or drug=-1, drug=-2", disabled=self.signed)
                yield Static("", id="verify-level-message")
            bands = Static("", id="verify-bands")  # the dose-modification bands that apply, when any
            bands.display = False
            yield bands
            with Horizontal(id="verify-summary"):
                yield Badge("review", id="verify-overall")
                yield Static("", id="verify-status")
            yield Static(self.focus_text(None), id="verify-focus")
        with VerticalScroll(id="verify-rows", can_focus=False):
            if self.session is None:
                yield Static(Text(f"Cannot calculate this cycle: {self.error}", style="bold"), id="verify-error")
            else:
                for i, a in enumerate(self.session.rows):
                    yield DoseRow(i, a, locked=self.signed)
        yield KeyFooter()

    def head_text(self) -> Text:
        ctx = self.context
        r = ctx.regimen
        text = Text.assemble((r.name, "bold"), f" · cycle {ctx.cycle} of {r.cycles}\n")
        if self.session is not None:
            body = self.session.body
            measured = f" ({ctx.weight_date})" if ctx.weight_date else ""
            sizes = []
            if body.height_cm:
                sizes.append(f"height {body.height_cm:g} cm")
            if body.weight_kg:
                sizes.append(f"weight {body.weight_kg:g} kg{measured}")
            text.append(f"{body.describe()}; {', '.join(sizes)}\n")
            cycle = self.session.cycle
            text.append(f"Rounded {cycle.rounding_mode} to each increment, within {cycle.tolerance * 100:g} %.",
                        style="dim")
            text.append_text(self.supportive_text(cycle))
        if ctx.lapsed:
            text.append(f"\nSIGN-OFF LAPSED: {ctx.lapsed}: sign the doses again (the lapsed sign-off is kept)",
                        style="bold")
        return text

    def supportive_text(self, cycle) -> Text:
        """The patient's allergies (when recorded) and the cycle's supportive lines, signed with the doses."""
        text = Text()
        allergies = ()
        if self.backend is not None and self.context.patient_id is not None:
            try:
                allergies = self.backend.allergies(self.context.patient_id)
            except Exception:  # noqa: BLE001 - the head must show even if the record cannot be read
                allergies = ()
        if allergies:
            text.append("\nALLERGIES: " + "; ".join(allergies), style="bold")
        if cycle.supportive:
            names = sorted({"hydration" if s.category == "hydration" else s.drug for s in cycle.supportive})
            text.append(f"\nSupportive ({cycle.emetogenic_class} emetogenic), signed with the doses: "
                        + ", ".join(names), style="dim")
        return text

    # ------------------------------------------------------------------ focus
    def focus_text(self, widget) -> Text:
        """The line above the table: which drug and day the ordered dose being typed is for."""
        if isinstance(widget, PasteInput) and self.session is not None:
            a = self.session.rows[int(widget.id.split("-")[1])]
            return Text.assemble((f"{MARK} Ordered dose for ", "bold"), (f"{a.drug} day {a.day}", "bold reverse"),
                                 f" (calculated {_mg(a.dose_mg)})")
        if widget is not None and widget.id == "dose-level":
            return Text.assemble((f"{MARK} Dose level: ", "bold"), "0 full dose, -1 one level down, or drug=-1")
        if self.signed:
            return Text("Signed: the ordered doses are read-only.", style="dim")
        return Text("Type or paste each ordered dose with its unit.", style="dim")

    def show_focus(self) -> None:
        self.query_one("#verify-focus", Static).update(self.focus_text(self.focused))

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self.show_focus()

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        self.call_after_refresh(self.show_focus)  # nothing may have the focus next (a signed cycle)

    def on_mount(self) -> None:
        if self.session is not None:
            self.fill_prescription()
            self.recheck()
            first = self.query(PasteInput)
            if first:
                first.first().focus()
        else:
            self.query_one("#verify-overall", Badge).set("hard-stop", "NO DOSES")
            self.query_one("#verify-status", Static).update(Text("Sign-off is not possible: the cycle cannot be calculated.", style="bold"))

    def prescribed(self) -> dict:
        """{(drug, day): the line as prescribed} of the standing prescription (empty without one)."""
        p = self.context.prescription
        if not p:
            return {}
        return {(x["drug"], x["day"]): x for x in p["lines"] if x.get("ordered")}

    def fill_prescription(self) -> None:
        """The prescription's lines beside the calculation: nothing to type unless a line is rejected."""
        prescribed = self.prescribed()
        if not prescribed or self.signed:
            return
        for i, a in enumerate(self.session.rows):
            line = prescribed.get((a.drug, a.day))
            if line is not None:
                self.query_one(f"#order-{i}", PasteInput).value = line["ordered"]

    # ------------------------------------------------------------------ checking
    def texts(self) -> list[str]:
        inputs = {w.id: w.value for w in self.query(PasteInput)}
        return [inputs.get(f"order-{i}", "") for i in range(len(self.session.rows))]

    def recheck(self) -> None:
        if self.session is None:
            return
        try:
            self.verdicts, self.overall = self.session.check(self.texts())
        except Exception as exc:  # never crash on what was typed
            self.verdicts, self.overall = [], "hard-stop"
            self.query_one("#verify-status", Static).update(Text(one_line(exc), style="bold"))
            self.query_one("#verify-overall", Badge).set("hard-stop")
            return
        rows = list(self.query(DoseRow))
        for row, verdict in zip(rows, self.verdicts):
            row.show(verdict.status, verdict.reasons, verdict.message)
        counts = {s: sum(1 for v in self.verdicts if v.status == s) for s in ("ok", "review", "hard-stop", UNREAD)}
        problems = [] if self.signed else self.problems()
        self.show_bands()
        why = refusal(self.verdicts, problems)
        overall = self.query_one("#verify-overall", Badge)
        if self.signed:
            overall.set("signed")
        elif self.refused:
            overall.set("hard-stop", "REFUSED")
        elif problems and self.overall in ("ok", "review"):  # the lines match, but the engine would refuse
            overall.set("hard-stop", "CANNOT SIGN")
        else:
            overall.set(self.overall)
        summary = (f"{counts['ok']} ok, {counts['review']} review, {counts['hard-stop'] + counts[UNREAD]} hard stop"
                   f" of {len(self.verdicts)} lines. ")
        if self.signed:
            summary += f"Signed off by {self.context.signed}." if self.context.signed else "Signed."
            self.query_one("#verify-status", Static).update(Text(summary))
            return
        if self.refused:
            self.query_one("#verify-status", Static).update(Text(self.refused, style="bold"))
            return
        if problems and why and why.removeprefix("cannot sign: ") == problems[0].finding:
            text = Text(summary)
            text.append(refused_words(problems[0], self.context, self.offer), style="bold")
            self.query_one("#verify-status", Static).update(text)
            return
        if why:
            summary += why[0].upper() + why[1:] + "."
        else:
            summary += "Ready to sign (ctrl+s)." if self.overall == "ok" else "Review, then sign (ctrl+s twice)."
        self.query_one("#verify-status", Static).update(Text(summary))

    def sign_check(self, fresh: bool = False):
        """What the engine's sign-off would refuse at this dose level (``backend.sign_check``), or the message of
        its failure; kept per dose level while typing, fresh to sign."""
        if self.backend is None or self.session is None:
            return None
        key = level_text(self.context.dose_level)
        if fresh or key not in self.check_cache:
            try:
                self.check_cache[key] = self.backend.sign_check(self.context, self.session)
            except Exception as exc:
                self.check_cache[key] = one_line(exc)
        return self.check_cache[key]

    def problems(self, fresh: bool = False) -> list:
        """The engine's objections to signing at this level (``backend.SignProblem``); sets the level to offer."""
        from ..backend import SignProblem

        check = self.sign_check(fresh)
        if check is None:
            return []
        if isinstance(check, str):
            return [SignProblem("other", check)]
        offers = [p.level for p in check.problems if p.kind == "modification" and p.level]
        self.offer = self._combine(offers) if offers else None
        return list(check.problems)

    def cap_problem(self, fresh: bool = False) -> str | None:
        """The first of the engine's objections, in its words (None: it would sign)."""
        problems = self.problems(fresh)
        return problems[0].finding if problems else None

    def _combine(self, offers: list[str]) -> str:
        """Several named levels (``doxorubicin=-2``, ``ifosfamide=-1``) as one level on top of the current one."""
        change = {}
        for offer in offers:
            for part in offer.split(","):
                drug, _, value = part.strip().partition("=")
                if value.strip().lstrip("-").isdigit():
                    change[drug.strip()] = int(value)
        if not change or self.backend is None:
            return ", ".join(offers)
        return self.backend.offer_level(self.context, change)

    def show_bands(self) -> None:
        """Each dose-modification band that applies, and whether the level shown meets it."""
        field = self.query_one("#verify-bands", Static)
        check = self.sign_check() if self.session is not None else None
        bands = getattr(check, "bands", ())
        field.display = bool(bands)
        text = Text()
        for message, met in bands:
            if text:
                text.append("\n")
            text.append("DOSE MODIFICATION APPLIES: ", style="bold")
            text.append(message)
            if self.signed:
                continue
            text.append(" — met at this dose level" if met else " — NOT met at this dose level", style="bold")
        field.update(text)

    # ------------------------------------------------------------------ dose level
    def action_focus_level(self) -> None:
        """The dose level field; when the engine names a level for a modification band, it is filled in."""
        field = self.query_one("#dose-level", Input)
        if self.signed:
            self.app.bell()
            self.query_one("#verify-level-message", Static).update(
                Text("✗ this cycle is signed off: its level cannot change here", style="bold"))
            return
        field.focus()
        if self.offer and field.value.strip() != self.offer:
            field.value = self.offer
            field.cursor_position = len(field.value)

    def _check_level(self, text: str) -> None:
        """Valid when the level parses and every drug of the cycle has it (the cycle is calculated)."""
        VerifySession(attrs.evolve(self.context, dose_level=parse_level(text, self.context.regimen)))

    def change_level(self, text: str) -> None:
        message = self.query_one("#verify-level-message", Static)
        field = self.query_one("#dose-level", Input)
        problem = first_failure(field.validate(text))
        if problem:
            message.update(Text(f"✗ {problem}; the doses shown stay at level {level_text(self.context.dose_level)}",
                                style="bold"))
            return
        try:
            level = parse_level(text, self.context.regimen)
            if level == self.context.dose_level:
                message.update("")
                return
            if self.signed:
                message.update(Text("✗ this cycle is signed off: its level cannot change here", style="bold"))
                return
            context = attrs.evolve(self.context, dose_level=level)
            session = VerifySession(context)
        except Exception as exc:  # the validator accepted it; a failure here is named, never raised
            message.update(Text(f"✗ {one_line(exc)}", style="bold"))
            return
        self.context, self.session = context, session
        self.refused = None
        for row, a in zip(self.query(DoseRow), self.session.rows):
            row.set_administration(a)
        labels = sorted({a.level for a in self.session.rows if not a.derived_from})
        message.update(Text(f"doses recalculated at {', '.join(labels)}", style="bold"))
        self.recheck()

    def on_input_changed(self, event: Input.Changed) -> None:
        """Check again once the changes queued so far are in (a paste changes many lines at once)."""
        if event.input.id == "dose-level":
            self.change_level(event.value)
            return
        if isinstance(event.input, PasteInput):
            self.refused = None
            if not self.recheck_pending:
                self.recheck_pending = True
                self.call_later(self._recheck_later)

    def _recheck_later(self) -> None:
        self.recheck_pending = False
        self.recheck()

    def on_paste_input_multi_paste(self, event: PasteInput.MultiPaste) -> None:
        if self.session is None or self.signed:  # a signed cycle's ordered doses are read-only
            return
        start = int(event.input.id.split("-")[1])
        placed = self.session.route_paste(start, event.lines)
        for index, text in placed.items():
            self.query_one(f"#order-{index}", PasteInput).value = text[:80]
        self.recheck()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.focus_next()

    # ------------------------------------------------------------------ sign-off
    def action_sign(self) -> None:
        status = self.query_one("#verify-status", Static)
        if self.session is None:
            self.app.bell()
            status.update(Text(f"Cannot sign: {self.error}", style="bold"))
            return
        self.recheck()
        if self.signed:
            self.app.bell()
            why = f"cycle {self.context.cycle} doses are already signed off" + (
                f" by {self.context.signed}" if self.context.signed else "")
            status.update(Text(why[0].upper() + why[1:] + ".", style="bold"))
            return
        problems = self.problems(fresh=True)
        why = refusal(self.verdicts, problems)
        if why:
            self.app.bell()
            if problems and why.removeprefix("cannot sign: ") == problems[0].finding:
                self.refuse(refused_words(problems[0], self.context, self.offer, tried=True))
            else:
                status.update(Text(why[0].upper() + why[1:] + ".", style="bold"))
            return
        if self.backend is None:
            self.app.bell()
            status.update(Text("Cannot sign: no patient record is open.", style="bold"))
            return
        try:  # who may sign is known before the summary is shown
            self.backend.require(("pharmacist",), "the dose sign-off")
        except Exception as exc:
            self.app.bell()
            self.refuse(f"SIGN-OFF REFUSED: {one_line(exc)}")
            return
        lines, source, why = self.to_sign()
        if why:
            self.app.bell()
            self.refuse(why)
            return
        from .signing import SignSummaryScreen

        ctx = self.context
        title = f"{ctx.patient_label}, {ctx.regimen.name}, cycle {ctx.cycle}, dose level {level_text(ctx.dose_level)}"
        self.app.push_screen(SignSummaryScreen(title, lines, source), self.sign_confirmed)

    def to_sign(self) -> tuple[list, str, str | None]:
        """(the lines the sign-off will hold, where their mg come from, why it cannot sign).  With a prescription:
        its lines, exactly, and a typed line that differs from it is a rejection (the prescriber changes the
        prescription).  Without: the calculated doses at the level, so a line typed as another dose (review)
        cannot be signed here: a different dose is a prescription."""
        from .signing import SignLine

        texts = self.texts()
        p = self.context.prescription
        if p:
            prescribed = self.prescribed()
            for a, text in zip(self.session.rows, texts):
                line = prescribed.get((a.drug, a.day))
                wanted = line["ordered"] if line else ""
                if " ".join(text.split()) != " ".join(wanted.split()):
                    return [], "", (f"NOT SIGNED: {a.drug} day {a.day} is {text.strip() or 'empty'} here, the "
                                    f"prescription says {wanted or 'nothing'}: the pharmacist signs the prescription; "
                                    "a rejected line goes back to the prescriber (p on the patient's overview)")
            lines = [SignLine(x["drug"], x["day"], x["dose_mg"], x["status"], tuple(x["reasons"]), x["message"])
                     for x in p["lines"] if x.get("dose_mg") is not None]
            verdicts = {(v.drug, v.day): v for v in self.verdicts}
            lines = [attrs.evolve(x, status=verdicts[(x.drug, x.day)].status,
                                  reasons=verdicts[(x.drug, x.day)].reasons, message=verdicts[(x.drug, x.day)].message)
                     if (x.drug, x.day) in verdicts else x for x in lines]
            source = (f"Prescription {p['id']} by {p['prescribed_by']} ({p['prescribed_at'].replace('T', ' ')[:16]}): "
                      "the signed mg are the prescription's, printed on the worksheet and given as they are.")
            return lines, source, None
        reviews = [v for v in self.verdicts if v.status == "review"]
        if reviews:
            v = reviews[0]
            return [], "", (f"NOT SIGNED: {v.drug} day {v.day} needs review ({', '.join(v.reasons)}); without a "
                            "prescription the calculated doses are what is signed, so another dose must be "
                            "prescribed (p on the patient's overview, by a prescriber), then signed here")
        lines = [SignLine(a.drug, a.day, a.dose_mg, v.status, v.reasons, v.message)
                 for a, v in zip(self.session.rows, self.verdicts)]
        return lines, "No prescription: the calculated doses at this dose level are signed.", None

    def sign_confirmed(self, reasons: dict | None) -> None:
        """The summary's answer: sign with the reasons of the review lines, or (None) nothing signed."""
        status = self.query_one("#verify-status", Static)
        if reasons is None:
            status.update(Text("Not signed: the summary was closed.", style="bold"))
            return
        try:
            message = self.backend.sign_pharmacist(self.context, self.session, self.texts(), self.verdicts,
                                                   accept=reasons or None)
        except Exception as exc:
            from ..backend import engine_problem

            why = one_line(exc)
            self.app.bell()
            problem = engine_problem(exc)
            if problem is None:
                self.refuse(f"SIGN-OFF REFUSED: {why}")
                return
            if problem.level:
                self.offer = self._combine([problem.level])
            self.refuse(refused_words(problem, self.context, self.offer, tried=True))
            return
        self.signed = True
        self.lock_inputs()
        self.query_one("#verify-overall", Badge).set("signed")
        status.update(Text(message, style="bold"))
        self.show_focus()

    def action_worksheet(self) -> None:
        """Write the cycle's worksheet (chemo worksheet) as a PDF; DRAFT until the dose is signed off."""
        if self.backend is None or self.context.mrn is None:
            self.app.bell()
            self.query_one("#verify-status", Static).update(
                Text("No patient record is open: no worksheet.", style="bold"))
            return
        try:
            message = self.backend.write_worksheet(self.context)
        except Exception as exc:
            self.app.bell()
            self.query_one("#verify-status", Static).update(Text(f"Worksheet not written: {one_line(exc)}", style="bold"))
            return
        self.query_one("#verify-status", Static).update(Text(message))

    def refuse(self, words: str) -> None:
        """A refused sign-off: the overall badge says so (never a signable [OK]) and the words stay until
        the order or the level changes."""
        self.refused = words
        self.query_one("#verify-overall", Badge).set("hard-stop", "REFUSED")
        self.query_one("#verify-status", Static).update(Text(words, style="bold"))

    def lock_inputs(self) -> None:
        """A signed cycle: its ordered doses and dose level are read-only."""
        for field in self.query(PasteInput):
            field.disabled = True
        self.query_one("#dose-level", Input).disabled = True
        self.show_bands()
