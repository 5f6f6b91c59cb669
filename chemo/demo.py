"""A demo database: synthetic patients (no real identifiers) for every regimen and every case.

Every patient is built through the same functions the commands use (roles,
audit, units), with times relative to now so that "fresh" and "stale" stay
true on the day the demo is built.  MRNs are ``DEMO-001`` ...; names are
"Demo Patient NN".  Cases: ready (each regimen), each kind of failing lab, a
boundary value that fails its strict operator, missing and stale labs, labs in
other units, eGFR computed from creatinine and recorded de-indexed, dose
modification bands, a weight change and an old weight (recalculate), a cycle
already given, prior epirubicin near the cap, and a cap override.  The two demo pharmacists
approve the shipped regimens first (a plan starts only on an approved regimen).
"""

from __future__ import annotations

import datetime as _dt

from .errors import ChemoError, NextStep
from .db import patients, signoffs, users as record_users
from .db.store import Store, now_local

USERS = {"demo-pharmacist": "pharmacist", "demo-nurse": "nurse", "demo-prescriber": "prescriber",
         "demo-pharmacist-2": "pharmacist"}  # the second pharmacist approves the regimens with the first
PHARMACIST, NURSE, PRESCRIBER = "demo-pharmacist", "demo-nurse", "demo-prescriber"
SECOND_PHARMACIST = "demo-pharmacist-2"
REGIMENS = ("doxorubicin-ifosfamide", "epirubicin-ifosfamide", "doxorubicin-dacarbazine", "pld-ifosfamide-anlotinib")

GOOD = {  # analyte -> (value, uln)
    "hemoglobin": ("12.5 g/dL", None),
    "anc": ("3.2 10^9/L", None),
    "platelets": ("250 10^9/L", None),
    "creatinine": ("0.8 mg/dL", None),
    "bilirubin": ("0.6 mg/dL", "1.2 mg/dL"),
    "alt": ("25 U/L", "40 U/L"),
    "ast": ("22 U/L", "40 U/L"),
    "lvef": ("62 %", None),
}

# (case description, regimen index, lab overrides {analyte: (value, uln) or None to omit}, extras)
CASES = [
    ("ready", 0, {}, {}),
    ("ready", 1, {}, {}),
    ("ready", 2, {}, {}),
    ("ready", 3, {}, {}),
    ("fails: haemoglobin 8.4 g/dL (> 9.0 g/dL needed)", 0, {"hemoglobin": ("8.4 g/dL", None)}, {}),
    ("fails at the boundary: haemoglobin exactly 9.0 g/dL against '> 9.0 g/dL'", 1,
     {"hemoglobin": ("9.0 g/dL", None)}, {}),
    ("passes in other units: Hb 5.6 mmol/L (= 9.02 g/dL), ANC 1600 /uL, platelets 180 G/L, bilirubin 12 µmol/L, "
     "creatinine 70 µmol/L", 2,
     {"hemoglobin": ("5.6 mmol/L", None), "anc": ("1600 /uL", None), "platelets": ("180 G/L", None),
      "bilirubin": ("12 µmol/L", "21 µmol/L"), "creatinine": ("70 µmol/L", None)}, {}),
    ("fails: ANC 1.2 ×10⁹/L", 3, {"anc": ("1.2 10^9/L", None)}, {}),
    ("fails at the boundary: ANC 1500 /uL against '> 1.5 ×10⁹/L'", 0, {"anc": ("1500 /uL", None)}, {}),
    ("fails: platelets 85000 /uL", 1, {"platelets": ("85000 /uL", None)}, {}),
    ("fails: eGFR < 50 by CKD-EPI 2021 from creatinine 2.4 mg/dL; CrCl 30-60 mL/min: ifosfamide 75 % band", 0,
     {"creatinine": ("2.4 mg/dL", None)}, {}),
    ("fails: bilirubin 1.5 × ULN; doxorubicin 50 % band", 2, {"bilirubin": ("1.8 mg/dL", "1.2 mg/dL")}, {}),
    ("fails: ALT 2.5 × ULN", 3, {"alt": ("100 U/L", "40 U/L")}, {}),
    ("fails: AST 2.5 × ULN; epirubicin AST 50 % band", 1, {"ast": ("100 U/L", "40 U/L")}, {}),
    ("fails: LVEF 45 %", 2, {"lvef": ("45 %", None)}, {}),
    ("missing: no LVEF and no liver tests", 3, {"lvef": None, "alt": None, "ast": None, "bilirubin": None}, {}),
    ("missing: bilirubin without a ULN", 0, {"bilirubin": ("0.7 mg/dL", "")}, {}),
    ("stale: blood tests 5 days old", 1, {}, {"blood_age_days": 5}),
    ("ready, eGFR recorded de-indexed as 95 mL/min (indexed with the BSA)", 2,
     {"creatinine": None, "egfr": ("95 mL/min", None)}, {}),
    ("recalculate: weight 66 kg, more than 10 % below the dosing weight", 3, {}, {"weight_after": "66 kg"}),
    ("recalculate: newest weight 45 days old", 0, {}, {"weight_age_days": 45}),
    ("cycle 1 given 21 days ago; cycle 2 next", 0, {}, {"given_cycles": 1}),
    ("prior epirubicin 560 mg/m² (280 doxorubicin-equivalent): past the 300 warning after cycle 1, the plan would "
     "pass the cap at cycle 3", 2, {}, {"prior": ("epirubicin", "560 mg/m²")}),
    ("prior epirubicin 760 mg/m² (380 equivalent): cycle 1 would pass the cap; dose sign-off refused without an "
     "override, here signed with an override and given", 0, {}, {"prior": ("epirubicin", "760 mg/m²"),
                                                                 "override": True}),
]


