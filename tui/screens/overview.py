"""Patient overview: body size, the recalculate flag, the plan's cycles, cumulative anthracycline."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from ..text import badge, one_line
from ..widgets.gauge import Gauge
from ..widgets.rdi_plot import RdiLines, make_plot
from ..widgets.footer import KeyFooter
from ..widgets.titlebar import TitleBar
from .base import ChemoScreen


class OverviewScreen(ChemoScreen):
    CSS_PATH = "overview.tcss"
    BINDINGS = [
        Binding("escape", "app.back", "Back", tooltip="Back to the patient list"),
        Binding("v", "verify", "Verify", tooltip="Verify the doses of the next cycle (pharmacist)"),
        Binding("n", "readiness", "Readiness", tooltip="The labs before the next cycle (nurse)"),
        Binding("g", "regimen", "Regimen", tooltip="The plan's regimen in the regimen browser"),
        Binding("t", "treatment_day", "Day", tooltip="The calendar: give each day, record a weight, delay (nurse)"),
        # not in the footer (full at 80 columns): listed by ? and F1
        Binding("p", "prescribe", "Rx", show=False, tooltip="Prescribe the next cycle (prescriber)"),
    ]

    def __init__(self, patient_id: int) -> None:
        super().__init__()
        self.patient_id = patient_id
        self.data = None

    def compose(self) -> ComposeResult:
        yield TitleBar("Patient", "overview")
        with VerticalScroll(id="overview-body"):
            yield Static(id="overview-person")
            yield Static(id="overview-body-size")
            yield Static(id="overview-plan")
            yield Gauge(id="overview-gauge")
            yield RdiLines(id="overview-rdi")
            yield Static(id="overview-problems")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.load()
        self.query_one("#overview-body").focus()

    def on_screen_resume(self) -> None:
        self.load()

    def load(self) -> None:
        person = self.query_one("#overview-person", Static)
        backend = self.app.backend
        if backend is None:
            person.update(Text("No patient record is open.", style="bold"))
            return
        try:
            self.data = backend.overview(self.patient_id)
        except Exception as exc:
            self.data = None
            person.update(Text(f"Cannot show this patient: {one_line(exc)}", style="bold"))
            return
        d = self.data
        p = d.patient
        self.query_one(TitleBar).set_subtitle(f"{p['name']} ({p['mrn']})", essential=True)
        person.update(Text.assemble((p["name"], "bold"), f"  MRN {p['mrn']} · {p['sex']} · {d.age} years (born {p['born']})"))

        size = Text()
        size.append("Height ", style="bold")
        size.append(d.height_text)
        size.append("   Weight ", style="bold")
        size.append(d.weight_text + "\n")
        size.append(d.body_text + "\n")
        if d.recalculate:
            size.append_text(badge("not-ready", "RECALCULATE"))
            size.append(" " + "; ".join(d.recalculate_reasons), style="bold")
        elif d.plan is not None:
            size.append_text(badge("ok", "DOSES CURRENT"))
            size.append(" no recalculation needed: the weight is within the plan's rule")
        if d.prior:
            size.append("\nPrior anthracycline: " + "; ".join(d.prior))
        if d.allergies:  # shown when recorded (the worksheet says "none recorded" otherwise)
            size.append("\nALLERGIES: " + "; ".join(d.allergies), style="bold")
        self.query_one("#overview-body-size", Static).update(size)

        plan = Text()
        if d.plan is None:
            plan.append("No treatment plan.", style="bold")
        else:
            r = d.regimen
            name = r.name if r is not None else d.plan["regimen_id"]
            plan.append("Plan ", style="bold")
            plan.append(f"{name} · started {d.plan['start_date']} · {d.plan['planned_cycles']} cycles")
            if r is not None:
                plan.append(f" of {r.cycle_length_days} days")
            for s in d.cycles:
                plan.append("\n")
                plan.append(f" C{s.cycle} ")
                plan.append_text(badge(s.status if s.status != "partly-given" else "due",
                                       "PARTLY GIVEN" if s.status == "partly-given" else None))
                plan.append(f" {s.words}")
                signs = []
                if s.dose_signed:
                    signs.append(f"doses signed by {s.dose_signed}")
                if s.readiness_signed:
                    signs.append(f"readiness by {s.readiness_signed}")
                if signs and s.status != "given":
                    plan.append(" · " + ", ".join(signs), style="italic")
        self.query_one("#overview-plan", Static).update(plan)
        gauge = self.query_one("#overview-gauge", Gauge)
        if d.gauge is not None:
            gauge.set(d.gauge)
        else:
            gauge.set(None, "Cumulative anthracycline: no plan" if d.plan is None else "Cumulative anthracycline: cannot be counted (see below)")
        self.show_rdi(d.rdi)
        self.query_one("#overview-problems", Static).update(
            Text("\n".join(f"! {x}" for x in d.problems), style="bold") if d.problems else "")

    def show_rdi(self, rdi) -> None:
        """RDI per drug, and the plot of the cumulative dose once a dose has been given (mounted then)."""
        self.query_one("#overview-rdi", RdiLines).show(rdi)
        given = rdi is not None and any(d.delivered_curve for d in rdi.drugs)
        plots = self.query("#overview-rdi-plot")
        if not given:
            for plot in plots:
                plot.display = False
            return
        if plots:
            plot = plots.first()
        else:
            plot = make_plot("overview-rdi-plot")
            self.query_one("#overview-body").mount(plot, after=self.query_one("#overview-rdi"))
        plot.display = True
        plot.show(rdi)

    def action_verify(self) -> None:
        from .verify import VerifyScreen

        self.open_dose_screen(VerifyScreen, "Nothing to verify")

    def action_prescribe(self) -> None:
        from .prescribe import PrescribeScreen

        self.open_dose_screen(PrescribeScreen, "Nothing to prescribe")

    def open_dose_screen(self, screen_class, nothing: str) -> None:
        """The verify or prescriber screen on this patient's cycle (the backend's dose context), or why not."""
        backend = self.app.backend
        if backend is None:
            return
        try:
            context = backend.dose_context(self.patient_id)
        except Exception as exc:
            self.app.bell()
            self.notify(one_line(exc), title=nothing, severity="error", markup=False)
            return
        self.app.push_screen(screen_class(context, backend))

    def action_readiness(self) -> None:
        from .readiness import ReadinessScreen

        if self.app.backend is None:
            return
        self.app.push_screen(ReadinessScreen(self.patient_id))

    def action_treatment_day(self) -> None:
        from .treatment_day import TreatmentDayScreen

        if self.app.backend is None:
            return
        self.app.push_screen(TreatmentDayScreen(self.patient_id))

    def action_regimen(self) -> None:
        if self.data is not None and self.data.plan is not None:
            self.app.open_regimen(self.data.plan["regimen_id"])
