"""The worksheet's last page: the treatment summary, relative dose intensity per drug and the cumulative dose
over time, planned against given, drawn with fpdf2's own drawing primitives (lines, rectangles, text).

Each drug's cumulative dose is drawn as a percentage of its planned course so drugs in mg/m² and mg share one
scale; the planned course is one step line, each drug's given dose its own line with its own dash pattern as
well as its colour (a grey-scale print keeps them apart).  The numbers are printed beside the plot.
"""

from __future__ import annotations

import datetime as _dt

from .rdi import points

COLOURS = ((0, 102, 204), (204, 0, 102), (230, 120, 0))
DASHES = ((0, 0), (1.5, 1), (0.6, 0.8))


def rdi_rows(rdi) -> list[tuple]:
    """(drug, planned, delivered, RDI, delay, reduction, omission) cells of the summary table."""
    rows = []
    for d in rdi.drugs:
        if d.rdi_pct is None:
            rows.append((d.drug, f"{d.planned_intensity:.4g} {d.basis}/week", "none given", "-", "-", "-", "-"))
            continue
        flag = f" (below {d.target_pct:g} %)" if d.below_target else ""
        rows.append((d.drug, f"{d.planned_intensity:.4g} {d.basis}/week",
                     f"{d.delivered_intensity:.4g} {d.basis}/week", f"{d.rdi_pct:.1f} %{flag}",
                     f"{points(d.lost_delay)}", f"{points(d.lost_reduction)}", f"{points(d.lost_omission)}"))
    return rows


def _days(start: _dt.date, text: str) -> int:
    return (_dt.date.fromisoformat(text) - start).days


def draw_page(pdf, rdi, latin1) -> None:
    """Add the treatment-summary page to ``pdf`` (an fpdf2 FPDF)."""
    pdf.add_page()
    pdf.set_font("helvetica", "B", 11)
    pdf.cell(0, 6, latin1(f"Treatment summary: relative dose intensity, {rdi.regimen}"), new_x="LMARGIN",
             new_y="NEXT")
    pdf.set_font("helvetica", "", 7.5)
    pdf.multi_cell(0, 3.6, latin1(
        f"{rdi.planned_cycles} cycles of {rdi.cycle_length_days} days planned from {rdi.start_date}. RDI = delivered "
        f"dose intensity (each day's mg over that day's BSA, over the weeks actually taken) / planned dose intensity; "
        f"points lost split into delay, reduction and omission. Target {rdi.target_pct:g} % ({rdi.target_source})."),
        new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    header = ("drug", "planned", "delivered", "RDI", "lost: delay", "reduction", "omission")
    with pdf.table(line_height=4, text_align="LEFT", first_row_as_headings=True, padding=0.8) as table:
        table.row(list(header))
        for r in rdi_rows(rdi):
            table.row([latin1(str(c)) for c in r])
    for cycle, late, reasons in rdi.delays:
        why = f": {'; '.join(reasons)}" if reasons else ""
        pdf.multi_cell(0, 3.6, latin1(f"cycle {cycle} started {late} days late{why}"), new_x="LMARGIN",
                       new_y="NEXT")
    pdf.ln(4)
    _plot(pdf, rdi, latin1)


def _plot(pdf, rdi, latin1) -> None:
    start = _dt.date.fromisoformat(rdi.start_date)
    curves = [d for d in rdi.drugs if d.planned_curve and d.planned_curve[-1][1] > 0]
    if not curves:
        return
    last = max(_days(start, d.planned_curve[-1][0]) for d in curves)
    for d in curves:
        if d.delivered_curve:
            last = max(last, _days(start, d.delivered_curve[-1][0]))
    span = max(last + 1, rdi.cycle_length_days * rdi.planned_cycles)
    left, top = pdf.l_margin + 14, pdf.get_y() + 6
    width, height = pdf.w - pdf.r_margin - left - 4, 80
    pdf.set_font("helvetica", "B", 9)
    pdf.text(pdf.l_margin, top - 2, "Cumulative dose, % of the planned course")

    def x(day: float) -> float:
        return left + width * day / span

    def y(pct: float) -> float:
        return top + height - height * pct / 105

    # axes and grid
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.3)
    pdf.rect(left, top, width, height)
    pdf.set_font("helvetica", "", 6.5)
    pdf.set_line_width(0.1)
    pdf.set_draw_color(200, 200, 200)
    for pct in (25, 50, 75, 100):
        pdf.line(left, y(pct), left + width, y(pct))
    for pct in (0, 25, 50, 75, 100):
        pdf.text(left - 8, y(pct) + 1, f"{pct} %")
    for c in range(rdi.planned_cycles + 1):
        day = c * rdi.cycle_length_days
        if day <= span:
            pdf.line(x(day), top, x(day), top + height)
            pdf.text(x(day) - 2, top + height + 4, f"{day}")
    pdf.text(left + width / 2 - 15, top + height + 8, "days from the plan's start")
    # the planned course: a step line (the first drug's; every drug of these regimens is planned on the same days)
    total = curves[0].planned_curve[-1][1]
    pdf.set_draw_color(140, 140, 140)
    pdf.set_line_width(0.8)
    before = 0.0
    px = 0.0
    for date, value in curves[0].planned_curve:
        day = _days(start, date)
        pdf.line(x(px), y(before), x(day), y(before))
        pdf.line(x(day), y(before), x(day), y(100 * value / total))
        px, before = day, 100 * value / total
    legend = [("planned", (140, 140, 140), (0, 0))]
    pdf.set_line_width(0.45)
    for n, d in enumerate(curves):
        colour, dash = COLOURS[n % len(COLOURS)], DASHES[n % len(DASHES)]
        pdf.set_draw_color(*colour)
        pdf.set_dash_pattern(dash=dash[0], gap=dash[1])
        total = d.planned_curve[-1][1]
        before, px = 0.0, 0.0
        for date, value in d.delivered_curve:
            day = _days(start, date)
            pdf.line(x(px), y(before), x(day), y(before))
            pdf.line(x(day), y(before), x(day), y(100 * value / total))
            px, before = day, 100 * value / total
        pdf.set_dash_pattern()
        label = f"{d.drug} given" + ("" if d.rdi_pct is None else f" (RDI {d.rdi_pct:.1f} %)")
        legend.append((label, colour, dash))
    # the legend, under the plot
    ly = top + height + 13
    lx = left
    pdf.set_font("helvetica", "", 7)
    for label, colour, dash in legend:
        pdf.set_draw_color(*colour)
        pdf.set_line_width(0.8 if label == "planned" else 0.45)
        pdf.set_dash_pattern(dash=dash[0], gap=dash[1])
        pdf.line(lx, ly - 1, lx + 8, ly - 1)
        pdf.set_dash_pattern()
        pdf.text(lx + 10, ly, latin1(label))
        lx += 12 + pdf.get_string_width(latin1(label)) + 6
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.2)
    pdf.set_y(ly + 4)
