"""Inputs validated through the engine: the engine's one-line message is the inline message.

``EngineValidator`` wraps any engine function that raises ``ChemoError`` on bad
text (``parse_quantity``, ``ordered_dose``...).  ``PasteInput`` hands a
multi-line paste to its screen (Textual's ``Input`` keeps only the first line),
so an order pasted line by line fills one row per line.
"""

from __future__ import annotations

from typing import Callable

from textual import events
from textual.message import Message
from textual.validation import ValidationResult, Validator
from textual.widgets import Input

from ..text import one_line

MAX_INPUT = 80  # the engine refuses longer quantities; the field stops there too


class EngineValidator(Validator):
    """Valid when ``check(text)`` returns; invalid with the engine's message when it raises."""

    def __init__(self, check: Callable[[str], object], *, allow_empty: bool = False) -> None:
        super().__init__()
        self.check = check
        self.allow_empty = allow_empty

    def validate(self, value: str) -> ValidationResult:
        if not value.strip():
            return self.success() if self.allow_empty else self.failure("empty: type a value with its unit")
        try:
            self.check(value)
        except Exception as exc:  # ChemoError: the message; anything else: named as a bug, never raised
            return self.failure(one_line(exc))
        return self.success()


def first_failure(result: ValidationResult | None) -> str:
    if result is None or result.is_valid:
        return ""
    return "; ".join(result.failure_descriptions) or "invalid"


class PasteInput(Input):
    """An Input that passes a paste of several lines to its parent as ``MultiPaste``."""

    class MultiPaste(Message):
        def __init__(self, input: "PasteInput", lines: list[str]) -> None:
            super().__init__()
            self.input = input
            self.lines = lines

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("max_length", MAX_INPUT)
        super().__init__(*args, **kwargs)

    def on_paste(self, event: events.Paste) -> None:
        """Several lines go to the screen as one MultiPaste, and Input's own paste (the first line only) is
        prevented; one line is left to Input, whose handler runs after this one."""
        lines = [line for line in event.text.splitlines() if line.strip()]
        if len(lines) > 1:
            event.stop()
            event.prevent_default()
            self.post_message(self.MultiPaste(self, lines))
