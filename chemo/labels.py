"""Compounding labels (``chemo labels``) and the scan of a label at the bedside (``chemo administer --scan``).

One label per bag or syringe of one day of a signed-off cycle (:mod:`chemo.compounding`): the
patient, MRN, drug, mg, volume, diluent, route, rate, expiry and a QR code (segno) carrying

    CHEMO1|MRN|cycle|day|drug|mg|time|hash

where ``hash`` is the first 16 hex digits of the hash of the dose sign-off's audit row: a label
printed before a new sign-off, or for another patient, day or dose, does not match.  Labels
are printed only from a dose sign-off (never from a draft).  :func:`check_scans` refuses a
scanned code that does not match a dose the sign-off holds for the day being given.
"""

from __future__ import annotations

import datetime as _dt
import io
import json

import attrs

from .db.store import Refusal, Store, now_local
from .errors import ChemoError

PREFIX = "CHEMO1"
HASH_DIGITS = 16


class ScanRefused(Refusal):
    """A scanned label that does not match the day's signed dose (exit 1)."""


@attrs.frozen
class Label:
    mrn: str
    name: str
    cycle: int
    day: int
    item: object  # chemo.compounding.Item
    payload: str
    prepared_at: _dt.datetime

    @property
    def expiry(self) -> _dt.datetime | None:
        return self.item.bag.expiry_at(self.prepared_at)


def payload(mrn: str, cycle: int, day: int, drug: str, mg: float, at: str, audit_hash: str) -> str:
    return "|".join((PREFIX, mrn, str(cycle), str(day), drug, f"{mg:g}", at, audit_hash[:HASH_DIGITS]))


def parse(code: str) -> dict:
    """A scanned code's fields; ChemoError for a code that is not a chemo label."""
    parts = str(code).strip().split("|")
    if len(parts) != 8 or parts[0] != PREFIX:
        raise ScanRefused(f"{str(code)[:60]!r} is not a chemo compounding label", field="scan")
    try:
        cycle, day, mg = int(parts[2]), int(parts[3]), float(parts[5])
    except ValueError:
        raise ScanRefused(f"{str(code)[:60]!r}: cycle, day or mg is not a number", field="scan") from None
    return {"mrn": parts[1], "cycle": cycle, "day": day, "drug": parts[4], "mg": mg, "at": parts[6], "hash": parts[7]}


def _signed(store: Store, mrn: str, cycle: int):
    from .records import active_plan, get_patient, plan_regimen
    from .db import signoffs
    from .treatment import checked_cycle
    from .db import audit as audit_log

    patient = get_patient(store, mrn)
    plan = active_plan(store, patient["id"], mrn)
    cycle = checked_cycle(plan, cycle)
    signoff = signoffs.for_cycle(store, plan["id"], cycle).get("dose")
    if signoff is None:
        raise Refusal(f"cycle {cycle} of {mrn} has no dose sign-off: labels are printed from signed doses only",
                      field="cycle")
    audit_hash = audit_log.first_hash(store, "signoffs", str(signoff["id"])) or ""
    regimen, _ = plan_regimen(plan)
    return patient, plan, cycle, json.loads(signoff["detail"]), audit_hash, regimen


def day_labels(store: Store, mrn: str, cycle: int, day: int, prepared_at: _dt.datetime | None = None) -> list[Label]:
    """The labels of one day of a signed-off cycle, in the order given."""
    from .compounding import items
    from .library import load_library

    library = load_library()
    patient, plan, cycle, detail, audit_hash, regimen = _signed(store, mrn, cycle)
    days = sorted({d["day"] for d in detail["doses"]} | {s["day"] for s in detail.get("supportive", [])})
    if day not in days:
        raise ChemoError(f"no doses on day {day} of cycle {cycle} (days: {', '.join(map(str, days))})", field="day")
    when = prepared_at or now_local()
    return [Label(patient["mrn"], patient["name"], cycle, day, i,
                  payload(patient["mrn"], cycle, day, i.drug, i.dose_mg, i.at, audit_hash), when)
            for i in items(detail, regimen, library) if i.day == day and i.labelled]


