"""The regimen browser: every regimen file, its validation status and its content."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ..regimen_view import render_regimen, scan_regimens
from ..text import badge
from ..widgets.footer import KeyFooter
from ..widgets.titlebar import TitleBar
from .base import ChemoScreen


class RegimenScreen(ChemoScreen):
    """A list of regimen files on the left, the chosen one on the right."""

    CSS_PATH = "regimens.tcss"
    KEYS_NOTE = "↑↓ choose a regimen file; Enter moves to its content, tab back to the list."
    BINDINGS = [
        Binding("escape", "app.back", "Back", tooltip="Back to the screen before"),
        Binding("tab", "focus_next", "Switch pane", show=False, tooltip="Between the list and the content"),
        Binding("pagedown", "scroll_detail(1)", "Scroll", show=False, tooltip="Scroll the content down"),
        Binding("pageup", "scroll_detail(-1)", "Scroll", show=False, tooltip="Scroll the content up"),
    ]

    def __init__(self, select: str | None = None) -> None:
        super().__init__()
        self.entries = scan_regimens()
        self.select = select

    def compose(self) -> ComposeResult:
        yield TitleBar("Regimens", "every regimen file, checked")
        options = []
        for entry in self.entries:
            label = Text.assemble(badge("valid" if entry.valid else "invalid"), " ", entry.id)
            options.append(Option(label, id=entry.id))
        yield OptionList(*options, id="regimen-list")
        with VerticalScroll(id="regimen-detail"):
            yield Static(id="regimen-body")
        yield KeyFooter()

    def on_mount(self) -> None:
        listing = self.query_one("#regimen-list", OptionList)
        index = 0
        if self.select:
            index = next((i for i, e in enumerate(self.entries) if e.id == self.select), 0)
        if self.entries:
            listing.highlighted = index
            self.show(index)
        else:
            self.query_one("#regimen-body", Static).update("No regimen files in the regimens folder.")
        listing.focus()

    def show(self, index: int | None) -> None:
        if index is None or not 0 <= index < len(self.entries):
            return
        self.current = self.entries[index]
        self.query_one("#regimen-body", Static).update(render_regimen(self.current))
        self.query_one("#regimen-detail", VerticalScroll).scroll_home(animate=False)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.show(event.option_index)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.show(event.option_index)
        self.query_one("#regimen-detail").focus()

    def choose(self, regimen_id: str) -> None:
        """Highlight the regimen ``regimen_id`` (the command palette uses this)."""
        index = next((i for i, e in enumerate(self.entries) if e.id == regimen_id), None)
        if index is not None:
            self.query_one("#regimen-list", OptionList).highlighted = index
            self.show(index)

    def action_scroll_detail(self, direction: int) -> None:
        detail = self.query_one("#regimen-detail", VerticalScroll)
        if direction > 0:
            detail.scroll_page_down(animate=False)
        else:
            detail.scroll_page_up(animate=False)
