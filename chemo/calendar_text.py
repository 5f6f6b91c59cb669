"""How the treatment calendar is written for people (``chemo plan show``, the nurse's treatment-day
screen and the overview): one cycle's due date, a delay, what is next.  Words only: the dates are
:mod:`chemo.calendar`'s."""

from __future__ import annotations


def due_words(c) -> str:
    """``due 2026-12-27 (earliest 2026-12-24), planned 2026-12-20; <why>`` for a :class:`chemo.calendar.CycleDates`
    ("earliest", not "from": "from" is where a delay moved a cycle from)."""
    words = f"due {c.due.isoformat()}" + _earliest(c)
    if c.due != c.planned:
        words += f", planned {c.planned.isoformat()}"
    return f"{words}; {c.basis}"


def given_words(c) -> str:
    """``day 1 2026-12-06 09:00, day 2 ...``: the days of a cycle given so far."""
    return ", ".join(f"day {d} {at}" for d, at in c.days_given)


def _earliest(c) -> str:
    return f" (earliest {c.earliest.isoformat()})" if c.earliest != c.due else ""


def moved_word(d) -> str:
    """``delayed`` or ``brought forward``: which way a recorded move went."""
    return "delayed" if d["kind"] == "delay" else "brought forward"


def delay_words(d, at: bool = False) -> str:
    """``delayed from X to Y: low-counts (note), by login`` (and ``at`` the time, when asked)."""
    return (f"{moved_word(d)} from {d['due_date']} to {d['to_date']}: {reason_words(d)}, by {d['recorded_by']}"
            + (f" at {d['recorded_at'].replace('T', ' ')}" if at else ""))


def reason_words(d) -> str:
    """``low-counts (ANC 0.9 on 12/03)``: a move's reason and its note."""
    return d["reason"] + (f" ({d['note']})" if d.get("note") else "")


def next_words(cal) -> str:
    """``next: cycle 2, due 2026-12-27 (earliest 2026-12-24)`` or ``next: every cycle is given``."""
    nxt = cal.next
    if nxt is None:
        return "next: every cycle is given"
    return (f"next: cycle {nxt.cycle}, due {nxt.due.isoformat()}" + _earliest(nxt)
            + (", in progress" if nxt.status == "in progress" else ""))
