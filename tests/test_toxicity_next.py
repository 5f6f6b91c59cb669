"""Toxicity record and the next cycle's suggestion (issue 23), on both engines.

AI (doxorubicin + ifosfamide): febrile neutropenia after cycle 1 -> both drugs one level down (75 %) for cycle 2,
naming rule fn-doxorubicin-ifosfamide and its source ([FNMOD]); a second episode after cycle 2 -> two levels (50 %)
for cycle 3; with no events, level 0; a level once lowered stays lowered.  Encephalopathy grade 2 stops
ifosfamide; LVEF 60 % -> 48 % stops doxorubicin.
"""

import datetime as dt
import json

import pytest

from chemo import audit
from chemo.db import open_store
from chemo.demo import NURSE, PHARMACIST, PRESCRIBER
from chemo.errors import ChemoError
from chemo.db.store import Refusal
from chemo.modification import for_patient
from chemo.records import add_lab
from chemo.toxicity import add_event, events
from cli_support import cli_invoker, one_line
from course_support import give_cycle, start_course

START = 70  # days ago


@pytest.fixture
def store(new_db):
    with open_store(new_db("tox.db")) as s:
        start_course(s, "T1", days_ago=START)
        yield s


def first_day(cycle: int) -> dt.date:
    return dt.date.today() - dt.timedelta(days=START) + dt.timedelta(days=21 * (cycle - 1))


def at(cycle: int, day: int = 10) -> str:
    return (dt.datetime.combine(first_day(cycle), dt.time(12, 0)) + dt.timedelta(days=day - 1)).isoformat()


def drug(s, name):
    return next(d for d in s.drugs if d.drug == name)


def test_no_events_level_0_for_every_drug(store):
    give_cycle(store, "T1", 1, first_day(1))
    s = for_patient(store, "T1")
    assert s.cycle == 2
    assert [(d.drug, d.status, d.level, d.level_label) for d in s.drugs] == [
        ("doxorubicin", "give", 0, "100 %"), ("ifosfamide", "give", 0, "100 %")]
    assert all(not d.fired for d in s.drugs)


def test_febrile_neutropenia_one_level_down_then_two_and_never_raised_silently(store):
    give_cycle(store, "T1", 1, first_day(1))
    add_event(store, NURSE, "T1", cycle=1, term="febrile-neutropenia", grade=3, at=at(1), note="38.6 °C, ANC 0.3")
    s = for_patient(store, "T1")
    for name in ("doxorubicin", "ifosfamide"):
        d = drug(s, name)
        assert (d.status, d.level, d.level_label) == ("give", -1, "75 %")
        [f] = d.fired
        assert f.rule == "fn-doxorubicin-ifosfamide" and f.cycle == 1 and f.grade == 3
        assert "[FNMOD] PMC4671866" in f.source and "febrile-neutropenia grade 3" in f.event
    # cycle 2 given at the suggestion, no event: cycle 3 stays at -1 (a lowered level is not raised)
    give_cycle(store, "T1", 2, first_day(2), dose_level=-1)
    s = for_patient(store, "T1")
    assert s.cycle == 3 and [d.level for d in s.drugs] == [-1, -1]
    # a second episode after cycle 2: two levels down
    add_event(store, PRESCRIBER, "T1", cycle=2, term="Febrile neutropenia", grade=4, at=at(2))
    s = for_patient(store, "T1")
    assert [(d.level, d.level_label) for d in s.drugs] == [(-2, "50 %"), (-2, "50 %")]
    assert [f.cycle for f in drug(s, "doxorubicin").fired] == [1, 2]


def test_a_cycle_given_above_the_suggestion_is_shown_as_a_prescribers_raise(store):
    give_cycle(store, "T1", 1, first_day(1))
    add_event(store, NURSE, "T1", cycle=1, term="febrile-neutropenia", grade=3, at=at(1))
    give_cycle(store, "T1", 2, first_day(2), dose_level=0)
    d = drug(for_patient(store, "T1"), "doxorubicin")
    assert d.level == 0
    assert any("above level -1 in force: a prescriber's raise" in n for n in d.notes)


