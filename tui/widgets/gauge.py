"""The cumulative anthracycline gauge: given, after the next cycle, after the plan, the cap.

Each part of the bar has its own character as well as its colour (█ given,
▓ the next cycle, ░ the rest of the plan, ┃ the warning, ║ the cap), and the
numbers are written out beside it: the bar is never the only signal.
"""

import attrs
from rich.text import Text
from textual.widgets import Static


@attrs.frozen
class GaugeData:
    given: float  # doxorubicin-equivalent mg/m²
    after_next: float
    after_plan: float
    warn_at: float
    cap: float
    model: str
    model_name: str
    next_cycle: int | None
    warnings: tuple = ()


def verdict(g: GaugeData) -> tuple[str, str, str]:
    """(word, style, explanation) for where the patient stands against the cap."""
    eps = 1e-9
    if g.given > g.cap + eps:
        return "PAST CAP", "bold white on red", "already past the cap"
    if g.next_cycle and g.after_next > g.cap + eps:
        return "CAP STANDS", "bold white on red", f"cycle {g.next_cycle} would pass the cap"
    if g.after_plan > g.cap + eps:
        return "PLAN PASSES CAP", "bold black on yellow", "the rest of the plan would pass the cap"
    if g.after_next >= g.warn_at - eps:
        return "WARNING", "bold black on yellow", f"past the {g.warn_at:g} mg/m² warning"
    return "UNDER CAP", "bold black on green", "within the cap"


def render_gauge(g: GaugeData, width: int) -> Text:
    width = max(int(width), 30)
    bar_width = width - 2
    top = max(g.cap, g.after_plan, g.given) * 1.0 or 1.0
    scale = bar_width / top

    def cells(value: float) -> int:
        return max(0, min(bar_width, round(value * scale)))

    given, nxt, plan = cells(g.given), cells(g.after_next), cells(g.after_plan)
    warn, cap = min(cells(g.warn_at), bar_width - 1), min(cells(g.cap), bar_width - 1)
    chars = []
    for i in range(bar_width):
        if i == cap:
            chars.append(("║", "bold red"))
        elif i == warn:
            chars.append(("┃", "bold yellow"))
        elif i < given:
            chars.append(("█", "bold magenta"))
        elif i < nxt:
            chars.append(("▓", "magenta"))
        elif i < plan:
            chars.append(("░", "magenta"))
        else:
            chars.append(("·", "dim"))
    word, style, why = verdict(g)
    text = Text.assemble((f"[{word}]", style), " ", ("Cumulative anthracycline", "bold"),
                         f", doxorubicin-equivalent mg/m² ({g.model_name}, model {g.model}): {why}\n")
    text.append("[")
    for ch, st in chars:
        text.append(ch, style=st)
    text.append("]\n")
    next_label = f"after cycle {g.next_cycle}" if g.next_cycle else "after the next cycle (none left)"
    text.append(f"█ given {g.given:.0f}  ▓ {next_label} {g.after_next:.0f}  ░ after the plan {g.after_plan:.0f}  "
                f"┃ warn {g.warn_at:g}  ║ cap {g.cap:g} mg/m²")
    for w in g.warnings:
        text.append(f"\n! {w}", style="bold")
    return text


class Gauge(Static):
    DEFAULT_CSS = """
    Gauge {
        height: auto;
        padding: 0 1;
    }
    """

    def __init__(self, data: GaugeData | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.data = data

    def set(self, data: GaugeData | None, message: str | None = None) -> None:
        self.data = data
        self.message = message
        self.draw()

    def draw(self) -> None:
        if self.data is None:
            self.update(Text(getattr(self, "message", None) or "Cumulative anthracycline: no data", style="bold"))
        else:
            self.update(render_gauge(self.data, self.content_region.width or self.size.width or 78))

    def on_resize(self) -> None:
        self.draw()
