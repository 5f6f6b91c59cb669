"""The signing summary (pharmacist): exactly what ctrl+s is about to sign, confirmed before it is signed.

Each line is drug, day, the mg that will be signed (the prescription's, else the calculated dispensed
dose), its verdict and, for a review line, a field for the pharmacist's reason (at least 10 characters),
which goes with the sign-off.  ctrl+s (or Enter on the last reason) signs; escape goes back unsigned.
"""

from __future__ import annotations

import attrs
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from chemo.dose_text import mg_text
from chemo.errors import MIN_REASON

from ..widgets.inputs import MAX_INPUT, OrderedInput


@attrs.frozen
class SignLine:
    drug: str
    day: int
    dose_mg: float
    status: str  # ok, review
    reasons: tuple = ()
    message: str = ""


def _mg(value: float) -> str:
    return f"{mg_text(value)} mg"


class SignSummaryScreen(ModalScreen):
    """Dismissed with {(drug, day): reason} to sign, or None (escape: not signed)."""

    CSS_PATH = "signing.tcss"
    BINDINGS = [
        Binding("ctrl+s", "confirm", "Sign", priority=True, tooltip="Sign exactly these doses"),
        Binding("escape", "cancel", "Back", tooltip="Back to the doses, nothing signed"),
    ]

    def __init__(self, title: str, lines: list[SignLine], source: str) -> None:
        super().__init__()
        self.title_text = title
        self.lines = list(lines)
        self.source = source
        self.reviews = [x for x in self.lines if x.status == "review"]

    def compose(self) -> ComposeResult:
        with Vertical(id="sign-box"):
            yield Static(Text.assemble(("About to sign: ", "bold"), self.title_text), id="sign-title")
            yield Static(Text(self.source, style="dim"), id="sign-source")
            with VerticalScroll(id="sign-lines"):
                yield Static(self.table(), id="sign-table")
                for i, line in enumerate(self.reviews):
                    yield Static(Text.assemble(("Reason for ", "bold"), f"{line.drug} day {line.day} ",
                                               (f"{_mg(line.dose_mg)} (review: {', '.join(line.reasons)})", "bold"),
                                               f"\n{line.message}"), classes="sign-why")
                    yield OrderedInput(placeholder=f"reason, at least {MIN_REASON} characters", id=f"reason-{i}",
                                max_length=MAX_INPUT * 2, classes="sign-reason")
            yield Static("", id="sign-status")
            yield Static(Text("ctrl+s signs exactly these doses · esc goes back, nothing signed", style="dim"),
                         id="sign-keys")

    def table(self) -> Table:
        table = Table(box=None, pad_edge=False, show_edge=False)
        for name, justify in (("Day", "right"), ("Drug", "left"), ("Signed mg", "right"), ("Status", "left")):
            table.add_column(name, justify=justify)
        for x in self.lines:
            style = "bold" if x.status != "ok" else ""
            table.add_row(str(x.day), x.drug, _mg(x.dose_mg), x.status.upper(), style=style)
        return table

    def on_mount(self) -> None:
        fields = self.query(".sign-reason")
        if fields:
            fields.first().focus()

    def reasons(self) -> tuple[dict, str | None]:
        """({(drug, day): reason}, the first problem)."""
        out = {}
        for i, line in enumerate(self.reviews):
            text = self.query_one(f"#reason-{i}", Input).value.strip()
            if len(text) < MIN_REASON:
                return out, (f"{line.drug} day {line.day} needs a reason of at least {MIN_REASON} characters "
                             "before it is signed")
            out[(line.drug, line.day)] = text
        return out, None

    def action_confirm(self) -> None:
        reasons, problem = self.reasons()
        if problem:
            self.app.bell()
            self.query_one("#sign-status", Static).update(Text(problem, style="bold"))
            return
        self.dismiss(reasons)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        fields = list(self.query(".sign-reason"))
        if fields and event.input is fields[-1]:
            self.action_confirm()
        else:
            self.focus_next()