def test_encephalopathy_grade_2_stops_ifosfamide_not_grade_1(store):
    give_cycle(store, "T1", 1, first_day(1))
    add_event(store, NURSE, "T1", cycle=1, term="encephalopathy", grade=1, at=at(1, 2))
    assert drug(for_patient(store, "T1"), "ifosfamide").status == "give"
    add_event(store, NURSE, "T1", cycle=1, term="encephalopathy", grade=2, at=at(1, 3))
    s = for_patient(store, "T1")
    ifo = drug(s, "ifosfamide")
    assert (ifo.status, ifo.level) == ("stop", None)
    assert ifo.fired[0].rule == "encephalopathy-ifosfamide" and "Ifex" in ifo.fired[0].source
    assert drug(s, "doxorubicin").status == "give"


def test_lvef_60_to_48_stops_doxorubicin(store):
    give_cycle(store, "T1", 1, first_day(1), lvef=("60 %", None))
    add_lab(store, NURSE, "T1", "lvef", "48 %", at=at(1, 15))
    s = for_patient(store, "T1")
    dox = drug(s, "doxorubicin")
    assert dox.status == "stop"
    [f] = dox.fired
    assert f.rule == "lvef-anthracycline" and "below 50 %" in f.event and "12 points below the baseline 60 %" in f.event
    assert drug(s, "ifosfamide").status == "give"
    # the derived grade is listed with the result it came from
    [ef] = [e for e in events(store, "T1")["events"] if e["term"] == "ejection-fraction-decreased"]
    assert ef["kind"] == "derived" and ef["grade"] == 2 and ef["lab"]["value"] == 48 and ef["lab"]["baseline"] == 60


def test_derived_neutrophil_and_platelet_grades_name_their_lab(store):
    give_cycle(store, "T1", 1, first_day(1))
    add_lab(store, NURSE, "T1", "anc", "400 /uL", at=at(1, 10))
    add_lab(store, NURSE, "T1", "platelets", "60 10^9/L", at=at(1, 10))
    found = {e["term"]: e for e in events(store, "T1")["events"] if e["kind"] == "derived"}
    assert found["neutrophil-count-decreased"]["grade"] == 4  # 0.4 ×10⁹/L < 0.5
    assert found["neutrophil-count-decreased"]["lab"]["value_text"] == "400 /uL"
    assert found["platelet-count-decreased"]["grade"] == 2  # 60 < 75, not < 50
    assert found["platelet-count-decreased"]["cycle"] == 1


def test_bad_input_and_roles_are_refused_and_write_nothing(store):
    give_cycle(store, "T1", 1, first_day(1))
    with pytest.raises(ChemoError, match="not a CTCAE v5.0 term"):
        add_event(store, NURSE, "T1", cycle=1, term="fever-ish", grade=2)
    with pytest.raises(ChemoError, match="Febrile neutropenia has no grade 2"):
        add_event(store, NURSE, "T1", cycle=1, term="febrile-neutropenia", grade=2)
    with pytest.raises(ChemoError, match="cycle 2 has no dose given yet"):
        add_event(store, NURSE, "T1", cycle=2, term="hematuria", grade=1)
    with pytest.raises(Refusal):
        add_event(store, PHARMACIST, "T1", cycle=1, term="hematuria", grade=1)
    assert store.one("SELECT count(*) AS n FROM toxicities")["n"] == 0


def test_an_event_is_audited_and_a_change_behind_chemos_back_is_found(store):
    give_cycle(store, "T1", 1, first_day(1))
    row = add_event(store, NURSE, "T1", cycle=1, term="hematuria", grade=1, at=at(1))
    assert audit.verify(store)[1] == []
    store.execute("UPDATE toxicities SET grade = 0 WHERE id = ?", (row["id"],))
    problems = audit.verify(store)[1]
    assert any(p.startswith(f"toxicities row {row['id']}: grade is 0") for p in problems), problems


