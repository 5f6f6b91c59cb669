"""The patient list: search by name or MRN as you type; plan, next cycle and readiness per row.

The rows are read once when the screen shows (and again when it comes back
from a patient); typing filters them in memory.  Readiness needs a full
assessment per patient, so it is filled in after the rows are painted, one
patient at a time, without blocking the keyboard.
"""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Input, Static

from ..backend import matches
from ..text import badge, one_line
from ..widgets.footer import KeyFooter
from ..widgets.inputs import OrderedInput
from ..widgets.titlebar import TitleBar
from .base import ChemoScreen

MAX_QUERY = 64
MAX_PAINT_WAITS = 20  # screen refreshes the readiness worker waits for the rows to be drawn (2-3 are enough)


class SearchInput(OrderedInput):
    """The search field: its text is selected when it takes the focus (typing replaces it), except when the
    focus comes from a key typed on the table, which is added to the text.  Enter opens the patient found: the
    field's own Enter, after the keys typed before it (a screen-wide priority Enter could come before them)."""

    BINDINGS = [Binding("enter", "submit", "Open", tooltip="Open the highlighted patient")]
    keep_cursor = False

    def on_focus(self, event: events.Focus) -> None:  # runs before Input's own handler (the subclass's first)
        if self.keep_cursor:
            self.keep_cursor = False
            self.select_on_focus = False

    def on_blur(self, event: events.Blur) -> None:
        self.select_on_focus = True


class PatientTable(DataTable):
    """The patient rows; Enter opens the highlighted one (named in the footer)."""

    BINDINGS = [Binding("enter", "select_cursor", "Open", tooltip="Open the highlighted patient")]

    @property
    def measured(self) -> bool:
        """The rows added are measured (DataTable does it when idle): its virtual height holds them all, so
        the next frame shows them."""
        return self.virtual_size.height >= self.row_count + (self.header_height if self.show_header else 0)


