"""The printable cycle worksheet that the second checker signs (``chemo worksheet``).

Everything on it comes from the functions the other commands use, never
recomputed another way:

* doses: :func:`chemo.dose.calculate_cycle` on the plan's dosing body size
  (:func:`chemo.records.plan_body`), at the signed dose level when the dose
  check is signed off (else full dose), as ``chemo dose`` and the sign-off do;
* readiness: :func:`chemo.readiness.assess`, as ``chemo readiness``;
* cumulative anthracycline: :func:`chemo.treatment.cap_check`, the sum the dose
  sign-off makes (``chemo cumulative`` shows the same ledger);
* sign-offs: the ``signoffs`` rows of the cycle.

A cycle without a dose sign-off is a DRAFT: every page says DRAFT — NOT FOR
COMPOUNDING.  The worksheet is built once (:func:`build`) and written as text,
HTML or PDF (fpdf2, A4 or Letter).  The PDF uses the PDF core fonts, which hold
Latin-1 only: characters outside it are written in ASCII there (``×10^9/L``,
``<=``, ``-``); the HTML and text keep them.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import unicodedata

from attrs import frozen

from .dose_text import level_text, mg_text, protocol_text
from .errors import ChemoError
from .db import administrations
from .db.store import Store, now_local, today_local

DRAFT = "DRAFT — NOT FOR COMPOUNDING"
PAPERS = ("a4", "letter")


@frozen
class Section:
    title: str
    header: tuple = ()  # column names of a table; empty for key/value rows
    rows: tuple = ()  # tuples of cell texts
    notes: tuple = ()  # lines under the table


@frozen
class Worksheet:
    mrn: str
    cycle: int
    title: str
    draft: bool
    sections: tuple
    generated_at: str
    boxes: tuple  # (title, (label, ...)) of the empty boxes to sign by hand
    rdi: object | None = None  # chemo.rdi.Rdi of the plan: the treatment summary (the PDF's last page plots it)

    def text(self) -> str:
        out = [self.title, f"generated {self.generated_at}"]
        if self.draft:
            out.append(f"*** {DRAFT} ***")
        for s in self.sections:
            out += ["", s.title.upper()]
            if s.header:
                out += _table_text(s.header, s.rows)
            else:
                width = max((len(r[0]) for r in s.rows), default=0)
                out += [f"  {r[0].ljust(width)}  {r[1]}" for r in s.rows]
            out += [f"  {n}" for n in s.notes]
        for title, labels in self.boxes:
            out += ["", title.upper()] + [f"  {label}: ____________________" for label in labels]
        return "\n".join(out) + "\n"


def _table_text(header, rows) -> list[str]:
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    line = lambda cells: "  " + "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return [line(header), "  " + "  ".join("-" * w for w in widths)] + [line(r) for r in rows]


# ------------------------------------------------------------------ building it

def build(store: Store, mrn: str, cycle: int, as_of=None) -> Worksheet:
    """The worksheet of ``cycle``; readiness as of ``as_of`` (default now), as ``chemo readiness --date``."""
    from .cumulative import factor_of
    from .dose import calculate_cycle
    from .library import load_library
    from .readiness import assess
    from .records import active_plan, age_years, get_patient, plan_body, plan_regimen
    from .cumulative import anthracycline_mg_m2
    from .db import signoffs
    from .treatment import cap_check, checked_cycle

    library = load_library()
    patient = get_patient(store, mrn)
    plan = active_plan(store, patient["id"], mrn)
    cycle = checked_cycle(plan, cycle)
    regimen, changed = plan_regimen(plan)
    body = plan_body(plan, regimen)
    signed = signoffs.for_cycle(store, plan["id"], cycle)
    dose_signoff = signed.get("dose")
    level = 0
    from .prescription import standing

    # the mg printed are the signed doses (the prescription's mg), else the standing prescription's (a draft):
    # nothing here recomputes a dose that was prescribed or signed
    signed_detail = json.loads(dose_signoff["detail"]) if dose_signoff is not None else None
    prescription = standing(store, plan["id"], cycle)
    lapse = None
    if signed_detail is not None:
        from .prescription import lapsed

        level = signed_detail.get("dose_level", 0)
        lapse = lapsed(store, patient, plan, cycle, signed_detail, library)
    elif prescription is not None:
        level = prescription["dose_level"]
    doses = calculate_cycle(regimen, body, cycle=cycle, dose_level=level)
    given_mg = None  # (drug, day) -> mg, when a prescription or a sign-off says what is given
    if signed_detail is not None:
        given_mg = {(d["drug"], d["day"]): d["dose_mg"] for d in signed_detail["doses"]}
    elif prescription is not None:
        given_mg = {(x["drug"], x["day"]): x["dose_mg"] for x in prescription["lines"] if x["dose_mg"] is not None}
    today = today_local()
    born = _dt.date.fromisoformat(patient["born"])

    from .worksheet_parts import allergy_text, compounding_sections, measured_on, prescriber

    height_on, weight_on = measured_on(store, patient, plan)
    sections = [Section("Patient", rows=(
        ("MRN", patient["mrn"]), ("Name", patient["name"]),
        ("Born", f"{patient['born']} ({age_years(born, today)} years), {patient['sex']}"),
        ("Height", f"{plan['dosing_height_cm']:g} cm (measured {height_on})"),
        ("Weight", f"{plan['dosing_weight_kg']:g} kg (dosing weight, as written {plan['dosing_weight_text']}; "
                   f"measured {weight_on})"),
        ("BSA", f"{body.describe().removeprefix('BSA ')}; dosing body size of plan {plan['id']}, {plan['created_at'][:10]}"),
        ("Prescriber", prescriber(store, plan, cycle)),
        ("Allergies", allergy_text(store, patient)),
    ))]
    version = f"{regimen.id}, file sha256 {regimen.sha256[:12]}"
    regimen_rows = [("Regimen", regimen.name), ("Version", version),
                    ("Cycle", f"{cycle} of {plan['planned_cycles']} (every {regimen.cycle_length_days} days); "
                              f"plan started {plan['start_date']}"),
                    ("Dose level", level_text(level) + (" (signed)" if dose_signoff else " (not signed off)"))]
    from .calendar import build as calendar_of

    dates = calendar_of(store, plan, regimen, patient["mrn"]).cycle(cycle)
    date_text = f"due {dates.due.isoformat()}" + (f" (earliest {dates.earliest.isoformat()})"
                                                  if dates.earliest != dates.due else "")
    if dates.due != dates.planned:
        date_text += f", planned {dates.planned.isoformat()}"
    date_text += f"; {dates.basis}"
    if dates.days_given:
        date_text += "; given " + ", ".join(f"day {d} {at}" for d, at in dates.days_given)
    regimen_rows.append(("Dates", date_text))
    regimen_notes = []
    if lapse:
        regimen_notes.append(f"SIGN-OFF LAPSED: {lapse}: not for compounding until the doses are signed again")
    for d in dates.delays:
        regimen_notes.append(f"{'DELAYED' if d['kind'] == 'delay' else 'BROUGHT FORWARD'} from {d['due_date']} to "
                             f"{d['to_date']}: {d['reason']}" + (f" ({d['note']})" if d["note"] else "")
                             + f", by {d['recorded_by']}")
    if changed:
        regimen_notes.append(f"WARNING: the regimen file {regimen.path} has changed since the plan was started: not "
                             "for compounding (no dose is given on this plan: start a new plan)")
    sections.append(Section("Regimen", rows=tuple(regimen_rows), notes=tuple(regimen_notes)))

    rows = []
    dose_rows = []
    for a in doses.administrations:
        mg = a.dose_mg if given_mg is None else given_mg.get((a.drug, a.day))
        if mg is None:
            continue  # not prescribed
        rows.append((str(a.day), a.drug, protocol_text(a, regimen), a.level, f"{a.calculated_mg:.2f}",
                     mg_text(mg), a.route, a.infusion or ""))
        dose_rows.append({"drug": a.drug, "day": a.day, "dose_mg": mg})
    by_drug: dict = {}
    for r in dose_rows:
        by_drug[r["drug"]] = round(by_drug.get(r["drug"], 0.0) + r["dose_mg"], 6)
    totals = "; ".join(f"{drug} {mg_text(mg)} mg" for drug, mg in by_drug.items())
    dose_notes = []
    if signed_detail is not None and signed_detail.get("prescription"):
        p = signed_detail["prescription"]
        dose_notes.append(f"Doses as prescribed (prescription {p['id']}, {p['prescribed_by']}, "
                          f"{p['prescribed_at'].replace('T', ' ')[:16]}) and signed: the dispensed mg are the "
                          "prescription's")
        dose_notes += [f"Accepted {x['drug']} day {x['day']} ({', '.join(x['reasons'])}): {x['reason']}"
                       for x in p.get("accepted", [])]
    elif signed_detail is None and prescription is not None:
        dose_notes.append(f"Doses as prescribed (prescription {prescription['id']}, {prescription['prescribed_by']}), "
                          "not yet signed")
    dose_notes += [f"Cycle totals (dispensed): {totals}",
                  f"Rounding: {doses.rounding_mode} to each drug's increment, never more than "
                  f"{doses.tolerance * 100:g} % from the calculated dose"]
    dose_notes += [f"WARNING: {w}" for w in doses.warnings]
    sections.append(Section("Administrations, day by day",
                            header=("Day", "Drug", "Protocol dose (as written)", "Level", "Calculated mg",
                                    "Dispensed mg", "Route", "Infusion"),
                            rows=tuple(rows), notes=tuple(dose_notes)))

    notes = [f"{a.drug} day {a.day}: {a.note}" for a in doses.administrations if a.note]
    mesna = [a for a in doses.administrations if a.derived_from]
    for a in mesna:
        mg = a.dose_mg if given_mg is None else given_mg.get((a.drug, a.day))
        if mg is None:
            continue
        notes.append(f"{a.drug} day {a.day}: {mg_text(mg)} mg ({a.basis}" + (f"; {a.infusion})" if a.infusion
                                                                                 else ")"))
        from .dose import schedules_of

        split = schedules_of(regimen, [{"drug": a.drug, "day": a.day, "dose_mg": mg}], library)
        notes += [f"  {a.drug} day {a.day} at {t}: {mg_text(each)} mg" for t, each in split.get(f"{a.drug}:{a.day}", [])]
    notes += [n.text for n in regimen.notes]
    if notes:
        sections.append(Section("Mesna and supportive care", rows=(), notes=tuple(notes)))
    sections += compounding_sections(store, mrn, plan, cycle, regimen, doses, dose_signoff, library)

    report = assess(store, mrn, as_of, cycle=cycle)
    lab_rows = []
    for g in report.gates:
        origin = {"typed": "typed", "fhir": "FHIR", "hl7": "HL7"}.get(g.origin or "", "")
        lab_rows.append((f"{g.threshold} ({g.kind})", g.entered or "-", g.value or "-",
                         (g.collected_at or "-").replace("T", " ")[:16], origin, g.shown_status))
    lab_notes = [f"Verdict: {report.verdict()} (as of {report.as_of.replace('T', ' ')})"]
    lab_notes += [f"OVERRIDE: {g.analyte} gate failed and was overridden for cycle {cycle} by {g.override['by']} "
                  f"at {g.override['at'].replace('T', ' ')}: {g.override['reason']}" for g in report.overrides]
    lab_notes += [f"{g.analyte} {g.status}: the protocol says {g.action}" for g in report.gates
                  if not g.passes and g.action]
    lab_notes += [f"For the dose bands: {line}" for line in report.band_value_lines()]
    lab_notes += [f"MODIFY: {s.message()}" for s in report.suggestions]
    if report.recalculate:
        lab_notes.append("RECALCULATE doses: " + "; ".join(report.recalculate_reasons))
    lab_notes += [f"WARNING: {w}" for w in report.warnings]
    sections.append(Section("Readiness labs", header=("Threshold", "Result", "In threshold unit", "Collected",
                                                      "Source", "Verdict"),
                            rows=tuple(lab_rows), notes=tuple(lab_notes)))

    cap = cap_check(store, mrn, plan, cycle, dose_rows, body.bsa_m2, library)
    done = administrations.given(store, plan["id"])
    this_cycle = anthracycline_mg_m2(library, cap.report.model, dose_rows, body.bsa_m2, done, cycle)
    ledger = administrations.in_plan(store, plan["id"])
    given_here = sum(factor_of(library, cap.report.model, r["drug"]) * r["dose_mg"] / r["bsa_m2"]
                     for r in ledger if r["cycle"] == cycle)  # doses of it already given
    this_cycle += given_here
    # doses before the cycle's first day only: a reprinted worksheet does not count the later cycles given since
    later = sum(factor_of(library, cap.report.model, r["drug"]) * r["dose_mg"] / r["bsa_m2"]
                for r in ledger if r["cycle"] > cycle)
    before = cap.total_mg_m2 - this_cycle - later
    after = before + this_cycle
    cum_rows = (("Before this cycle", f"{before:.1f} mg/m² doxorubicin-equivalent"),
                ("This cycle", f"{this_cycle:.1f} mg/m²"),
                ("After this cycle", f"{after:.1f} mg/m²"),
                ("Cap", f"{cap.report.cap_mg_m2:g} mg/m² (warning from {cap.report.warn_at_mg_m2:g} mg/m²)"),
                ("Model", f"{cap.report.model}: {cap.report.factors_text()}"))
    cum_notes = [f"OVER THE CAP: {cap.finding}"] if cap.finding else []
    cum_notes += [f"WARNING: {w}" for w in cap.report.warnings]
    sections.append(Section("Cumulative anthracycline", rows=cum_rows, notes=tuple(cum_notes)))

    sign_rows = []
    for check in ("dose", "readiness"):
        s = signed.get(check)
        if s is None:
            sign_rows.append((f"{check} check", "NOT SIGNED OFF"))
        else:
            text = f"{s['login']} ({s['role']}), {s['signed_at'].replace('T', ' ')}"
            if s["override_reason"]:
                text += f"; override: {s['override_reason']}"
            for o in json.loads(s["detail"]).get("rests_on_overrides", []):
                text += f"; rests on {o['by']}'s override of the {o['analyte']} gate ({o['reason']})"
            sign_rows.append((f"{check} check", text))
    sections.append(Section("Sign-offs", rows=tuple(sign_rows)))

    boxes = (("Compounding check", ("Prepared by", "Checked by", "Date and time")),
             ("Bedside double check", ("First nurse", "Second nurse", "Date and time")))
    title = f"Cycle worksheet: {patient['mrn']} {patient['name']}, {regimen.name}, cycle {cycle}"
    from .rdi import for_plan
    from .rdi_pdf import rdi_rows

    rdi = for_plan(store, patient["mrn"], plan)
    sections.append(Section("Treatment summary: relative dose intensity",
                            header=("drug", "planned", "delivered", "RDI", "lost: delay", "reduction", "omission"),
                            rows=tuple(rdi_rows(rdi))))
    # a draft, not for compounding: unsigned, lapsed, or on a regimen file that changed (administer refuses it)
    draft = dose_signoff is None or lapse is not None or changed
    return Worksheet(patient["mrn"], cycle, title, draft, tuple(sections),
                     now_local().isoformat(sep=" "), boxes, rdi)


# ------------------------------------------------------------------ HTML

def to_html(ws: Worksheet, paper: str = "a4") -> str:
    e = html.escape
    size = "A4" if paper == "a4" else "letter"
    css = (f"@page {{ size: {size}; margin: 12mm; }} body {{ font: 10pt sans-serif; }} "
           "table {{ border-collapse: collapse; width: 100%; }} td, th {{ border: 1px solid #999; padding: 2px 4px; "
           "text-align: left; vertical-align: top; }} .draft {{ position: fixed; top: 40%; left: 5%; font-size: 44pt; "
           "color: rgba(200, 0, 0, 0.25); transform: rotate(-30deg); }} .box {{ border: 1px solid #000; height: 2.2em; }}"
           ).replace("{{", "{").replace("}}", "}")
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">', f"<title>{e(ws.title)}</title>",
           f"<style>{css}</style></head><body>"]
    if ws.draft:
        out.append(f'<div class="draft">{e(DRAFT)}</div><p><strong>{e(DRAFT)}</strong></p>')
    out += [f"<h1>{e(ws.title)}</h1>", f"<p>generated {e(ws.generated_at)}</p>"]
    for s in ws.sections:
        out.append(f"<h2>{e(s.title)}</h2>")
        if s.header:
            out.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in s.header) + "</tr>")
            out += ["<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>" for r in s.rows]
            out.append("</table>")
        elif s.rows:
            out.append("<table>" + "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in s.rows) + "</table>")
        if s.notes:
            out.append("<ul>" + "".join(f"<li>{e(n)}</li>" for n in s.notes) + "</ul>")
    for title, labels in ws.boxes:
        out.append(f"<h2>{e(title)}</h2><table>" + "".join(
            f'<tr><th>{e(label)}</th><td class="box"></td></tr>' for label in labels) + "</table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------ PDF

_ASCII = {"—": "-", "–": "-", "≤": "<=", "≥": ">=", "→": "->", "‘": "'", "’": "'", "“": '"', "”": '"',
          "…": "...", "⁰": "^0", "¹": "^1", "⁴": "^4", "⁵": "^5", "⁶": "^6", "⁷": "^7", "⁸": "^8", "⁹": "^9",
          "⁻": "^-", "·": ".", "\u2009": " ", "\u202f": " "}


def latin1(text: str) -> str:
    """What the PDF core fonts can write: Latin-1, the rest spelled in ASCII (documented in the module text)."""
    out = []
    for ch in str(text):
        if ch in _ASCII:
            out.append(_ASCII[ch])
            continue
        try:
            ch.encode("latin-1")
            out.append(ch)
        except UnicodeEncodeError:
            plain = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
            out.append(plain or "?")
    return "".join(out)


def to_pdf(ws: Worksheet, paper: str = "a4") -> bytes:
    from fpdf import FPDF

    if paper not in PAPERS:
        raise ChemoError(f"{paper!r}: expected a4 or letter", field="paper")

    class _Sheet(FPDF):
        def header(self):
            if ws.draft:
                self.set_font("helvetica", "B", 40)
                self.set_text_color(215, 215, 215)
                mark = latin1(DRAFT)
                with self.rotation(55, self.w / 2, self.h / 2):
                    self.text(self.w / 2 - self.get_string_width(mark) / 2, self.h / 2 + 5, mark)
                self.set_text_color(0, 0, 0)
            self.set_font("helvetica", "", 7)
            self.cell(0, 4, latin1(f"{ws.mrn} - cycle {ws.cycle} - generated {ws.generated_at}"
                                   + (f" - {DRAFT}" if ws.draft else "")), new_x="LMARGIN", new_y="NEXT")

        def footer(self):
            self.set_y(-10)
            self.set_font("helvetica", "", 7)
            self.cell(0, 4, f"page {self.page_no()} of {{nb}}", align="C")

    pdf = _Sheet(orientation="portrait", unit="mm", format="A4" if paper == "a4" else "letter")
    pdf.set_margins(10, 8, 10)
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_page()
    pdf.set_font("helvetica", "B", 11)
    pdf.multi_cell(0, 5, latin1(ws.title), new_x="LMARGIN", new_y="NEXT")
    for s in ws.sections:
        _pdf_section(pdf, s)
    for title, labels in ws.boxes:
        if pdf.get_y() + _BOX_MM > pdf.page_break_trigger:  # a signature block is never split across two pages
            pdf.add_page()
        _pdf_heading(pdf, title)
        pdf.set_font("helvetica", "", 8)
        width = (pdf.w - pdf.l_margin - pdf.r_margin) / len(labels)
        for label in labels:
            pdf.cell(width, 4, latin1(label), border="LTR")
        pdf.ln(4)
        for _ in labels:
            pdf.cell(width, 8, "", border="LBR")
        pdf.ln(8)
    if ws.rdi is not None and any(d.delivered_curve for d in ws.rdi.drugs):
        from .rdi_pdf import draw_page

        draw_page(pdf, ws.rdi, latin1)
    return bytes(pdf.output())


_BOX_MM = 1.5 + 5 + 4 + 8  # a signature block: the heading's gap and line, the labels, the box
_HEADING_KEEP_MM = 1.5 + 5 + 10  # a heading and the first lines under it


def _pdf_heading(pdf, title: str) -> None:
    if pdf.get_y() + _HEADING_KEEP_MM > pdf.page_break_trigger:  # a heading is not left alone at a page's foot
        pdf.add_page()
    pdf.ln(1.5)
    pdf.set_font("helvetica", "B", 9)
    pdf.cell(0, 5, latin1(title), new_x="LMARGIN", new_y="NEXT")


def _pdf_section(pdf, s: Section) -> None:
    _pdf_heading(pdf, s.title)
    pdf.set_font("helvetica", "", 7.5)
    if s.header:
        widths = _col_widths(pdf, s)
        with pdf.table(col_widths=widths, line_height=3.1, text_align="LEFT", first_row_as_headings=True,
                       padding=0.4) as table:
            table.row([latin1(h) for h in s.header])
            for r in s.rows:
                table.row([latin1(str(c)) for c in r])
    elif s.rows:
        key_w = max(pdf.get_string_width(latin1(k)) for k, _ in s.rows) + 3
        for k, v in s.rows:
            pdf.set_font("helvetica", "B", 7.5)
            pdf.cell(key_w, 3.6, latin1(k))
            pdf.set_font("helvetica", "", 7.5)
            pdf.multi_cell(0, 3.6, latin1(v), new_x="LMARGIN", new_y="NEXT")
    for n in s.notes:
        pdf.multi_cell(0, 3.4, latin1(n), new_x="LMARGIN", new_y="NEXT")


def _col_widths(pdf, s: Section) -> tuple:
    """Columns as wide as their longest cell, the widest shrunk to fit the page."""
    avail = pdf.w - pdf.l_margin - pdf.r_margin
    natural = []
    for i in range(len(s.header)):
        words = [w for c in [s.header[i]] + [str(r[i]) for r in s.rows] for w in latin1(c).split()] or [""]
        whole = max(pdf.get_string_width(latin1(str(c))) for c in [s.header[i]] + [r[i] for r in s.rows])
        longest_word = max(pdf.get_string_width(w) for w in words)
        natural.append((whole + 2.5, longest_word + 2.5))
    if sum(n for n, _ in natural) <= avail:
        return tuple(n for n, _ in natural)
    # narrow columns keep their width (never narrower than their longest word); the wide ones share the rest
    fixed = [max(w, min(n, avail / len(natural))) for n, w in natural]
    wide = [i for i, (n, _) in enumerate(natural) if n > fixed[i]]
    left = avail - sum(fixed[i] for i in range(len(natural)) if i not in wide)
    total = sum(natural[i][0] for i in wide) or 1
    return tuple(max(fixed[i], left * natural[i][0] / total) if i in wide else fixed[i] for i in range(len(natural)))


def write(ws: Worksheet, *, pdf_path=None, html_path=None, paper: str = "a4") -> list[str]:
    """Write the files asked for; the paths written."""
    from pathlib import Path

    written = []
    for path, make in ((pdf_path, lambda: to_pdf(ws, paper)), (html_path, lambda: to_html(ws, paper).encode())):
        if path is None:
            continue
        data = make()
        try:
            Path(path).write_bytes(data)
        except OSError as exc:
            raise ChemoError(f"cannot write {str(path)!r}: {exc.strerror or exc}", field="out") from None
        written.append(str(path))
    return written