def test_haematuria_holds_ifosfamide_until_recorded_resolved(store):
    give_cycle(store, "T1", 1, first_day(1))
    add_event(store, NURSE, "T1", cycle=1, term="hematuria", grade=2, at=at(1, 5))
    ifo = drug(for_patient(store, "T1"), "ifosfamide")
    assert (ifo.status, ifo.resume_level) == ("hold", 0)
    add_event(store, NURSE, "T1", cycle=1, term="hematuria", grade=0, at=at(1, 9))
    ifo = drug(for_patient(store, "T1"), "ifosfamide")
    assert (ifo.status, ifo.level) == ("give", 0) and "hematuria grade 0" in ifo.fired[0].resolved


def test_the_cli_next_json_and_toxicity_list(store, new_db, chemo_cli):
    give_cycle(store, "T1", 1, first_day(1))
    invoke = cli_invoker(chemo_cli)
    db = new_db("tox.db")
    r = invoke("toxicity", "add", "T1", "--cycle", "1", "--term", "febrile-neutropenia", "--grade", "3",
               "--at", at(1)[:16], "--note", "admitted", "--db", db, user=NURSE)
    assert r.exit_code == 0 and "Febrile neutropenia grade 3" in r.output
    data = json.loads(invoke("next", "T1", "--json", "--db", db).output)
    assert data["cycle"] == 2
    assert [(d["drug"], d["status"], d["level"]) for d in data["drugs"]] == [
        ("doxorubicin", "give", -1), ("ifosfamide", "give", -1)]
    assert data["drugs"][0]["rules"][0]["rule"] == "fn-doxorubicin-ifosfamide"
    text = invoke("next", "T1", "--db", db).output
    assert "level -1 (75 %)" in text and "source: [FNMOD]" in text
    listed = invoke("toxicity", "list", "T1", "--db", db).output
    assert "Febrile neutropenia grade 3" in listed and "note: admitted" in listed
    one_line(invoke("toxicity", "add", "T1", "--cycle", "1", "--term", "febrile-neutropenia", "--grade", "9",
                    "--db", db, user=NURSE), 2, "grade", "no grade 9")


def test_prescribe_starts_from_the_suggestion_and_anything_else_needs_a_reason_that_is_audited(store):
    from chemo.prescription import PrescriptionRefused, prescribe

    give_cycle(store, "T1", 1, first_day(1))
    add_event(store, NURSE, "T1", cycle=1, term="febrile-neutropenia", grade=3, at=at(1))
    row = prescribe(store, PRESCRIBER, "T1", 2)  # no level given: the suggestion's
    assert json.loads(row["dose_level"]) == {"doxorubicin": -1, "ifosfamide": -1} and row["notes"] == []
    with pytest.raises(PrescriptionRefused, match="doxorubicin: level 0 is above the suggested level -1"):
        prescribe(store, PRESCRIBER, "T1", 2, dose_level=("0",))
    raised = prescribe(store, PRESCRIBER, "T1", 2, dose_level=("0",), reason="tumour progressing; G-CSF added")
    audited = json.loads(store.one("SELECT new FROM audit WHERE entity = 'prescriptions' AND entity_key = ?",
                                   (str(raised["id"]),))["new"])
    assert audited["reason"] == "tumour progressing; G-CSF added"
    assert any("above the suggested level -1" in n and "fn-doxorubicin-ifosfamide" in n for n in audited["notes"])
    assert audited["suggestion"]["doxorubicin"] == {"status": "give", "level": -1,
                                                    "rules": ["fn-doxorubicin-ifosfamide"]}
    # the raise stands for cycle 3, shown with its reason (never silent)
    give_cycle(store, "T1", 2, first_day(2), dose_level=0)
    d = drug(for_patient(store, "T1"), "doxorubicin")
    assert d.level == 0 and any("prescriber's raise (tumour progressing; G-CSF added)" in n for n in d.notes)
