"""A refusal of a sign-off or an administration carries what would let it through as data; the command line
writes its commands and options from those fields (the engine's own words name none).

Each case is the refusal as the engine raises it (see chemo/treatment.py) and the line `chemo` prints for it,
unchanged since the commands were first written."""

from __future__ import annotations

import pytest

from chemo.cli import command_line_words
from chemo.errors import NextStep
from chemo.treatment import CapRefused, DayRefused, ModificationRefused, NoBodySize, RecalculateRefused, RegimenChanged

RECALC = "the doses must be recalculated: the weight changed by 12 % (library thresholds)"
CAP = "cycle 6 would take the cumulative anthracycline dose to 475.0 mg/m² doxorubicin-equivalent"
DUE = ("cycle 1: the next day not yet given is day 2, due on 2026-06-16 (day 1 was given at 2026-06-15T10:00:00 by "
       "nora); if day 1 was meant it is already recorded")
BAND = {"drug": "doxorubicin", "finding": "doxorubicin: bilirubin 2 mg/dL is in the band b (give at most 50 %; src)",
        "satisfied_by_level": -2, "satisfied_by_pct": 50.0}

CASES = [
    (RecalculateRefused(RECALC + "; record a new weight and start a new plan, or sign off with an override and its "
                        "reason", finding=RECALC, overridable=True, field="weight",
                        next_steps=(NextStep.NEW_WEIGHT, NextStep.NEW_PLAN, NextStep.OVERRIDE)),
     f"weight: {RECALC}; record a new weight ('chemo measure') and start a new plan ('chemo plan start'), or sign "
     "off with --override-reason"),
    (CapRefused(CAP + "; a pharmacist may sign off with an override and its reason", finding=CAP, overridable=True,
                next_steps=(NextStep.OVERRIDE,), field="cycle"),
     f"cycle: {CAP}; a pharmacist may sign off with --override-reason"),
    (RegimenChanged("the regimen file r.toml has changed since the plan was started (its hash differs): start a new "
                    "plan before signing or giving doses", field="regimen", next_steps=(NextStep.NEW_PLAN,),
                    finding="the regimen file r.toml has changed since the plan was started (its hash differs)"),
     "regimen: the regimen file r.toml has changed since the plan was started (its hash differs): start a new plan "
     "with 'chemo plan start' before signing or giving doses"),
    (NoBodySize("S2: no height and weight recorded on or before 2026-06-12, so the BSA of the day of administration "
                "is unknown (record them, dated on or before that day)", mrn="S2", at="2026-06-12", field="at",
                finding="S2: no height and weight recorded on or before 2026-06-12, so the BSA of the day of "
                        "administration is unknown", next_steps=(NextStep.BODY_SIZE_ON,)),
     "at: S2: no height and weight recorded on or before 2026-06-12, so the BSA of the day of administration is "
     "unknown (record them with 'chemo measure --date')"),
    (DayRefused(DUE + "; to record day 2 now, name the day", finding=DUE, cycle=1, day=2, field="day",
                next_steps=(NextStep.NAME_DAY,)),
     f"day: {DUE}; to record day 2 now give --day 2"),
    (DayRefused("(words)", cycle=1, day=2, at="2026-06-16 10:00:00", first_day=1, first_at="2026-06-15 10:00:00",
                field="at", next_steps=(NextStep.EACH_DAY,)),
     "at: cycle 1: with --all-days day 2 would be recorded at 2026-06-16 10:00:00, in the future (day 1 at "
     "2026-06-15 10:00:00, each later day a calendar day later): record each day when it is given with --day, or "
     "give --at the time day 1 was given"),
    (ModificationRefused("(words)", head="cycle 1: a dose modification applies: ", bands=(BAND,), cycle=1,
                         overridable=True, next_steps=(NextStep.DOSE_LEVEL, NextStep.OVERRIDE), field="dose-level"),
     f"dose-level: cycle 1: a dose modification applies: {BAND['finding']}; sign off with --dose-level "
     "doxorubicin=-2 (50 %); or a pharmacist may sign off with --override-reason"),
    (ModificationRefused("(words)", finding="cycle 1: a dose modification applies now that the dose sign-off did "
                         "not cover: " + BAND["finding"], bands=(BAND,), cycle=1, next_steps=(NextStep.NEW_PLAN,),
                         field="cycle"),
     "cycle: cycle 1: a dose modification applies now that the dose sign-off did not cover: " + BAND["finding"]
     + "; the signed-off doses cannot be given: have the prescriber start a new plan ('chemo plan start') and the "
       "pharmacist sign off its doses at a level that meets the band"),
]


@pytest.mark.parametrize("refusal, line", CASES, ids=[type(r).__name__ + "-" + r.next_steps[-1].value
                                                      for r, _ in CASES])
def test_the_command_line_writes_its_options_from_the_refusals_fields(refusal, line):
    assert command_line_words(refusal) == line
    assert "--" not in str(refusal) and "'chemo " not in str(refusal)  # the engine's words name no command


def test_a_refusal_keeps_its_fields_when_located():
    refusal = CASES[-2][0].located(file="order.toml")
    assert refusal.suggested_levels == {"doxorubicin": -2} and refusal.overridable and refusal.file == "order.toml"
    assert command_line_words(refusal).startswith("order.toml: dose-level: cycle 1: a dose modification applies")
