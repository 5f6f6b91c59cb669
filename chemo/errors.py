"""User errors: bad input that gets one clear line, never a traceback.

Every error names where the bad value came from (a file, a field, an option)
and what was expected.  The CLI prints ``str(error)`` and exits non-zero; only
bugs, which are not ``ChemoError``, may raise a traceback.
"""

from __future__ import annotations

import copy
import enum



MIN_REASON = 10  # characters: the floor of every reason a person writes (an override, a review line accepted,
#                  a prescription off the suggestion, a cycle brought forward); a project choice

class ChemoError(Exception):
    """Bad input from a user, a file or the database; printed as one line.

    ``exit_code`` is what the CLI exits with (2: bad input; subclasses for
    refusals use 1).
    """

    exit_code = 2

    def __init__(self, message: str, *, field: str | None = None, file: str | None = None,
                 finding: str | None = None, next_steps: tuple = (), mrn: str | None = None,
                 login: str | None = None, db_user: str | None = None, more: int | None = None):
        """``message``: the error in words that name no command or option; with ``next_steps``
        (:class:`NextStep`), ``finding`` is what was found without them, and ``mrn``, ``login``,
        ``db_user`` and ``more`` (problems not named) are the facts the steps need."""
        self.message = message
        self.field = field
        self.file = file
        self.finding = finding if finding is not None else message
        self.next_steps = tuple(next_steps)
        self.mrn, self.login, self.db_user, self.more = mrn, login, db_user, more
        super().__init__(message)

    def where(self) -> str:
        parts = [p for p in (self.file, self.field) if p]
        return ": ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        return f"{where}: {self.message}" if where else self.message

    def located(self, *, field: str | None = None, file: str | None = None) -> "ChemoError":
        """The same error with a location filled in where it had none."""
        located = copy.copy(self)
        located.field, located.file = self.field or field, self.file or file
        return located


class UnitError(ChemoError):
    """A value whose unit is missing, unknown or of the wrong dimension."""


class BodySizeError(ChemoError):
    """An impossible or implausible height, weight, age or lab value."""


class RegimenError(ChemoError):
    """A regimen or library file that does not validate."""


class NextStep(enum.Enum):
    """What would let a refused sign-off or administration through: a refusal names these as data
    (with the facts each needs on the refusal: ``mrn``, ``at``, ``day``, ``suggested_levels``), and
    each interface words them its own way (the CLI its commands and options, the TUI its keys)."""

    NEW_PLAN = "new-plan"  # a new plan started on the regimen (as it now is, on the body size now recorded)
    SIGN_AGAIN = "sign-again"  # a pharmacist's dose sign-off of ``cycle`` made again (the old one lapsed)
    NEW_WEIGHT = "new-weight"  # a new weight recorded
    BODY_SIZE_ON = "body-size-on"  # a height and weight recorded, dated on or before the day of administration
    READINESS = "readiness"  # the readiness assessment of ``mrn`` (at ``at`` when given)
    DOSE_LEVEL = "dose-level"  # the dose sign-off at ``suggested_levels``
    OVERRIDE = "override"  # a pharmacist's sign-off with an override and its reason
    EACH_DAY = "each-day"  # each day recorded when it is given (or the time the first day was given)
    NAME_DAY = "name-day"  # the day named (``day``) instead of the next one chosen
    # what would let other errors of the record through
    PATIENT_LIST = "patient-list"  # the patient list (an MRN not found)
    PLAN_START = "plan-start"  # a first treatment plan started for ``mrn`` on a regimen
    CONFIRM = "confirm"  # the value recorded with its confirmation, if it is right
    NAME_USER = "name-user"  # the acting user named (or CHEMO_USER set)
    ADD_USER = "add-user"  # the login registered by a pharmacist (``field``: "user", the acting user; "login", the one named)
    MAP_USER = "map-user"  # the database user ``db_user`` mapped to ``login`` by a pharmacist
    AUDIT_VERIFY = "audit-verify"  # the audit verification, for the ``more`` problems not named
    AUDIT_SHOW = "audit-show"  # the audit trail (whether a write was recorded)
    NEW_DB = "new-db"  # a new database named
    APPROVE_REGIMEN = "approve-regimen"  # the file ``path`` approved by two pharmacists (``approvers``: so far)
    RECORD_ULN = "record-uln"  # the lab result recorded with its upper limit of normal (a readiness row's step)