class PatientListScreen(ChemoScreen):
    CSS_PATH = "patients.tcss"
    KEYS_NOTE = ("Type a name or an MRN, or part of either, to search; typing on the list searches too.\n"
                 "Enter opens the highlighted patient (the one match of a search).")
    BINDINGS = [
        # Enter is the search field's and the list's own key (each names it "Open" in the footer)
        Binding("enter", "open", "Open", tooltip="Open the highlighted patient"),
        Binding("down", "to_table", "List", tooltip="From the search field to the list"),
        Binding("ctrl+f", "focus_search", "Search", tooltip="Back to the search field"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list = []
        self.ready: dict = {}
        self.error: str | None = None
        self.rows_fresh = False  # the rows were read since this screen last gave way to another
        self.filled_query: str | None = None  # the search text the table's rows were filled for

    def compose(self) -> ComposeResult:
        yield TitleBar("Patients", "type to search")
        yield SearchInput(placeholder="search name or MRN", id="patient-search", max_length=MAX_QUERY)
        yield Static("", id="patient-message", classes="message")
        yield PatientTable(id="patient-table", cursor_type="row", zebra_stripes=True)
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one("#patient-table", DataTable)
        # labels as Text: a str label is read as markup, which loads Rich's emoji table (~2 ms)
        table.add_column(Text("MRN"), key="mrn")
        table.add_column(Text("Name"), key="name")
        table.add_column(Text("Readiness"), key="ready")
        table.add_column(Text("Next cycle"), key="next")
        table.add_column(Text("Plan"), key="plan")
        self.load()
        self.query_one("#patient-search", Input).focus()

    def on_screen_resume(self) -> None:
        if not self.rows_fresh:  # the first resume follows the mount, which has just read the rows
            self.load()

    def on_screen_suspend(self) -> None:
        self.rows_fresh = False

    def load(self) -> None:
        """Read the rows (without readiness), show them, then assess readiness in the background."""
        backend = self.app.backend
        self.error = None
        self.rows, self.ready = [], {}
        self.rows_fresh = True
        if backend is None:
            self.error = (f"No patient record: {self.app.backend_error or 'no database'}. "
                          "The regimen browser (F3) still works.")
        else:
            try:
                self.rows = backend.patients()
            except Exception as exc:
                self.error = f"Cannot read the patients: {one_line(exc)}"
        self.fill(self.query_one("#patient-search", Input).value)
        if getattr(self.app, "first_frame_shown", True):  # else the app starts it when its first frame is shown
            self.start_assessing()

    def start_assessing(self) -> None:
        if self.rows:
            self.assess_readiness()

    @work(exclusive=True, group="readiness")
    async def assess_readiness(self) -> None:
        backend = self.app.backend
        table = self.query_one("#patient-table", PatientTable)
        await self.rows_drawn(table)
        for row in list(self.rows):
            await asyncio.sleep(0)  # let keys through between patients
            status = row.readiness if row.readiness is not None else backend.readiness_of(row.id)
            self.ready[row.id] = status
            try:
                table.update_cell(str(row.id), "ready", badge(status, row.readiness_word), update_width=True)
            except Exception:  # the row is filtered out of the table just now
                pass

    async def rows_drawn(self, table: PatientTable) -> None:
        """Until the rows are on the terminal: an assessment holds the app ~10 ms, so none starts before.

        A refresh is over when the screen has nothing left to draw; the first one after the table has measured
        its rows has drawn them.
        """
        for _ in range(MAX_PAINT_WAITS):
            await self.wait_for_refresh()
            if not self.is_current or table.measured:
                return

    def fill(self, query: str) -> None:
        table = self.query_one("#patient-table", PatientTable)
        message = self.query_one("#patient-message", Static)
        table.clear()
        if self.error:
            message.update(Text(self.error, style="bold"))
            return
        self.filled_query = query
        shown = [p for p in self.rows if matches(query, p.name, p.mrn)]
        for p in shown:
            status = self.ready.get(p.id, p.readiness)
            table.add_row(Text(p.mrn), Text(p.name), badge(status if status is not None else "checking",
                                                             p.readiness_word),
                          Text(p.next_text), Text(p.plan_text), key=str(p.id))
        where = self.app.backend.describe()
        if query.strip():
            message.update(Text(f"{len(shown)} of {len(self.rows)} patients match {query.strip()!r} · {where}"))
        else:
            message.update(Text(f"{len(self.rows)} patients · {where}"))

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "patient-search":
            self.fill(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.open_searched(event.value)

    def clear_search(self) -> None:
        """F2: a new search starts empty (the old text is not left for a burst of keys to half rub out)."""
        search = self.query_one("#patient-search", SearchInput)
        search.value = ""
        self.fill("")
        search.focus()

    def open_searched(self, text: str | None = None) -> None:
        """Enter in the search: the patient the search text names at the moment of Enter, never the row that
        was highlighted for an earlier text.  An exact MRN wins; else the first row the text matches."""
        query = (self.query_one("#patient-search", Input).value if text is None else text).strip()
        if query:
            exact = [p for p in self.rows if p.mrn.casefold() == query.casefold()]
            if len(exact) == 1:
                self.app.open_patient(exact[0].id)
                return
        if self.filled_query != query:
            self.fill(query)
        self.open_highlighted()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.app.open_patient(int(event.row_key.value))

    def on_key(self, event: events.Key) -> None:
        """A printable key pressed while the table has the focus goes to the search (the table has no use for
        it): typing always searches, and Enter then opens what the search found."""
        table = self.query_one("#patient-table", DataTable)
        if self.focused is not table or not event.is_printable or not event.character:
            return
        event.stop()
        event.prevent_default()
        search = self.query_one("#patient-search", SearchInput)
        search.keep_cursor = True  # its focus event (handled later) must not select the text for replacing
        search.focus()
        search.cursor_position = len(search.value)
        search.insert_text_at_cursor(event.character)

    def action_to_table(self) -> None:
        self.query_one("#patient-table", DataTable).focus()

    def action_focus_search(self) -> None:
        self.query_one("#patient-search", Input).focus()

    def action_open(self) -> None:
        if self.focused is self.query_one("#patient-search", Input):
            self.open_searched()
            return
        self.open_highlighted()

    def open_highlighted(self) -> None:
        table = self.query_one("#patient-table", DataTable)
        if table.row_count == 0:
            self.app.bell()
            return
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        self.app.open_patient(int(row_key.value))
