"""Readiness (nurse): one row per threshold, the verdict in words and colour, new labs, sign-off."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.suggester import SuggestFromList
from textual.widgets import DataTable, Input, Static

from ..text import badge, one_line
from ..widgets.badge import Badge
from ..widgets.inputs import EngineValidator, MAX_INPUT, OrderedInput
from ..widgets.footer import KeyFooter
from ..widgets.titlebar import TitleBar
from .base import ChemoScreen

FIELDS = ("lab-analyte", "lab-value", "lab-uln")
FIELD_NAMES = {"lab-analyte": "analyte", "lab-value": "value with its unit", "lab-uln": "ULN"}


def _check_analyte(text: str) -> None:
    from chemo.errors import ChemoError
    from chemo.library import load_library

    library = load_library()
    if library.analyte(text) is None:
        raise ChemoError(f"unknown analyte {text.strip()!r} (known: {', '.join(sorted(library.analytes))})",
                         field="analyte")


def _check_quantity(text: str) -> None:
    """A number with a unit the registry knows; a bare number is left to the full check (ULN takes the value's unit)."""
    from chemo.units import parse_quantity, split_number

    _number, unit = split_number(text)
    if unit.strip():
        parse_quantity(text)


class ReadinessScreen(ChemoScreen):
    CSS_PATH = "readiness.tcss"
    KEYS_NOTE = ("An analyte marked R is a retreatment gate (checked before every cycle); the others are eligibility\n"
                 "gates, checked before cycle 1 only.\n"
                 "↑↓ choose a threshold: its detail shows below the table; Enter on it starts a new result\n"
                 "for its analyte. Tab moves between the new-lab fields; Enter on the value records it.")
    BINDINGS = [
        Binding("escape", "app.back", "Back", tooltip="Back to the patient's overview"),
        Binding("ctrl+s", "sign", "Sign", priority=True, tooltip="Sign off readiness for the cycle (nurse)"),
        Binding("ctrl+r", "record", "Record", priority=True, tooltip="Record the new lab typed below"),
        Binding("ctrl+l", "focus_lab", "New lab", tooltip="To the new-lab fields"),
    ]

    def __init__(self, patient_id: int) -> None:
        super().__init__()
        self.patient_id = patient_id
        self.data = None
        self.lab_ok = False

    def compose(self) -> ComposeResult:
        yield TitleBar("Readiness", "labs before the next cycle")
        with Horizontal(id="ready-head"):
            yield Badge(None, id="ready-badge")
            yield Static("", id="ready-verdict")
        yield DataTable(id="ready-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="ready-detail")
        with Vertical(id="lab-form"):
            with Horizontal(id="lab-fields"):
                analytes = self.app.backend.analytes() if self.app.backend else []
                yield OrderedInput(placeholder="analyte (anc, hb…)", id="lab-analyte", max_length=32,
                            suggester=SuggestFromList(analytes, case_sensitive=False),
                            validators=[EngineValidator(_check_analyte)], valid_empty=True)
                yield OrderedInput(placeholder="value with its unit", id="lab-value", max_length=MAX_INPUT,
                            validators=[EngineValidator(_check_quantity)], valid_empty=True)
                yield OrderedInput(placeholder="ULN (bili, ALT, AST)", id="lab-uln", max_length=MAX_INPUT,
                            validators=[EngineValidator(_check_quantity, allow_empty=True)], valid_empty=True)
            yield Static("New lab: analyte, value with its unit, ULN where the threshold is a multiple of it; "
                         "ctrl+r records.", id="lab-message")
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one("#ready-table", DataTable)
        table.add_column("Analyte", key="analyte")
        table.add_column("Status", key="status")
        table.add_column("Value as entered", key="value")
        table.add_column("Threshold", key="threshold")
        table.add_column("Age (max)", key="age")
        table.add_column("Source", key="source")
        self.load()
        table.focus()
        self.mark_lab_field()

    def load(self) -> None:
        backend = self.app.backend
        verdict = self.query_one("#ready-verdict", Static)
        table = self.query_one("#ready-table", DataTable)
        table.clear()
        try:
            self.data = backend.readiness(self.patient_id)
            patient = backend.patient(self.patient_id)
        except Exception as exc:
            self.data = None
            self.query_one("#ready-badge", Badge).set("unknown", "NO VERDICT")
            verdict.update(Text(f"Cannot assess readiness: {one_line(exc)}", style="bold"))
            return
        self.query_one(TitleBar).set_subtitle(f"{patient['name']} ({patient['mrn']})", essential=True)
        d = self.data
        for i, row in enumerate(d.rows):  # an analyte may have an eligibility and a retreatment gate: keyed by row
            # retreatment gates are marked R in the analyte cell (eligibility gates count before cycle 1 only)
            table.add_row(Text(row.analyte + (" R" if row.kind == "retreatment" else "")), badge(row.status),
                          Text(row.entered), Text(row.threshold), Text(row.age), Text(row.source),
                          key=f"{i}:{row.analyte}")
        self.query_one("#ready-badge", Badge).set(
            "not-ready" if not d.ready else "ready-modify" if d.modifications else "ready")
        text = Text(d.verdict_words, style="bold")
        if d.signed_by:
            text.append(f" · readiness signed by {d.signed_by}", style="italic")
        verdict.update(text)
        self.show_detail()

    def show_detail(self) -> None:
        d = self.data
        if d is None:
            return
        table = self.query_one("#ready-table", DataTable)
        lines = Text()
        if d.rows and 0 <= table.cursor_row < len(d.rows):
            row = d.rows[table.cursor_row]
            lines.append(f"{row.analyte}: ", style="bold")
            lines.append(row.message)
            lines.append(f" · source {row.source}")  # the Source column is off-screen at 80 columns
            lines.append(f" · {row.kind} gate")
        if d.recalculate:
            lines.append("\n")
            lines.append_text(badge("not-ready", "RECALCULATE"))
            lines.append(" " + "; ".join(d.recalculate_reasons))
        for s in d.suggestions:
            lines.append(f"\nModification: {s}")
        for w in d.warnings:
            lines.append(f"\n! {w}", style="bold")
        self.query_one("#ready-detail", Static).update(lines)

    def mark_lab_field(self) -> None:
        """The new-lab box names the field being typed (``▶ value with its unit``): seen without colour too."""
        name = FIELD_NAMES.get(getattr(self.focused, "id", None) or "")
        self.query_one("#lab-form").border_title = f"New lab · ▶ {name}" if name else "New lab (ctrl+l)"

    def on_descendant_focus(self, event) -> None:
        self.mark_lab_field()

    def on_descendant_blur(self, event) -> None:
        self.call_after_refresh(self.mark_lab_field)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_detail()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a row starts a new result for that analyte."""
        self.query_one("#lab-analyte", Input).value = str(event.row_key.value).split(":", 1)[1]  # "3:anc"
        self.query_one("#lab-value", Input).focus()

    # ------------------------------------------------------------------ new lab
    def lab_values(self) -> tuple[str, str, str]:
        return tuple(self.query_one(f"#{f}", Input).value.strip() for f in FIELDS)

    def check_lab(self) -> str | None:
        """The engine's message for the lab being typed, or None when it would be stored as it is."""
        analyte, value, uln = self.lab_values()
        for f in FIELDS:
            field = self.query_one(f"#{f}", Input)
            field.validate(field.value)
        if not analyte or not value:
            return "type an analyte and a value with its unit"
        try:
            self.app.backend.check_lab(analyte, value, uln or None)
        except Exception as exc:
            field = getattr(exc, "field", None) or "value"
            target = {"analyte": "lab-analyte", "uln": "lab-uln"}.get(field, "lab-value")
            self.query_one(f"#{target}", Input).add_class("-invalid")
            return one_line(exc)
        return None

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id not in FIELDS:
            return
        problem = self.check_lab()
        self.lab_ok = problem is None
        _analyte, value, uln = self.lab_values()
        if not value and not uln:  # cleared after a record, or not started: keep the last word
            return
        message = self.query_one("#lab-message", Static)
        if problem is None:
            message.update(Text("✓ valid: ctrl+r (or Enter on the value) records it", style="bold"))
        else:
            message.update(Text(f"✗ {problem}", style="bold"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id in ("lab-value", "lab-uln"):
            self.action_record()
        elif event.input.id == "lab-analyte":
            self.query_one("#lab-value", Input).focus()

    def action_focus_lab(self) -> None:
        self.query_one("#lab-analyte", Input).focus()

    def action_record(self) -> None:
        message = self.query_one("#lab-message", Static)
        problem = self.check_lab()
        if problem is not None:
            self.app.bell()
            message.update(Text(f"✗ not recorded: {problem}", style="bold"))
            return
        analyte, value, uln = self.lab_values()
        try:
            done = self.app.backend.record_lab(self.patient_id, analyte, value, uln or None)
        except Exception as exc:
            self.app.bell()
            message.update(Text(f"✗ not recorded: {one_line(exc)}", style="bold"))
            return
        for f in FIELDS[1:]:
            self.query_one(f"#{f}", Input).value = ""
        self.load()
        message.update(Text(f"✓ {done}", style="bold"))
        self.query_one("#lab-value", Input).focus()

    # ------------------------------------------------------------------ sign-off
    def action_sign(self) -> None:
        verdict = self.query_one("#ready-verdict", Static)
        d = self.data
        if d is None or d.cycle is None:
            self.app.bell()
            verdict.update(Text("Sign-off refused: no cycle to sign for", style="bold"))
            return
        try:
            done = self.app.backend.sign_nurse(self.patient_id, d.cycle)
        except Exception as exc:
            self.app.bell()  # the verdict line above the table says why: no notification over the table
            verdict.update(Text(f"Sign-off refused: {one_line(exc)}", style="bold"))
            return
        self.load()
        self.query_one("#ready-badge", Badge).set("signed")
        verdict.update(Text(done, style="bold"))
