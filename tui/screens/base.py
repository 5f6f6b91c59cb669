"""What every chemo screen has: ``?`` (or F1) lists the keys of the screen, and the footer shows them."""

from __future__ import annotations

from textual.binding import Binding
from textual.screen import Screen


class ChemoScreen(Screen):
    """A screen of the app; ``KEYS_NOTE`` is what the key list adds about typing on this screen."""

    KEYS_NOTE = ""
    BINDINGS = [
        # "?" where no field takes the typing (Textual leaves a printable key to a focused Input), F1 everywhere:
        # the footer shows whichever of the two works where the focus is
        Binding("question_mark", "keys", "Keys", key_display="?", priority=True),
        Binding("f1", "keys", "Keys", priority=True),
    ]

    def action_keys(self) -> None:
        from .keys import KeysScreen, key_rows

        title = self.query("TitleBar")
        self.app.push_screen(KeysScreen(key_rows(self), self.KEYS_NOTE,
                                        getattr(title.first(), "title_text", "") if title else ""))
