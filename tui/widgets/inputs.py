"""Inputs validated through the engine: the engine's one-line message is the inline message.

``EngineValidator`` wraps any engine function that raises ``ChemoError`` on bad
text (``parse_quantity``, ``ordered_dose``...).  ``OrderedInput`` keeps the keys
of a burst in the order they were typed.  ``PasteInput`` hands a multi-line
paste to its screen (Textual's ``Input`` keeps only the first line), so an
order pasted line by line fills one row per line.
"""

from __future__ import annotations

import functools
from typing import Callable

from textual import events
from textual.binding import BindingsMap
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


class OrderedInput(Input):
    """An Input that keeps the keys of a burst in the order they were typed.

    When keys come faster than the screen answers (a fast typist, a key held down, a scanner), a character
    reaches the field and is inserted at once, but a key bound to an action of the field or its screen
    (backspace is ``delete_left``, Enter ``submit``) first bubbles up to the app, which then runs the
    action: the characters typed after a backspace overtook it.  "DEMO-012", eight backspaces and
    "DEMO-005" became "DEMO-012", and Enter opened the old search's patient.  Worse, the action runs on the
    field focused when it is run: a ctrl+u typed in one dose line, then ↓ (a priority key, which moves the
    focus at once), emptied the next line.  Here, in this handler (which runs before Input's own), a key
    bound to an action of this field's own classes runs it on this field at once, in its place among the
    characters; an action that does not apply leaves the key to bubble, as before."""

    async def on_key(self, event: events.Key) -> None:
        if event.is_printable:
            return  # Input's own handler inserts it
        own = own_bindings(type(self)).key_to_bindings
        bindings = next((own[key] for key in event.aliases if key in own), [])  # ctrl+h is backspace too
        if bindings and await self.app.run_action(bindings[-1].action, self):
            event.stop()
            event.prevent_default()


@functools.cache
def own_bindings(cls: type) -> BindingsMap:
    """The bindings an Input class declares (Input's and its subclasses'; a subclass's last), not the scroll
    keys every widget has."""
    return BindingsMap([b for klass in reversed(cls.__mro__) if issubclass(klass, Input)
                        for b in klass.__dict__.get("BINDINGS", [])])


class PasteInput(OrderedInput):
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