# the demo centre's MRN issuers, written into its site file (chemo.labs.site) beside the demo database
DEMO_MRN_SYSTEM = "urn:oid:2.999.1.21.1"  # 2.999: the OID arc ISO/ITU-T keep for examples
DEMO_MRN_AUTHORITY = "CHEMO-DEMO"


def write_demo_site(store: Store) -> str | None:
    """Write the demo's site file beside its SQLite database, unless one is there; its path, else None."""
    from pathlib import Path

    from .labs.site import SITE_FILE_NAME, demo_site_text

    db = getattr(store, "path", None)
    if getattr(store, "engine", "sqlite") != "sqlite" or not isinstance(db, (str, Path)) or str(db) == ":memory:":
        return None  # a PostgreSQL record: the site file is given with --site or $CHEMO_SITE
    path = Path(db).resolve().parent / SITE_FILE_NAME
    if not path.exists():
        path.write_text(demo_site_text(DEMO_MRN_AUTHORITY, DEMO_MRN_SYSTEM), encoding="utf-8")
    return str(path)


def build_demo(store: Store) -> dict:
    from .records import add_lab, add_measurement, add_patient, add_prior, start_plan
    from .roles import add_user
    from .treatment import administer, signoff

    if patients.count(store) or record_users.role_count(store):
        finding = f"{store.path} already holds users or patients"
        raise ChemoError(finding + ": name a new database for the demo", finding=finding,
                         next_steps=(NextStep.NEW_DB,), field="db")
    first = next(iter(USERS))
    for login, role in USERS.items():
        add_user(store, first, login, role)
    approve_regimens(store)
    now = now_local()
    today = now.date()
    summary = []
    for n, (case, reg, labs, extras) in enumerate(CASES, start=1):
        mrn = f"DEMO-{n:03d}"
        sex = "female" if n % 2 else "male"
        height = f"{158 + (n * 7) % 30} cm"
        weight = f"{62 + (n * 5) % 28} kg"
        born = _dt.date(1950 + (n * 3) % 40, 1 + n % 12, 1 + (n * 5) % 27)
        weight_age = extras.get("weight_age_days", 0)
        given_cycles = extras.get("given_cycles", 0)
        start_days_ago = max(weight_age, 21 * given_cycles)
        add_patient(store, PRESCRIBER, mrn=mrn, name=f"Demo Patient {n:02d}", sex=sex, born=born.isoformat(),
                    height=height, weight=weight, measured_on=(today - _dt.timedelta(days=start_days_ago)).isoformat())
        regimen = REGIMENS[reg]
        start_plan(store, PRESCRIBER, mrn, regimen, start=(today - _dt.timedelta(days=start_days_ago)).isoformat())
        if "prior" in extras:
            drug, dose = extras["prior"]
            add_prior(store, PRESCRIBER, mrn, drug, dose, note="synthetic: earlier treatment elsewhere")
        if "weight_after" in extras:
            add_measurement(store, PRESCRIBER, mrn, weight=extras["weight_after"], on=today.isoformat())

        def record(at, overrides):
            values = dict(GOOD)
            values.update(overrides)
            for analyte, item in values.items():
                if item is None:
                    continue
                value, uln = item
                at_lab = at if analyte != "lvef" else at - _dt.timedelta(days=20)
                add_lab(store, NURSE, mrn, analyte, value, uln=uln or None, at=at_lab)

        for c in range(given_cycles):
            when = now - _dt.timedelta(days=21 * (given_cycles - c), hours=2)
            record(when, {})
        blood_at = now - _dt.timedelta(days=extras.get("blood_age_days", 0), hours=3)
        if given_cycles:
            for c in range(1, given_cycles + 1):
                day_one = now - _dt.timedelta(days=21 * (given_cycles - c + 1))
                _give_cycle(store, mrn, c, day_one)
        record(blood_at, labs)
        if extras.get("override"):
            signoff(store, PHARMACIST, mrn, 1, "dose",
                    override_reason="synthetic demo: cardio-oncology review, LVEF 62 %, dexrazoxane planned")
            signoff(store, NURSE, mrn, 1, "readiness")
            administer(store, NURSE, mrn, 1, 1)
        summary.append({"mrn": mrn, "regimen": regimen, "case": case})
    return {"db": str(store.path), "patients": summary, "users": USERS, "site_file": write_demo_site(store)}


