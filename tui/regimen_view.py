"""Regimen files as the browser shows them: validation status and the content.

Only the engine (``chemo.regimen``, ``chemo.validate``) is asked; this module
turns its answers into Rich renderables.  Every regimen file in the regimens
folder is listed, valid or not: an invalid file shows every problem.
"""

from pathlib import Path

import attrs

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from .text import badge, one_line


@attrs.frozen
class RegimenEntry:
    """One regimen file: its id (the file's stem), its problems, the regimen when valid."""

    id: str
    path: str
    problems: tuple  # of str, one line each
    regimen: object | None  # chemo.regimen.Regimen

    @property
    def valid(self) -> bool:
        return self.regimen is not None and not self.problems

    @property
    def title(self) -> str:
        return self.regimen.name if self.regimen is not None else self.id


def scan_regimens(directory: Path | None = None) -> list[RegimenEntry]:
    """Every ``*.toml`` of the regimens folder, checked by the engine."""
    from chemo.errors import ChemoError
    from chemo.library import load_library, regimens_dir
    from chemo.regimen import load_regimen
    from chemo.validate import validate_file

    folder = directory or regimens_dir()
    try:
        library = load_library()
    except ChemoError:
        library = None
    entries = []
    for path in sorted(folder.glob("*.toml")):
        problems = tuple(str(p) for p in validate_file(path, library))
        regimen = None
        if not problems:
            try:
                regimen = load_regimen(path, library)
            except ChemoError as exc:
                problems = (one_line(exc),)
        entries.append(RegimenEntry(path.stem, str(path), problems, regimen))
    return entries


def _short(path: str) -> str:
    """``regimens/x.toml``: the folder and the name, the same on every machine."""
    p = Path(path)
    return f"{p.parent.name}/{p.name}"


def _days(days) -> str:
    days = sorted(days)
    if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
        return f"d{days[0]}-{days[-1]}"
    return ", ".join(f"d{d}" for d in days)


class _Table(Table):
    """A Rich table whose cells are plain text: nothing read from a file is taken as markup."""

    def add_row(self, *cells, **kwargs) -> None:
        super().add_row(*(Text(c) if isinstance(c, str) else c for c in cells), **kwargs)


def _table(*columns: str) -> Table:
    table = _Table(box=box.SIMPLE_HEAD, expand=False, pad_edge=False, show_edge=False)
    for name in columns:
        table.add_column(name, overflow="fold")
    return table


def render_regimen(entry: RegimenEntry) -> Group:
    """The whole regimen (or every problem of an invalid file) as one renderable."""
    from chemo.units import display_text

    head = Text.assemble(badge("valid" if entry.valid else "invalid"), " ", (entry.title, "bold"))
    parts: list = [head, Text(f"file {_short(entry.path)}", style="dim")]
    if not entry.valid:
        parts.append(Text(f"{len(entry.problems)} problem{'s' * (len(entry.problems) != 1)}:", style="bold"))
        parts += [Text(f"• {p}") for p in entry.problems]
        return Group(*parts)
    r = entry.regimen
    notes: list[str] = []

    def cite(source: str) -> str:
        source = display_text(source)
        if source not in notes:
            notes.append(source)
        return f"[{notes.index(source) + 1}]"

    parts.append(Text(f"sha256 {r.sha256[:16]}…  ·  {r.cycles} cycles of {r.cycle_length_days} days", style="dim"))
    parts.append(Text.assemble(("Indication ", "bold"), r.indication))
    parts.append(Text.assemble(("Source ", "bold"), display_text(r.source)))

    drugs = _table("drug", "dose as written", "per", "a day", "days", "route", "src")
    for line in r.drugs:
        drugs.add_row(line.drug, display_text(line.dose.text), line.per, str(line.daily), _days(line.days), line.route, cite(line.source))
    for d in r.derived:
        drugs.add_row(d.drug, f"{d.fraction * 100:g} % of {d.from_drug}", "day", "follows", _days(d.days), d.route,
                      cite(d.source))
    parts += [Text("Drugs and doses", style="bold underline"), drugs]

    for kind, title in (("eligibility", "Eligibility gates (before cycle 1)"),
                        ("retreatment", "Retreatment gates (before every cycle) and the protocol's action")):
        gates = [t for t in r.thresholds if t.kind == kind]
        if not gates:
            continue
        thresholds = _table("analyte", "must be", "result at most", "src")
        for t in gates:
            must = f"{t.op_text} {display_text(t.value.text)}" + (" each day" if t.each_day else "")
            thresholds.add_row(t.analyte, must, f"{t.max_age_days:g} days old", cite(t.source))
        parts += [Text(title, style="bold underline"), thresholds]
        parts += [Text(f"{t.analyte} {t.op_text} {display_text(t.value.text)} fails: {t.action}", style="italic")
                  for t in gates if t.action]
    parts.append(Text(f"Calendar: cycle N+1 due cycle N's day 1 + {r.cycle_length_days} days; up to "
                      f"{r.early_window_days} days early {cite(r.early_window_source)}"))

    if r.modifications:
        mods = _table("drug", "when", "give", "src")
        for m in r.modifications:
            band = []
            if m.low:
                band.append(f"{'≥' if m.low_inclusive else '>'} {display_text(m.low.text)}")
            if m.high:
                band.append(f"{'≤' if m.high_inclusive else '<'} {display_text(m.high.text)}")
            give = "do not give" if m.give == 0 else f"{m.give * 100:g} %"
            mods.add_row(m.drug, f"{m.analyte} {' and '.join(band)}", give, cite(m.source))
        parts += [Text("Dose modifications", style="bold underline"), mods]

    c = r.cumulative
    parts.append(Text("Cumulative anthracycline", style="bold underline"))
    parts.append(Text(f"model {c.model}; cap {c.cap:g} mg/m² doxorubicin-equivalent; warning from {c.warn_at:g} mg/m² "
                      f"{cite(c.source)}"))
    if r.bsa_cap is not None:
        parts.append(Text(f"BSA cap {r.bsa_cap:g} m² {cite(r.bsa_cap_source or r.source)}"))
    if r.supportive:
        support = _table("category", "drug", "dose", "days", "at", "route", "src")
        for s in r.supportive:
            if s.category == "hydration":
                dose = f"{s.volume_ml:g} mL over {s.duration_h:g} h"
            elif s.ratio is not None:
                dose = f"{s.ratio_text} of {s.of}" + (f" from {display_text(s.when_text)}" if s.when_text else "")
            else:
                dose = display_text(s.dose.text)
            support.add_row(s.category, s.drug or s.fluid, dose, _days(s.days), ", ".join(t.text for t in s.at),
                            s.route, cite(s.source))
        parts += [Text(f"Supportive lines (emetogenic class {r.emetogenic_class})", style="bold underline"), support]
    if r.notes:
        parts.append(Text("Supportive care and cautions", style="bold underline"))
        parts += [Text(f"• {n.text} {cite(n.source)}") for n in r.notes]
    parts.append(Text("Sources", style="bold underline"))
    parts += [Text(f"[{i}] {s}", style="dim") for i, s in enumerate(notes, 1)]
    return Group(*parts)
