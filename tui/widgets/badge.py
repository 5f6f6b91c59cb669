"""A status badge: the word in brackets, coloured; the word alone says it all."""

from __future__ import annotations

from textual.widgets import Static

from ..text import badge


class Badge(Static):
    DEFAULT_CSS = """
    Badge {
        width: auto;
        min-width: 11;
        height: 1;
    }
    """

    def __init__(self, status: str | None = None, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(badge(status), id=id, classes=classes)
        self.status = status

    def set(self, status: str | None, word: str | None = None) -> None:
        self.status = status
        self.update(badge(status, word))
