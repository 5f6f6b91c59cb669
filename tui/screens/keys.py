"""Every key of a screen, named (F1, or ``?``): what the footer has no room for is here."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.actions import parse
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

SKIP = {"help_quit", "keys"}  # ctrl+c's "quit?" hint; the key list itself is its own last row
WORDS = {  # Textual's own bindings (by action), in the words of this app
    "app.focus_next": "Next field",
    "app.focus_previous": "Previous field",
    "screen.copy_text": "Copy the selected text",
    "command_palette": "Command palette: find a patient or a regimen",
}


def key_rows(screen: Screen) -> list[tuple[str, str]]:
    """(keys, what they do) for every binding of ``screen`` and of the app, keys written as the footer writes
    them, the binding's tooltip (else its description) as the words: the screen's own bindings first, then the
    app's, then Textual's (tab, copy).  A binding the screen or app disables here is left out."""
    app = screen.app
    generic = {b.action for b in Screen.BINDINGS}
    own: list[tuple[str, str]] = []
    textual: list[tuple[str, str]] = []
    seen: set[str] = set()
    for namespace in (screen, app):
        by_action: dict[str, list[Binding]] = {}
        for bindings in namespace._bindings.key_to_bindings.values():
            for binding in bindings:
                by_action.setdefault(binding.action, []).append(binding)
        for action, bindings in by_action.items():
            prefix, name, parameters = parse(action)
            first = bindings[0]
            if name in SKIP or action in seen or not (first.description or first.tooltip):
                continue
            target = app if prefix == "app" or namespace is app else namespace
            if target.check_action(name, parameters) is False:
                continue
            seen.add(action)
            keys = " or ".join(dict.fromkeys(app.get_key_display(b) for b in bindings))
            words = WORDS.get(action) or first.tooltip or first.description
            (textual if action in generic else own).append((keys, words))
    return own + textual + [("f1 or ?", "This list (? where no field takes the typing); esc closes it")]


class KeysScreen(ModalScreen):
    """The keys of a screen (``key_rows``), with a note on typing there; escape, ? or F1 closes it."""

    DEFAULT_CSS = """
    KeysScreen {
        align: center middle;
    }
    KeysScreen #keys-box {
        width: 100%;
        max-width: 84;
        height: auto;
        max-height: 100%;
        border: round $primary;
        border-title-align: left;
        background: $surface;
        padding: 0 1;
    }
    KeysScreen #keys-list, KeysScreen #keys-note {
        height: auto;
    }
    KeysScreen #keys-note {
        margin-top: 1;
    }
    """
    BINDINGS = [
        Binding("escape,question_mark,f1", "dismiss", "Close", key_display="esc", priority=True),
    ]

    def __init__(self, rows: list[tuple[str, str]], note: str = "", title: str = "") -> None:
        super().__init__()
        self.rows = rows
        self.note = note
        self.title_text = title

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(justify="right", no_wrap=True, style="bold")
        table.add_column()
        for keys, what in self.rows:
            table.add_row(keys, what)
        with VerticalScroll(id="keys-box") as box:
            box.border_title = f"Keys · {self.title_text}" if self.title_text else "Keys"
            yield Static(table, id="keys-list")
            if self.note:
                yield Static(Text(self.note), id="keys-note")
