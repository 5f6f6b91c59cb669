"""A one-line title bar: the screen's name, what it shows, and who is signed in.

Textual's ``Header`` shows a clock, which would make every snapshot differ;
this bar shows the acting user and the app's date instead.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class TitleBar(Static):
    DEFAULT_CSS = """
    TitleBar {
        height: 1;
        background: $primary;
        color: $text;
        padding: 0 1;
    }
    """

    def __init__(self, title: str, subtitle: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.subtitle_text = subtitle

    def on_mount(self) -> None:
        self.refresh_text()

    def refresh_text(self) -> None:
        app = self.app
        user = getattr(app, "user_label", "")
        today = getattr(app, "today", None)
        right = f"{user}  {today.isoformat() if today else ''}".strip()
        text = Text.assemble(("chemo", "bold"), " · ", (self.title_text, "bold"))
        if self.subtitle_text:
            text.append(f" · {self.subtitle_text}", style="italic")
        width = max(self.size.width - 2, 20) if self.size.width else 78
        room = width - len(right) - 1
        if len(text) > room:
            text.truncate(max(room - 1, 5), overflow="ellipsis")
        text.append(" " * max(room - len(text), 0))
        text.append(" " + right)
        self.update(text)

    def on_resize(self) -> None:
        self.refresh_text()
