"""How a dose is written for people: the protocol dose, the dose level and mg, as chemo dose and
the worksheet print them (no pint, no attrs: the CLI imports it at start-up)."""

from __future__ import annotations


def protocol_text(a, regimen) -> str:
    """The dose as the regimen file writes it, and per day when a cycle dose is split."""
    if a.derived_from:
        return a.basis
    if a.per == "day":
        return f"{a.basis} a day"
    line = regimen.line(a.drug)
    if line is not None and len(line.days) > 1:
        return f"{a.basis} per cycle ({line.daily} a day)"
    return f"{a.basis} per cycle"


def level_text(level) -> str:
    """The dose level as chemo dose and the worksheet print it: ``0 (full dose)``, ``-1``, ``doxorubicin -2``."""
    if isinstance(level, dict):
        return ", ".join(f"{d} {v}" for d, v in level.items())
    return "0 (full dose)" if level == 0 else str(level)


def mg_text(value: float) -> str:
    """A dispensed dose in mg to at most two decimals, without trailing zeros (``1960``, ``43.75``)."""
    text = f"{value:.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