def _give_cycle(store, mrn, cycle, day_one) -> None:
    """Sign off and give a past cycle: its labs were fresh then, so readiness is signed as of its day one."""
    import json

    from .records import active_plan, get_patient
    from .treatment import administer, signoff

    signoff(store, PHARMACIST, mrn, cycle, "dose")
    signoff(store, NURSE, mrn, cycle, "readiness", as_of=day_one)
    plan = active_plan(store, get_patient(store, mrn)["id"], mrn)
    detail = json.loads(signoffs.dose_detail(store, plan["id"], cycle))
    for day in sorted({d["day"] for d in detail["doses"]}):
        administer(store, NURSE, mrn, cycle, day, at=day_one + _dt.timedelta(days=day - 1))


# ------------------------------------------------------------------ building blocks (also used by the tests)

def add_users(store: Store, users: dict | None = None) -> None:
    """Register users {login: role or (roles...)}; the first one adds itself, a pharmacist the rest."""
    from .roles import add_user

    users = users or USERS
    pairs = [(login, role) for login, roles in users.items()
             for role in ((roles,) if isinstance(roles, str) else roles)]
    first = pairs[0][0]
    adder = next((login for login, role in pairs if role == "pharmacist"), first)
    if pairs[0][1] != "pharmacist":
        raise ValueError("the first user must be a pharmacist, who then adds the others")
    add_user(store, first, *pairs[0])
    for login, role in pairs[1:]:
        add_user(store, adder, login, role)


def approve_regimens(store: Store, regimens=REGIMENS, pharmacists=(PHARMACIST, SECOND_PHARMACIST)) -> None:
    """Two pharmacists approve each regimen (an id or a path) in this record, as a centre does before its first
    plan on it (chemo.approval); a pharmacist who approved one already is not asked again."""
    from .approval import approval_status, approve
    from .library import load_library
    from .regimen import load_regimen

    library = load_library()
    for ref in regimens:
        regimen = load_regimen(ref, library)
        for login in pharmacists:
            status = approval_status(store, regimen)
            if not status.approved and login not in status.approvers:
                approve(store, regimen, login, library=library)


def add_ready_patient(store: Store, mrn: str, regimen: str = "doxorubicin-ifosfamide", *, labs: dict | None = None,
                      at=None, sex: str = "female", born: str = "1970-05-01", height: str = "170 cm",
                      weight: str = "70 kg", prescriber: str = PRESCRIBER, nurse: str = NURSE) -> None:
    """A patient with a plan and a full set of passing labs (``labs`` overrides or omits, with None)."""
    from .records import add_lab, add_patient, start_plan

    add_patient(store, prescriber, mrn=mrn, name=f"Synthetic {mrn}", sex=sex, born=born, height=height,
                weight=weight)
    start_plan(store, prescriber, mrn, regimen)
    when = at or (now_local() - _dt.timedelta(hours=1))
    values = dict(GOOD)
    values.update(labs or {})
    for analyte, item in values.items():
        if item is not None:
            add_lab(store, nurse, mrn, analyte, item[0], uln=item[1], at=when)
