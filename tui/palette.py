"""The command palette: jump to any patient (by name or MRN) or any regimen file."""

from __future__ import annotations

from functools import partial

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider


class PatientCommands(Provider):
    """``Patient: Name (MRN)`` for every patient of the open database."""

    async def startup(self) -> None:
        self.patients = []
        backend = getattr(self.app, "backend", None)
        if backend is not None:
            try:
                self.patients = backend.patients()
            except Exception:  # a database problem shows on the patient list, not here
                self.patients = []

    def _items(self):
        for p in self.patients:
            text = f"Patient: {p.name} ({p.mrn})"
            yield text, partial(self.app.open_patient, p.id), f"{p.plan_text} · next {p.next_text}"

    async def discover(self) -> Hits:
        for text, command, help_text in self._items():
            yield DiscoveryHit(Text(text), command, text=text, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, command, help_text in self._items():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), command, text=text, help=help_text)


class RegimenCommands(Provider):
    """``Regimen: id`` for every regimen file."""

    async def startup(self) -> None:
        from chemo.library import regimens_dir

        try:
            self.ids = sorted(p.stem for p in regimens_dir().glob("*.toml"))
        except OSError:
            self.ids = []

    async def discover(self) -> Hits:
        for rid in self.ids:
            yield DiscoveryHit(Text(f"Regimen: {rid}"), partial(self.app.open_regimen, rid), text=f"Regimen: {rid}",
                               help="open in the regimen browser")

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for rid in self.ids:
            text = f"Regimen: {rid}"
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(self.app.open_regimen, rid), text=text,
                          help="open in the regimen browser")
