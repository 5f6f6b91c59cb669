"""Patients, measurements, labs, prior anthracycline exposure and treatment plans.

Every function that writes parses and checks its input *first* (units,
plausibility, dates: a :class:`ChemoError` naming the field), then opens one
``BEGIN IMMEDIATE`` transaction in which it checks the acting user's role,
writes, and appends the audit row.  A refusal or a bad value writes nothing.

Values are stored as entered (``"1200 /uL"``) beside their conversion into the
analyte's canonical unit from ``regimens/library/analytes.toml``.
"""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path

from . import audit
from .errors import ChemoError, NextStep, UnitError
from .roles import ANY, MEASURERS, REGISTRARS, require
from .db import administrations, exposure, labs, measurements, patients, plans
from .db.store import NotFound, Refusal, Store, now_local, today_local

SEXES = ("female", "male")
_RANGE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(?:-|–|to|\.\.)\s*([0-9]+(?:\.[0-9]+)?)\s*(.*)$")
# ASCII digits only (``\d`` would take full-width and other Unicode digits)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
                       r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?")
CLOCK_SKEW = _dt.timedelta(minutes=5)  # a lab time this far ahead of the clock is accepted (clocks differ)


class LabError(ChemoError):
    """A lab result whose analyte, unit or value cannot be right (exit 2)."""


# ------------------------------------------------------------------ parsing helpers

def parse_date(text, field: str, *, allow_future: bool = False) -> _dt.date:
    if isinstance(text, _dt.date) and not isinstance(text, _dt.datetime):
        day = text
    else:
        raw = str(text).strip()
        if not _DATE.fullmatch(raw):
            raise ChemoError(f"{text!r}: expected a date as YYYY-MM-DD", field=field)
        try:
            day = _dt.date.fromisoformat(raw)
        except ValueError as exc:
            raise ChemoError(f"{text!r} is not a date ({exc})", field=field) from None
    if day.year < 1900:
        raise ChemoError(f"{text!r} is before 1900", field=field)
    if not allow_future and day > today_local():
        raise ChemoError(f"{text!r} is in the future", field=field)
    return day


def parse_when(text, field: str, *, allow_future: bool = False) -> _dt.datetime:
    """A local date or date-time (``2025-03-01`` or ``2025-03-01T08:30``), to the second."""
    if isinstance(text, _dt.datetime):
        when = text
    else:
        raw = str(text).strip()
        if not _DATETIME.fullmatch(raw):
            raise ChemoError(f"{text!r}: expected a date-time as YYYY-MM-DDTHH:MM (or a date)", field=field)
        try:
            when = _dt.datetime.fromisoformat(raw)
        except ValueError as exc:
            raise ChemoError(f"{text!r} is not a date-time ({exc})", field=field) from None
    if when.tzinfo is not None:
        when = when.astimezone().replace(tzinfo=None)  # stored as local clinic time
    when = when.replace(microsecond=0)
    if when.year < 1900:
        raise ChemoError(f"{text!r} is before 1900", field=field)
    if not allow_future and when > now_local() + CLOCK_SKEW:
        raise ChemoError(f"{text!r} is in the future", field=field)
    return when


def _library():
    from .library import load_library

    return load_library()


def _body_limits():
    return _library().body_size["limits"]


def check_height(text) -> float:
    from .bodysize import height_cm

    return height_cm(text)


def check_weight(text) -> float:
    from .bodysize import weight_kg

    return weight_kg(text)


# ------------------------------------------------------------------ patients

def get_patient(store: Store, mrn: str) -> dict:
    row = patients.by_mrn(store, str(mrn).strip())
    if row is None:
        finding = f"no patient with MRN {mrn!r}"
        raise NotFound(finding + " (see the patient list)", finding=finding, next_steps=(NextStep.PATIENT_LIST,),
                       field="mrn")
    return row


def locked_patient(store: Store, mrn: str) -> dict:
    """:func:`get_patient`, then that patient's writers' lock (a per-patient transaction: the checks that follow
    see every write of the patient committed before, and no other writer of the patient until COMMIT)."""
    patient = get_patient(store, mrn)
    store.lock_patient(patient["id"])
    return patient


