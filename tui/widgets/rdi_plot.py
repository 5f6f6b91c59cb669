"""Relative dose intensity on the overview: one line per drug (RDI %, the points lost to delay, reduction and
omission) and a terminal plot of the cumulative dose over time, planned against delivered.

The plot (textual-plotext, imported only when a dose has been given) draws each drug's cumulative dose as a
percentage of its planned course, so drugs in mg/m² and in mg share one scale: the planned course as one
step line (every drug of these regimens is planned on the same days), each drug's delivered dose as its own
line, against days from the plan's start.  The numbers beside it are the record; the plot is never the only
signal.
"""

from __future__ import annotations

import datetime as dt

from rich.text import Text
from textual.widgets import Static


def rdi_text(rdi) -> Text:
    """The RDI lines (also what a screen reader or a narrow terminal gets)."""
    from chemo.rdi import points

    out = Text()
    out.append("Relative dose intensity", style="bold")
    out.append(f" (target {rdi.target_pct:g} %)")
    for d in rdi.drugs:
        out.append("\n")
        if d.rdi_pct is None:
            out.append(f" {d.drug:<12} no dose given yet; planned {d.planned_intensity:.4g} {d.basis}/week")
            continue
        style = "bold white on red" if d.below_target else "bold black on green"
        out.append(f" {d.drug:<12} ")
        out.append(f" {d.rdi_pct:5.1f} % ", style=style)
        span = "" if d.complete else f", cycles 1-{d.cycles_counted} so far"
        out.append(f" lost: delay {points(d.lost_delay)}, reduction {points(d.lost_reduction)}, omission "
                   f"{points(d.lost_omission)}{span}")
    return out


def series(rdi) -> tuple[tuple, dict]:
    """((days, planned %), {drug: (days, delivered %)}) for the plot: days from the plan's start."""
    start = dt.date.fromisoformat(rdi.start_date)

    def days(d: str) -> int:
        return (dt.date.fromisoformat(d) - start).days

    planned, delivered = None, {}
    for d in rdi.drugs:
        total = d.planned_curve[-1][1] if d.planned_curve else 0
        if not total:
            continue
        if planned is None:
            xs, ys, before = [], [], 0.0
            for date, value in d.planned_curve:  # a step: flat until each planned day
                xs += [days(date), days(date)]
                ys += [before, 100 * value / total]
                before = 100 * value / total
            planned = (xs, ys)
        if d.delivered_curve:
            xs, ys = [0], [0.0]
            for date, value in d.delivered_curve:
                xs += [days(date), days(date)]
                ys += [ys[-1], 100 * value / total]
            delivered[d.drug] = (xs, ys)
    return planned, delivered


def make_plot(widget_id: str):
    """The plot widget (textual-plotext imported here, not on the app's start)."""
    from textual_plotext import PlotextPlot

    class RdiPlot(PlotextPlot):
        def show(self, rdi) -> None:
            plt = self.plt
            plt.clear_figure()
            planned, delivered = series(rdi)
            if planned is not None:
                plt.plot(*planned, label="planned", marker="braille", color="gray")
            for n, (drug, xy) in enumerate(sorted(delivered.items())):
                plt.plot(*xy, label=f"{drug} given", marker="braille", color=("cyan", "magenta", "orange")[n % 3])
            plt.title("Cumulative dose, % of the planned course")
            plt.xlabel("days from the plan's start")
            plt.ylim(0, 105)
            self.refresh()

    return RdiPlot(id=widget_id)


class RdiLines(Static):
    def show(self, rdi) -> None:
        self.update(rdi_text(rdi) if rdi is not None else "")
