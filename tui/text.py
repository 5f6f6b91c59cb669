"""Words and styles for statuses: colour is never the only signal.

Every status the UI shows is a word (``OK``, ``REVIEW``, ``HARD STOP``,
``READY``, ``NOT READY``...) in a bracketed badge, coloured as a second
signal.  Nothing here imports the engine.
"""

from __future__ import annotations

from rich.text import Text

# status -> (word shown, style); the word alone must say everything.
STYLES = {
    "ok": ("OK", "bold black on green"),
    "review": ("REVIEW", "bold black on yellow"),
    "hard-stop": ("HARD STOP", "bold white on red"),
    "ready": ("READY", "bold black on green"),
    "ready-modify": ("READY·MODIFY", "bold black on yellow"),  # ready, and a dose-modification band applies
    "not-ready": ("NOT READY", "bold white on red"),
    "pass": ("PASS", "bold black on green"),
    "fail": ("FAIL", "bold white on red"),
    "stale": ("TOO OLD", "bold black on yellow"),
    "overridden": ("OVERRIDDEN", "bold black on yellow"),  # a failing gate a prescriber let this cycle through
    "missing": ("MISSING", "bold black on yellow"),
    "valid": ("VALID", "bold black on green"),
    "invalid": ("INVALID", "bold white on red"),
    "pending": ("—", "dim"),
    "checking": ("CHECKING…", "dim"),
    "none": ("—", "dim"),
    "given": ("GIVEN", "bold"),
    "due": ("DUE", "bold black on yellow"),
    "delayed": ("DELAYED", "bold white on red"),
    "planned": ("PLANNED", ""),
    "signed": ("SIGNED", "bold black on green"),
    "unknown": ("UNKNOWN", "bold black on yellow"),
}


def status_key(status: str | None) -> str:
    """A status from the engine in this module's spelling (``hard_stop`` -> ``hard-stop``)."""
    if status is None:
        return "pending"
    key = str(getattr(status, "value", status)).strip().lower().replace("_", "-").replace(" ", "-")
    return key if key in STYLES else "unknown"


def badge(status: str | None, word: str | None = None) -> Text:
    """``[ OK ]`` in green, ``[ HARD STOP ]`` in red: the word first, the colour second."""
    key = status_key(status)
    shown, style = STYLES[key]
    if key == "unknown" and status:
        shown = str(getattr(status, "value", status)).upper()
    return Text(f"[{word or shown}]", style=style)


def words(status: str | None) -> str:
    key = status_key(status)
    return STYLES[key][0]


def one_line(exc: BaseException) -> str:
    """The one-line message of an error; a bug is named as one, never hidden.

    A refusal whose next steps the TUI cannot take (a new plan, a new weight, the readiness report of another
    time) names them as the command line takes them: the TUI has no screen for them."""
    from chemo.errors import ChemoError

    if isinstance(exc, ChemoError):
        if exc.next_steps:
            from chemo.cli import command_line_words

            return command_line_words(exc)
        return str(exc)
    return f"internal error ({type(exc).__name__}): {exc}"[:200]