def add_patient(store: Store, actor: str, *, mrn: str, name: str, sex: str, born, height, weight,
                measured_on=None) -> dict:
    mrn = str(mrn).strip()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,63}", mrn):
        raise ChemoError(f"{mrn!r}: an MRN is 1-64 letters, digits, '.', '_', '/', '-'", field="mrn")
    name = str(name).strip()
    if not name or len(name) > 200:
        raise ChemoError("a name of 1-200 characters is needed", field="name")
    sex = str(sex).strip().lower()
    if sex not in SEXES:
        raise ChemoError(f"{sex!r}: expected 'female' or 'male'", field="sex")
    born_day = parse_date(born, "born")
    age = age_years(born_day, today_local())
    oldest = _body_limits()["age"][1]
    if age > oldest:
        raise ChemoError(f"{born!r} makes the patient {age} years old (more than {oldest})", field="born")
    h, w = check_height(height), check_weight(weight)
    _check_pair(h, w)
    day = parse_date(measured_on, "date") if measured_on else today_local()
    stamp = now_local().isoformat()
    with store.transaction():
        require(store, actor, REGISTRARS, "registering a patient")
        if patients.by_mrn(store, mrn):
            raise ChemoError(f"a patient with MRN {mrn!r} is already registered", field="mrn")
        record = {"mrn": mrn, "name": name, "sex": sex, "born": born_day.isoformat(),
                  "created_at": stamp, "created_by": actor}
        pid = patients.add(store, record)
        mrecord = {"patient_id": pid, "measured_on": day.isoformat(), "height_text": str(height), "height_cm": h,
                   "weight_text": str(weight), "weight_kg": w, "recorded_at": stamp, "recorded_by": actor}
        mid = measurements.add(store, mrecord)
        audit.append(store, actor, "patient.add", "patients", pid, None, record)
        audit.append(store, actor, "measure.add", "measurements", mid, None, mrecord)
    return {"id": pid, **record, "height_cm": h, "weight_kg": w}


def list_patients(store: Store) -> list[dict]:
    return patients.listing(store)