def check_scans(store: Store, mrn: str, cycle: int, days, detail: dict, audit_hash: str, codes) -> list[dict]:
    """Each scanned code parsed and matched to a signed dose of ``days``; a mismatch is refused, naming it."""
    from .compounding import items
    from .library import load_library
    from .records import active_plan, get_patient, plan_regimen

    patient = get_patient(store, mrn)
    regimen, _ = plan_regimen(active_plan(store, patient["id"], mrn))
    expected = {(i.day, i.drug, round(i.dose_mg, 6), i.at) for i in items(detail, regimen, load_library())
                if i.labelled and i.day in days}
    out = []
    for code in codes:
        f = parse(code)
        what = f"the label {f['drug']} {f['mg']:g} mg (MRN {f['mrn']}, cycle {f['cycle']} day {f['day']})"
        if f["mrn"] != mrn:
            raise ScanRefused(f"{what} is for another patient than {mrn}: do not give it", field="scan")
        if f["cycle"] != cycle or f["day"] not in days:
            given = ", ".join(map(str, days))
            raise ScanRefused(f"{what} is not for cycle {cycle} day {given}: do not give it", field="scan")
        if f["hash"] != audit_hash[:HASH_DIGITS]:
            raise ScanRefused(f"{what} was printed from another dose sign-off than the one in force: do not give it",
                              field="scan")
        if (f["day"], f["drug"], round(f["mg"], 6), f["at"]) not in expected:
            signed = sorted(f"{d} {m:g} mg at {a}" for dd, d, m, a in expected if d == f["drug"] and dd == f["day"])
            raise ScanRefused(f"{what} does not match the signed dose" + (f" ({'; '.join(signed)})" if signed else
                                                                          " (no such drug that day)")
                              + ": do not give it", field="scan")
        out.append(f)
    return out


# ------------------------------------------------------------------ the label sheet

def qr_png(text: str) -> bytes:
    import segno

    buf = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buf, kind="png", scale=4, border=2)
    return buf.getvalue()


LABEL_W, LABEL_H = 95.0, 62.0  # mm; two across, four down on A4


def to_pdf(labels: list[Label]) -> bytes:
    from fpdf import FPDF

    from .worksheet import latin1

    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(8, 8, 8)
    per_page = 8
    for n, label in enumerate(labels):
        if n % per_page == 0:
            pdf.add_page()
        col, row = n % 2, (n % per_page) // 2
        x, y = 8 + col * (LABEL_W + 4), 10 + row * (LABEL_H + 8)
        pdf.rect(x, y, LABEL_W, LABEL_H)
        b = label.item.bag
        lines = [(f"{label.name}  MRN {label.mrn}", "B", 9),
                 (f"{label.item.drug.upper()} {label.item.dose_mg:g} mg", "B", 12),
                 (f"{b.total_ml:g} mL" + (f" in {b.diluent} {b.bag_ml:g} mL" if b.bag_ml else " undiluted"), "", 8),
                 (f"drawn: {b.draw_ml:g} mL of {b.product}", "", 7),
                 (f"{b.final_mg_ml:g} mg/mL; {label.item.route}; {b.rate_ml_h:g} mL/h", "", 8),
                 (f"cycle {label.cycle} day {label.day}, {label.item.at}", "", 8),
                 (f"prepared {label.prepared_at:%Y-%m-%d %H:%M}", "", 7),
                 (f"EXPIRES {label.expiry:%Y-%m-%d %H:%M}", "B", 8)]
        handling = ", ".join(x for x in (b.vesicant.upper() if b.vesicant and b.vesicant != "non-vesicant" else "",
                                         "PROTECT FROM LIGHT" if b.light else "") if x)
        if handling:
            lines.append((handling, "B", 8))
        ty = y + 3
        for text, style, size in lines:
            pdf.set_font("helvetica", style, size)
            pdf.set_xy(x + 2, ty)
            pdf.cell(LABEL_W - 38, size * 0.45, latin1(text))
            ty += size * 0.45 + 1.2
        pdf.image(io.BytesIO(qr_png(label.payload)), x=x + LABEL_W - 35, y=y + 3, w=33, h=33)
        pdf.set_font("helvetica", "", 5)
        pdf.set_xy(x + LABEL_W - 35, y + 37)
        pdf.multi_cell(33, 2.2, latin1(label.payload))
    return bytes(pdf.output())


def write(labels: list[Label], path) -> str:
    from pathlib import Path

    try:
        Path(path).write_bytes(to_pdf(labels))
    except OSError as exc:
        raise ChemoError(f"cannot write {str(path)!r}: {exc.strerror or exc}", field="out") from None
    return str(path)
