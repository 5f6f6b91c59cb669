"""A title bar: the screen's name, what it shows, and who is signed in.

Textual's ``Header`` shows a clock, which would make every snapshot differ;
this bar shows the acting user and the app's date instead.

When the line is too narrow, the least needed parts go first: the word
"chemo", then the date, then the user's roles, then the user.  A subtitle
marked ``essential`` (the patient's name and MRN) is never cut: rather than an
ellipsis, the bar takes a second line.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class TitleBar(Static):
    DEFAULT_CSS = """
    TitleBar {
        height: auto;
        max-height: 2;
        background: $primary;
        color: $text;
        padding: 0 1;
    }
    """

    def __init__(self, title: str, subtitle: str = "", *, essential: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.subtitle_text = subtitle
        self.essential = essential  # the subtitle (a patient's name and MRN) is never cut

    def on_mount(self) -> None:
        self.refresh_text()

    def set_subtitle(self, subtitle: str, *, essential: bool | None = None) -> None:
        self.subtitle_text = subtitle
        if essential is not None:
            self.essential = essential
        self.refresh_text()

    def _lefts(self) -> list[Text]:
        """The left part, longest first."""
        def left(brand: bool, title: bool) -> Text:
            text = Text()
            if brand:
                text.append("chemo", style="bold")
                text.append(" · ")
            if title:
                text.append(self.title_text, style="bold")
            if self.subtitle_text:
                if title:
                    text.append(" · ")
                text.append(self.subtitle_text, style="bold" if self.essential else "italic")
            return text

        lefts = [left(True, True), left(False, True)]
        if self.essential and self.subtitle_text:
            lefts.append(left(False, False))
        return lefts

    def _rights(self) -> list[str]:
        """The right part, longest first: user (roles) and date, then less."""
        app = self.app
        user = getattr(app, "user_label", "") or ""
        today = getattr(app, "today", None)
        date = today.isoformat() if today else ""
        login = user.split(" (", 1)[0]
        rights = [f"{user}  {date}".strip(), user, login, ""]
        return [r for i, r in enumerate(rights) if r not in rights[:i] or r == ""]

    def line(self, width: int) -> Text:
        """The bar's text for ``width`` cells: the most that fits whole, else the essential part on two lines."""
        lefts, rights = self._lefts(), self._rights()
        # drop "chemo" first, then the date, then the roles; then the screen's name, then the user
        full, named, alone = lefts[0], lefts[1], lefts[2:]  # alone: the patient only (an essential subtitle)
        login, nobody = rights[-2:]
        tries = [(full, rights[0])] + [(named, right) for right in rights[:-1]]
        tries += [(left, login) for left in alone] + [(named, nobody)] + [(left, nobody) for left in alone]
        for left, right in tries:
            if len(left) + (len(right) + 2 if right else 0) <= width:
                return self._join(left, right, width)
        left = lefts[-1]
        if self.essential:
            return left  # wraps onto a second line: a patient's name is never cut
        left = left.copy()
        left.truncate(max(width, 5), overflow="ellipsis")
        return left

    @staticmethod
    def _join(left: Text, right: str, width: int) -> Text:
        text = left.copy()
        if right:
            text.append(" " * max(width - len(left) - len(right), 2))
            text.append(right)
        return text

    def refresh_text(self) -> None:
        width = self.content_region.width
        if not width:  # not laid out yet: on_resize writes the line for the real width
            return
        self.update(self.line(width))

    def on_resize(self) -> None:
        self.refresh_text()
