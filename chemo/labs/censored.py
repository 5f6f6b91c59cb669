"""A censored lab value against a threshold: decided where the bound decides, else "cannot decide".

A lab reports ``<0.5`` (FHIR ``valueQuantity.comparator``, HL7 SN ``<^0.5`` or ST
``<0.5``) when the true value lies beyond what it measured.  The record keeps the
bound with its comparator (``labs.comparator``).  Against a threshold the value
``x`` is known only to lie in a half-line: every ``x`` there passes (True), none
does (False), or some do and some do not (None: cannot decide).  ANC ``<0.5``
fails ``≥ 1.5``; platelets ``>1000`` pass ``≥ 100``; ANC ``<2.0`` against ``≥ 1.5``
cannot be decided.  Readiness (:mod:`chemo.readiness`) calls :func:`censored_verdict`
wherever it compares a value that carries a comparator.
"""

from __future__ import annotations

import math

from .result import COMPARATORS

OPERATORS = ("<", "<=", ">", ">=")


def censored_verdict(comparator: str, bound: float, op: str, limit: float) -> bool | None:
    """Whether every value ``x`` with ``x comparator bound`` satisfies ``x op limit`` (True), none does
    (False), or it depends on where ``x`` lies (None).  A bound within 1e-9 (relative) of the limit is the limit."""
    if comparator not in COMPARATORS or op not in OPERATORS:
        raise ValueError(f"comparator {comparator!r} / operator {op!r}")
    below = comparator.startswith("<")  # x lies below the bound (no lower end), else above it (no upper end)
    strict = comparator in ("<", ">")
    equal = math.isclose(bound, limit, rel_tol=1e-9, abs_tol=1e-300)
    inside = not equal and (bound < limit if below else bound > limit)
    if below == op.startswith("<"):  # the threshold is met on the side the value lies on
        return True if inside or (equal and (strict or op in ("<=", ">="))) else None
    return False if inside or (equal and (strict or op in ("<", ">"))) else None