def age_years(born: _dt.date, on: _dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


# ------------------------------------------------------------------ measurements

class WeightChangeRefused(Refusal):
    """A weight that moved beyond the plausible change from the weights around it, not confirmed (exit 1)."""


def _check_pair(h: float, w: float) -> None:
    from .bodysize import check_pair

    check_pair(h, w)


def _fraction(text: str) -> float:
    from .units import parse_quantity

    return parse_quantity(text, "%").to("").magnitude


def weight_findings(store: Store, patient_id: int, w: float, day: _dt.date) -> tuple[list[str], dict | None]:
    """(warnings, implausible change or None) for a new weight ``w`` measured on ``day``.

    Warnings, at the sign-off's recalculation threshold (``[recalculate] weight_change``): the change from the
    previous weight, and from the active plan's dosing weight.  The implausible change: the largest change from
    a weight measured within ``[plausibility] weight_change_window`` of ``day`` that reaches
    ``[plausibility] weight_change``.
    """
    body = _library().body_size
    warnings = []
    rule = body.get("recalculate")
    threshold = _fraction(rule["weight_change"]) if rule else None
    eps = 1e-9
    previous = measurements.latest_weight(store, patient_id, day.isoformat())
    if threshold is not None and previous:
        moved = abs(w - previous["weight_kg"]) / previous["weight_kg"]
        if moved >= threshold - eps:
            warnings.append(f"weight {w:g} kg differs from the previous weight {previous['weight_kg']:g} kg "
                            f"({previous['measured_on']}) by {moved * 100:.1f} % (≥ {threshold * 100:g} %, the "
                            "recalculation threshold)")
    plan = plans.active(store, patient_id)
    if threshold is not None and plan:
        moved = abs(w - plan["dosing_weight_kg"]) / plan["dosing_weight_kg"]
        if moved >= threshold - eps:
            warnings.append(f"the active plan ({plan['regimen_id']}) was dosed on {plan['dosing_weight_kg']:g} kg, "
                            f"{moved * 100:.1f} % from {w:g} kg: its doses must be recalculated (a new plan) before "
                            f"the next dose sign-off ({rule['source'].split(':')[0]})")
    limits = body.get("plausibility")
    if not limits:
        return warnings, None
    from .units import parse_quantity

    limit = _fraction(limits["weight_change"])
    window = parse_quantity(limits["weight_change_window"], "day").to("day").magnitude
    low, high = (day - _dt.timedelta(days=window)).isoformat(), (day + _dt.timedelta(days=window)).isoformat()
    worst = None
    for row in measurements.weights_between(store, patient_id, low, high):
        moved = abs(w - row["weight_kg"]) / row["weight_kg"]
        if moved >= limit - eps and (worst is None or moved > worst["change"]):
            worst = {"change": moved, "weight_kg": row["weight_kg"], "measured_on": row["measured_on"],
                     "limit": limits["weight_change"], "window": limits["weight_change_window"]}
    return warnings, worst


def add_measurement(store: Store, actor: str, mrn: str, *, weight, height=None, on=None, confirm: bool = False) -> dict:
    """A new weight (and height).  Refused (:class:`WeightChangeRefused`) when it moved by the plausible change
    limit or more from a weight measured in the days around it, unless ``confirm``; the audit row then records
    the confirmation.  The result's ``warnings`` name a change at the recalculation threshold."""
    w = check_weight(weight)
    h = check_height(height) if height is not None else None
    day = parse_date(on, "date") if on else today_local()
    if h is not None:
        _check_pair(h, w)
    with store.transaction(per_patient=True):
        require(store, actor, MEASURERS, "recording a measurement")
        patient = locked_patient(store, mrn)
        warnings, implausible = weight_findings(store, patient["id"], w, day)
        if implausible and not confirm:
            finding = (f"{weight!r}{'' if str(weight).strip() == f'{w:g} kg' else f' ({w:g} kg)'} is "
                       f"{implausible['change'] * 100:.0f} % away from the weight "
                       f"{implausible['weight_kg']:g} kg measured on {implausible['measured_on']}: a change of "
                       f"{implausible['limit']} or more within {implausible['window']} is not plausible; check the "
                       "number and its unit")
            raise WeightChangeRefused(finding + ", or record it with its confirmation if it is right",
                                      finding=finding, next_steps=(NextStep.CONFIRM,), field="weight")
        if h is None:
            known = latest_body(store, patient["id"], day)["height_cm"]
            if known is not None:
                _check_pair(known, w)
        record = {"patient_id": patient["id"], "measured_on": day.isoformat(),
                  "height_text": None if height is None else str(height), "height_cm": h,
                  "weight_text": str(weight), "weight_kg": w, "recorded_at": now_local().isoformat(),
                  "recorded_by": actor}
        mid = measurements.add(store, record)
        new = dict(record)
        if implausible:
            new["confirmed"] = {"by": actor, "change_pct": round(implausible["change"] * 100, 1),
                                "from_kg": implausible["weight_kg"], "from_on": implausible["measured_on"],
                                "limit": implausible["limit"], "window": implausible["window"]}
        if warnings:
            new["warnings"] = warnings
        audit.append(store, actor, "measure.add", "measurements", mid, None, new)
    return {**record, "warnings": warnings, "confirmed": bool(implausible)}


def latest_body(store: Store, patient_id: int, on: _dt.date | None = None) -> dict:
    """The newest weight (with its date) and the newest height, on or before ``on``."""
    cutoff = (on or today_local()).isoformat()
    weight = measurements.latest_weight(store, patient_id, cutoff)
    height = measurements.latest_height(store, patient_id, cutoff)
    return {
        "weight_kg": weight and weight["weight_kg"], "weight_text": weight and weight["weight_text"],
        "weight_on": weight and weight["measured_on"],
        "height_cm": height and height["height_cm"], "height_on": height and height["measured_on"],
    }


# ------------------------------------------------------------------ labs

def parse_lab(analyte_ref: str, value_text: str, uln_text: str | None = None, range_text: str | None = None) -> dict:
    """Check a lab value against its analyte; the row to store (without patient and times)."""
    library = _library()
    analyte = library.analyte(str(analyte_ref))
    if analyte is None:
        known = ", ".join(sorted(library.analytes))
        raise LabError(f"unknown analyte {analyte_ref!r} (known: {known})", field="analyte")
    value, unit = convert_lab(analyte, value_text, "value")
    if range_text is not None:
        match = _RANGE.match(str(range_text))
        if not match:
            raise LabError(f"{range_text!r}: expected a reference range like '0.3-1.2 mg/dL'", field="range")
        low_text = f"{match.group(1)} {match.group(3)}".strip()
        high_text = f"{match.group(2)} {match.group(3)}".strip()
        if not match.group(3).strip():
            low_text = _with_unit(low_text, value_text, analyte, "range", range_text)
            high_text = _with_unit(high_text, value_text, analyte, "range", range_text)
        low, _ = convert_lab(analyte, low_text, "range", check_plausible=False)
        high, high_unit = convert_lab(analyte, high_text, "range", check_plausible=False)
        if high_unit != unit or low >= high:
            raise LabError(f"{range_text!r}: the range must rise and fit the value's unit", field="range")
        if uln_text is None:
            uln_text = high_text
    uln = None
    if uln_text is not None and str(uln_text).strip().startswith("-"):
        raise LabError(f"{str(uln_text)!r}: a negative value is not possible for the upper limit of normal of "
                       f"{analyte.id}", field="uln")
    if uln_text is not None:
        uln_text = _with_unit(str(uln_text), value_text, analyte, "uln")
        uln, uln_unit = convert_lab(analyte, uln_text, "uln", check_plausible=False)
        if uln_unit != unit:
            raise LabError(f"{uln_text!r} does not fit the value's unit {unit}", field="uln")
        if uln <= 0:
            raise LabError(f"{uln_text!r}: an upper limit of normal must be more than 0", field="uln")
        low, high = (analyte.value_in(b, analyte.unit) for b in analyte.plausible)
        if not low <= uln <= high + 1e-12:
            raise LabError(f"{analyte.id}: an upper limit of normal of {uln_text!r} (= {uln:.4g} {unit}) is outside "
                           f"the possible range {low:g}-{high:g} {unit}: check the number and its unit", field="uln")
        if analyte.uln_range:
            low, high = (analyte.value_in(b, analyte.unit) for b in analyte.uln_range)
            if not low <= uln <= high + 1e-12:
                raise LabError(f"{analyte.id}: an upper limit of normal of {uln_text!r} (= {uln:.4g} {unit}) is "
                               f"outside {low:g}-{high:g} {unit}, where reference ranges put it "
                               f"({analyte.uln_source}): check the number and its unit", field="uln")
    return {"analyte": analyte.id, "value_text": str(value_text), "value": value, "unit": unit,
            "uln_text": uln_text, "uln": uln, "range_text": range_text}


def _with_unit(text: str, value_text: str, analyte, field: str = "uln", shown: str | None = None) -> str:
    """A bare number (``--uln 40``) takes the value's unit only where that cannot be a different unit:
    for an analyte without mass/substance conversions whose value is written in the analyte's own
    unit (ALT ``60 U/L`` with ``--uln 40``).  Bilirubin, creatinine and haemoglobin (mg/dL or µmol/L,
    g/dL or mmol/L) need the unit written: a lab's "21" is µmol/L as often as not."""
    from .units import parse_quantity, split_number

    what = "upper limit of normal" if field == "uln" else "reference range"
    shown = text if shown is None else shown
    try:
        number, unit = split_number(text)
    except UnitError as exc:
        raise LabError(exc.message, field=field) from None
    if unit.strip():
        return text
    if analyte.conversions:
        raise LabError(f"{analyte.id}: {shown!r} has no unit: write the unit of the {what} (e.g. '{number:g} "
                       f"{analyte.unit}' or in the unit the lab reports), since {analyte.name} is reported in more "
                       "than one unit", field=field)
    try:
        _, value_unit = split_number(value_text)
        same = bool(value_unit.strip()) and parse_quantity(value_text).units == parse_quantity(
            f"1 {analyte.unit}").units
    except UnitError:
        same = False
    if not same:
        raise LabError(f"{analyte.id}: {shown!r} has no unit, and the value {value_text!r} is not written in "
                       f"{analyte.unit}: write the unit of the {what} (e.g. '{number:g} {analyte.unit}')", field=field)
    return f"{text.strip()} {value_unit.strip()}"


def convert_lab(analyte, text: str, field: str, *, check_plausible: bool = True) -> tuple[float, str]:
    """(number, unit): ``text`` in the analyte's canonical unit, or in its de-indexed unit (eGFR in mL/min)."""
    from .units import format_quantity, in_unit, parse_quantity

    if isinstance(text, str) and text.strip().startswith("-"):
        raise LabError(f"{text!r}: a negative value is not possible for {analyte.id}", field=field)
    try:
        q = parse_quantity(text, None, field=field)
    except UnitError as exc:
        raise LabError(f"{analyte.id}: {exc.message}", field=exc.field or field) from None
    if analyte.is_ambiguous(q):
        raise LabError(f"{analyte.id}: {text!r} is {analyte.ambiguous_message}", field=field)
    if not analyte.accepts(q):
        from .units import dimension_name

        raise LabError(f"{analyte.id}: {text!r} is {dimension_name(q)}, which does not fit {analyte.name} "
                       f"(expected a value like {analyte.unit})", field=field)
    try:
        number, unit = analyte.value_in(q, analyte.unit), analyte.unit
        scale = 1.0
    except ValueError:  # only the de-indexed unit is left (accepts() said so)
        number, unit = in_unit(q, analyte.deindexed_unit), analyte.deindexed_unit
        bsa_high = parse_quantity(_body_limits()["bsa"][1]).to("m**2").magnitude
        standard = parse_quantity(_library().body_size["egfr"]["ckd-epi-2021"]["standard_bsa"]).to("m**2").magnitude
        scale = bsa_high / standard  # the largest de-indexed value the indexed range allows
    if check_plausible:
        low, high = (analyte.value_in(b, analyte.unit) for b in analyte.plausible)
        if not low <= number <= high * scale + 1e-12:
            shown = format_quantity(q)
            raise LabError(f"{analyte.id} {text!r} ({shown}) is outside the possible range "
                           f"{low:g}-{high * scale:g} {unit}", field=field)
    return number, unit


def add_lab(store: Store, actor: str, mrn: str, analyte: str, value_text: str, *, uln=None, range_text=None,
            at=None) -> dict:
    row = parse_lab(analyte, value_text, uln, range_text)
    when = parse_when(at, "at") if at else now_local()
    with store.transaction(per_patient=True):
        require(store, actor, ANY, "recording a lab result")
        patient = locked_patient(store, mrn)
        record = {"patient_id": patient["id"], **row, "collected_at": when.isoformat(),
                  "recorded_at": now_local().isoformat(), "recorded_by": actor}
        lid = labs.add(store, record)
        audit.append(store, actor, "lab.add", "labs", lid, None, record)
    return {"id": lid, **record}


def list_labs(store: Store, mrn: str) -> list[dict]:
    patient = get_patient(store, mrn)
    return labs.for_patient(store, patient["id"])


# ------------------------------------------------------------------ prior exposure

def add_prior(store: Store, actor: str, mrn: str, drug_ref: str, dose_text: str, note: str | None = None) -> dict:
    from .units import Basis, parse_dose

    drug = _library().drug(str(drug_ref))
    if drug is None:
        raise ChemoError(f"unknown drug {drug_ref!r}", field="drug")
    if not drug.is_anthracycline:
        raise ChemoError(f"{drug.id} is not an anthracycline: prior exposure counts anthracyclines only", field="drug")
    if isinstance(dose_text, str) and dose_text.strip().startswith("-"):
        raise ChemoError(f"{dose_text!r}: a negative value is not possible for a prior {drug.id} dose", field="dose")
    dose = parse_dose(dose_text, field="dose")
    if dose.basis is not Basis.PER_M2:
        raise ChemoError(f"{dose_text!r}: give the lifetime dose in mg/m² (a cumulative dose is counted per body "
                         "surface)", field="dose")
    if dose.amount <= 0:
        raise ChemoError(f"{dose_text!r} must be more than 0 mg/m²", field="dose")
    with store.transaction(per_patient=True):
        require(store, actor, REGISTRARS, "recording prior exposure")
        patient = locked_patient(store, mrn)
        record = {"patient_id": patient["id"], "drug": drug.id, "dose_text": str(dose_text), "mg_m2": dose.amount,
                  "note": note, "recorded_at": now_local().isoformat(), "recorded_by": actor}
        rid = exposure.add(store, record)
        audit.append(store, actor, "prior.add", "prior_exposure", rid, None, record)
    return record


# ------------------------------------------------------------------ plans

def start_plan(store: Store, actor: str, mrn: str, regimen_ref: str, *, start=None, cycles: int | None = None,
               formula: str = "mosteller") -> dict:
    from .approval import require_startable
    from .dose import body_size
    from .regimen import load_regimen

    regimen = load_regimen(regimen_ref)
    start_day = parse_date(start, "start", allow_future=True) if start else today_local()
    planned = regimen.cycles if cycles is None else cycles
    if isinstance(planned, bool) or not isinstance(planned, int) or not 1 <= planned <= regimen.cycles:
        raise ChemoError(f"{cycles!r}: {regimen.id} has 1-{regimen.cycles} cycles", field="cycles")
    with store.transaction(per_patient=True):
        require(store, actor, REGISTRARS, "starting a plan")
        require_startable(store, regimen)  # not retired, its bytes approved by two pharmacists in this record
        patient = locked_patient(store, mrn)
        body = latest_body(store, patient["id"])
        if body["weight_kg"] is None or body["height_cm"] is None:
            raise ChemoError(f"{mrn}: no height and weight recorded (chemo measure)", field="mrn")
        size = body_size(height=f"{body['height_cm']} cm", weight=f"{body['weight_kg']} kg", formula=formula,
                         regimen=regimen)
        old = plans.all_active(store, patient["id"])
        for plan in old:
            plans.supersede(store, plan["id"])
            audit.append(store, actor, "plan.supersede", "plans", plan["id"], {"status": "active"},
                         {"status": "superseded"})
        record = {"patient_id": patient["id"], "regimen_id": regimen.id,
                  "regimen_path": str(Path(regimen.path).resolve()), "regimen_sha256": regimen.sha256,
                  "start_date": start_day.isoformat(), "planned_cycles": planned,
                  "dosing_weight_text": body["weight_text"], "dosing_weight_kg": body["weight_kg"],
                  "dosing_height_cm": body["height_cm"], "bsa_formula": formula, "status": "active",
                  "created_at": now_local().isoformat(), "created_by": actor}
        pid = plans.add(store, record)
        audit.append(store, actor, "plan.start", "plans", pid, None, record)
    return {"id": pid, **record, "bsa_m2": size.bsa_m2, "body": size.describe()}


def active_plan(store: Store, patient_id: int, mrn: str) -> dict:
    plan = plans.active(store, patient_id)
    if plan is None:
        finding = f"{mrn}: no treatment plan"
        raise NotFound(finding + " (start one on a regimen)", finding=finding, mrn=mrn,
                       next_steps=(NextStep.PLAN_START,), field="mrn")
    return plan


def plan_regimen(plan: dict):
    """The plan's regimen file, loaded and validated; ``changed`` when its hash differs from the plan's.

    A file with the bytes of one already validated against the same library is not validated
    again (:func:`chemo.regimen.load_regimen` keeps regimens by content).
    """
    from .library import load_library
    from .regimen import load_regimen, regimen_path

    path = Path(plan["regimen_path"])
    if not path.exists():
        path = regimen_path(plan["regimen_id"])
    regimen = load_regimen(path, load_library())
    return regimen, regimen.sha256 != plan["regimen_sha256"]


def plan_body(plan: dict, regimen):
    from .dose import body_size

    return body_size(height=f"{plan['dosing_height_cm']} cm", weight=f"{plan['dosing_weight_kg']} kg",
                     formula=plan["bsa_formula"], regimen=regimen)


def patient_summary(store: Store, mrn: str) -> dict:
    patient = get_patient(store, mrn)
    pid = patient["id"]
    return {
        "patient": {k: patient[k] for k in ("mrn", "name", "sex", "born")},
        "age_years": age_years(_dt.date.fromisoformat(patient["born"]), today_local()),
        "body": latest_body(store, pid),
        "plans": plans.for_patient(store, pid),
        "prior_exposure": exposure.for_patient(store, pid),
        "labs": labs.count_for(store, pid),
        "administrations": administrations.count_for_patient(store, pid),
    }
