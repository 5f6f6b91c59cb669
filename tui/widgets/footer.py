"""The footer: the screen's keys, compact, with the key that lists them all (``?``) always on the right.

At 80 columns every key a screen shows fits; on a narrower terminal the later
ones may be cut, but ``? Keys`` stays in view and lists every binding.
"""

from __future__ import annotations

from textual.widgets import Footer
from textual.widgets._footer import FooterKey

KEYS_ACTION = "keys"


class KeyFooter(Footer):
    DEFAULT_CSS = """
    KeyFooter {
        padding-left: 1;
    }
    KeyFooter FooterKey.-keys {
        dock: right;
        margin: 0;
        padding: 0 1;
        border-left: vkey $foreground 20%;
    }
    """

    def __init__(self) -> None:
        super().__init__(show_command_palette=False, compact=True)

    def compose(self):
        for widget in super().compose():
            if isinstance(widget, FooterKey) and widget.action == KEYS_ACTION:
                widget.add_class("-keys")
            yield widget
