"""The prescriber's screen: the calculated doses of the next cycle at a dose level, the lines to change, a
reason, and ctrl+s to sign the order (``chemo prescribe``).

The order is verified by the engine against the record when it is signed: a hard stop (``overdose``,
``record-mismatch``, a ten-fold error...) is refused with the lines that stopped it; review lines need the
reason.  A new order of a cycle supersedes the old one (both kept, audited).
"""

from __future__ import annotations

import attrs
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, Static

from chemo.dose_text import mg_text

from ..text import one_line
from ..verify_model import DoseContext, VerifySession, level_text, parse_level
from ..widgets.footer import KeyFooter
from ..widgets.inputs import MAX_INPUT, OrderedInput
from ..widgets.titlebar import TitleBar
from .base import ChemoScreen


def _mg(value: float) -> str:
    return f"{mg_text(value)} mg"


class PrescribeScreen(ChemoScreen):
    CSS_PATH = "prescribe.tcss"
    KEYS_NOTE = ("The order is the calculated doses at the dose level; each line to change is DRUG DAY DOSE, "
                 "separated by ';' (ifosfamide 1 1950 mg; pld 1 76 mg).\nA review line needs a reason.")
    BINDINGS = [
        Binding("escape", "app.back", "Back", tooltip="Back to the patient's overview"),
        Binding("ctrl+s", "sign", "Sign order", priority=True, tooltip="Sign the prescription (prescriber)"),
    ]

    def __init__(self, context: DoseContext, backend) -> None:
        super().__init__()
        self.context = context
        self.backend = backend
        self.session: VerifySession | None = None
        self.result = None  # the stored prescription, once signed

    def compose(self) -> ComposeResult:
        ctx = self.context
        yield TitleBar("Prescribe", ctx.patient_label, essential=True)
        with Vertical(id="rx-head"):
            yield Static(Text.assemble((ctx.regimen.name, "bold"), f" · cycle {ctx.cycle} of {ctx.regimen.cycles}"),
                         id="rx-context")
            with Horizontal(classes="rx-field"):
                yield Static("Dose level ", classes="rx-label")
                yield OrderedInput(value=level_text(ctx.dose_level), id="rx-level", max_length=MAX_INPUT,
                            placeholder="0, -1, or drug=-1")
            with Horizontal(classes="rx-field"):
                yield Static("Lines to change ", classes="rx-label")
                yield OrderedInput(id="rx-lines", max_length=MAX_INPUT * 4,
                            placeholder="none: the calculated doses; or ifosfamide 1 1950 mg; pld 1 76 mg")
            with Horizontal(classes="rx-field"):
                yield Static("Reason ", classes="rx-label")
                yield OrderedInput(id="rx-reason", max_length=MAX_INPUT * 2,
                            placeholder="needed for a review line, a band not met or the cap")
            yield Static("", id="rx-status")
        with VerticalScroll(id="rx-doses-box", can_focus=False):
            yield Static("", id="rx-suggestion")
            yield Static("", id="rx-doses")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.calculate(self.context.dose_level)
        self.show_suggestion()
        self.query_one("#rx-level", Input).focus()

    def show_suggestion(self) -> None:
        """``chemo next`` for this cycle, rule by rule with its sources; a new order starts at its levels (anything
        else needs a reason when it is signed)."""
        box = self.query_one("#rx-suggestion", Static)
        try:
            suggestion = self.backend.suggestion(self.context)
        except Exception as exc:
            box.update(Text(f"No suggestion: {one_line(exc)}", style="bold"))
            return
        text = Text("Suggested by the toxicity rules (chemo next)\n", style="bold")
        text.append("\n".join(suggestion.lines()[1:]) + "\n")
        box.update(text)
        start = suggestion.starting_level()
        if start != 0 and self.context.dose_level in (0, None) and not self.backend.prescribed(self.context):
            self.query_one("#rx-level", Input).value = level_text(start)  # recalculated by on_input_changed

    def calculate(self, level) -> None:
        try:
            self.session = VerifySession(attrs.evolve(self.context, dose_level=level))
        except Exception as exc:
            self.query_one("#rx-status", Static).update(Text(f"✗ {one_line(exc)}", style="bold"))
            return
        self.context = self.session.context
        body = self.session.body
        table = Table(box=None, pad_edge=False, show_edge=False, title=body.describe(), title_justify="left")
        for name, justify in (("Day", "right"), ("Drug", "left"), ("Protocol", "left"), ("Level", "left"),
                              ("Calculated", "right"), ("Dispensed", "right")):
            table.add_column(name, justify=justify)
        for a in self.session.rows:
            table.add_row(str(a.day), a.drug, a.basis, a.level, f"{a.calculated_mg:.2f} mg", _mg(a.dose_mg))
        self.query_one("#rx-doses", Static).update(table)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "rx-level":
            return
        try:
            level = parse_level(event.value, self.context.regimen)
        except Exception as exc:
            self.query_one("#rx-status", Static).update(
                Text(f"✗ {one_line(exc)}; the doses shown stay at level {level_text(self.context.dose_level)}",
                     style="bold"))
            return
        self.query_one("#rx-status", Static).update("")
        self.calculate(level)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.focus_next()

    def action_sign(self) -> None:
        from chemo.prescription import PrescriptionRefused

        status = self.query_one("#rx-status", Static)
        level = self.query_one("#rx-level", Input).value
        lines = [x.strip() for x in self.query_one("#rx-lines", Input).value.split(";") if x.strip()]
        reason = self.query_one("#rx-reason", Input).value.strip()
        try:
            row = self.backend.prescribe(self.context, level, lines, reason)
        except PrescriptionRefused as exc:
            self.app.bell()
            text = Text("NOT PRESCRIBED: ", style="bold")
            text.append(one_line(exc))
            status.update(text)
            return
        except Exception as exc:
            self.app.bell()
            status.update(Text(f"NOT PRESCRIBED: {one_line(exc)}", style="bold"))
            return
        self.result = row
        v = row["verification"]
        counts = v.counts()
        words = (f"Prescription {row['id']} of cycle {row['cycle']} signed by {row['prescribed_by']} "
                 f"({row['status']}: {counts['ok']} ok, {counts['review']} review)")
        if row.get("superseded"):
            words += f"; it supersedes prescription {row['superseded']}"
        status.update(Text(words + ".", style="bold"))
