"""The treatment day (nurse): the plan's calendar, each day's administration recorded day by day with the checks
of ``chemo administer``, a new weight, a delay with its reason (issue 19)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.suggester import SuggestFromList
from textual.widgets import Input, Static

from chemo.calendar import REASONS  # the engine's reasons: the screen offers what the engine accepts

from ..text import badge, one_line
from ..widgets.footer import KeyFooter
from ..widgets.inputs import MAX_INPUT, OrderedInput
from ..widgets.titlebar import TitleBar
from .base import ChemoScreen

STATUS_BADGE = {"given": "given", "in progress": "due", "due": "due", "upcoming": "planned"}


class TreatmentDayScreen(ChemoScreen):
    CSS_PATH = "treatment_day.tcss"
    KEYS_NOTE = ("ctrl+g records the next day of the next cycle as given now, with every check of chemo administer\n"
                 "(its calendar day, both sign-offs, readiness, the cap). Type a weight with its unit and press\n"
                 "Enter to record it. A delay: the cycle's new date, a reason and a note, then ctrl+d.")
    BINDINGS = [
        Binding("escape", "app.back", "Back", tooltip="Back to the patient's overview"),
        Binding("ctrl+g", "give", "Give day", priority=True, tooltip="Record the next day of the cycle as given now"),
        Binding("ctrl+w", "weight", "Weight", priority=True, tooltip="Record the weight typed below"),
        Binding("ctrl+d", "delay", "Delay", priority=True, tooltip="Delay the next cycle to the date typed below"),
    ]

    def __init__(self, patient_id: int) -> None:
        super().__init__()
        self.patient_id = patient_id
        self.view = None

    def compose(self) -> ComposeResult:
        yield TitleBar("Treatment day", "the calendar, each day given, weight, delays")
        with VerticalScroll(id="day-body"):
            yield Static(id="day-calendar")
            yield Static(id="day-message")
        with Vertical(id="day-forms"):
            with Horizontal(classes="day-fields"):
                yield OrderedInput(placeholder="scanned label codes (separate with ;), checked by ctrl+g", id="day-scan",
                            max_length=2000)
            with Horizontal(classes="day-fields"):
                yield OrderedInput(placeholder="weight, e.g. 71.5 kg", id="day-weight", max_length=MAX_INPUT)
            with Horizontal(classes="day-fields"):
                yield OrderedInput(placeholder="delay to YYYY-MM-DD", id="day-delay-to", max_length=10)
                yield OrderedInput(placeholder="reason: " + "|".join(REASONS), id="day-delay-reason", max_length=16,
                            suggester=SuggestFromList(REASONS))
                yield OrderedInput(placeholder="note", id="day-delay-note", max_length=MAX_INPUT)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#day-forms").border_title = "Weight (Enter) · delay of the next cycle (ctrl+d)"
        self.load()
        self.query_one("#day-body").focus()

    def load(self) -> None:
        from ..day_backend import day_view

        shown = self.query_one("#day-calendar", Static)
        try:
            self.view = day_view(self.app.backend, self.patient_id)
        except Exception as exc:
            self.view = None
            shown.update(Text(f"No calendar: {one_line(exc)}", style="bold"))
            return
        v = self.view
        self.query_one(TitleBar).set_subtitle(f"{v.name} ({v.mrn})", essential=True)
        text = Text()
        text.append(f"{v.regimen_id}\n", style="bold")
        for r in v.rows:
            text.append(f" C{r.cycle} ")
            text.append_text(badge(STATUS_BADGE.get(r.status, "planned"), r.status.upper()))
            text.append(f" {r.words}\n")
            if r.given:
                text.append(f"     given: {r.given}\n")
            for d in r.delays:
                text.append(f"     {d}\n", style="italic")
        text.append(v.next_words, style="bold")
        shown.update(text)

    def say(self, words: str, ok: bool) -> None:
        if not ok:
            self.app.bell()
        self.query_one("#day-message", Static).update(Text(("✓ " if ok else "✗ ") + words, style="bold"))

    def action_give(self) -> None:
        from ..day_backend import give_next_day

        if self.view is None or self.view.next_cycle is None:
            self.say("nothing to give: every cycle is given", False)
            return
        scan = self.query_one("#day-scan", Input)
        scans = tuple(c.strip() for c in scan.value.split(";") if c.strip())
        try:
            done = give_next_day(self.app.backend, self.patient_id, self.view.next_cycle, scans)
        except Exception as exc:
            self.say(f"not recorded: {one_line(exc)}", False)
            return
        scan.value = ""
        self.load()
        self.say(done, True)

    def action_weight(self) -> None:
        from ..day_backend import record_weight

        field = self.query_one("#day-weight", Input)
        if not field.value.strip():
            self.say("type a weight with its unit, e.g. 71.5 kg", False)
            field.focus()
            return
        try:
            done = record_weight(self.app.backend, self.patient_id, field.value.strip())
        except Exception as exc:
            self.say(f"weight not recorded: {one_line(exc)}", False)
            return
        field.value = ""
        self.load()
        self.say(done, True)

    def action_delay(self) -> None:
        from ..day_backend import ask_delay

        to, reason, note = (self.query_one(f"#{i}", Input).value.strip()
                            for i in ("day-delay-to", "day-delay-reason", "day-delay-note"))
        if self.view is None or self.view.next_cycle is None:
            self.say("no cycle to delay", False)
            return
        if not to or reason not in REASONS:
            self.say(f"type the new date (YYYY-MM-DD) and a reason: {', '.join(REASONS)}", False)
            return
        try:
            done = ask_delay(self.app.backend, self.patient_id, self.view.next_cycle, to, reason, note or None)
        except Exception as exc:
            self.say(f"delay not recorded: {one_line(exc)}", False)
            return
        for i in ("day-delay-to", "day-delay-reason", "day-delay-note"):
            self.query_one(f"#{i}", Input).value = ""
        self.load()
        self.say(done, True)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "day-weight":
            self.action_weight()
        elif event.input.id in ("day-delay-to", "day-delay-reason", "day-delay-note"):
            self.action_delay()
