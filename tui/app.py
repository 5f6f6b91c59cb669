"""The chemo terminal UI: pharmacist verification and nurse readiness, keyboard first.

``make_app(db_path, user, today)`` builds the app (the tests and the ``chemo
tui`` command both use it).  The database is opened when the app mounts; a
database that cannot be opened is one message on the patient list, and the
regimen browser still works.  ``today`` fixes the app's date (snapshot tests);
by default it is the clinic's local date.
"""

from __future__ import annotations

import datetime as dt
import gc
import os

from textual.app import App
from textual.binding import Binding

from .palette import PatientCommands, RegimenCommands


class ChemoApp(App):
    CSS_PATH = "app.tcss"
    gc_paused = False  # ``chemo tui`` turns Python's garbage collector off while the app starts: see on_ready
    TITLE = "chemo"
    COMMANDS = App.COMMANDS | {PatientCommands, RegimenCommands}
    COMMAND_PALETTE_BINDING = "ctrl+p"
    BINDINGS = [
        Binding("f2", "patients", "Patients", tooltip="Back to the patient list"),
        Binding("f3", "regimens", "Regimens", tooltip="The regimen browser: every regimen file, checked"),
        Binding("ctrl+q", "quit", "Quit", priority=True, show=False),
    ]

    def __init__(self, db_path=None, user: str | None = None, today: dt.date | None = None,
                 demo: bool = False) -> None:
        super().__init__()
        self.db_path = db_path
        self.demo = demo
        self.user_arg = user
        self.today = today or dt.date.today()
        self.backend = None
        self.backend_error: str | None = None
        self.user_label = ""
        self.first_frame_shown = False

    # ------------------------------------------------------------------ start
    def on_mount(self) -> None:
        from .backend import open_backend
        from .screens.patients import PatientListScreen
        from .text import one_line

        try:
            self.backend = open_backend(self.db_path, self.user_arg, self.today, demo=self.demo)
            self.user_label = self.backend.user_label()
        except Exception as exc:
            self.backend = None
            self.backend_error = one_line(exc)
            self.user_label = self.user_arg or os.environ.get("CHEMO_USER", "")
        self.push_screen(PatientListScreen())

    def on_ready(self) -> None:
        """The first frame has been laid out (Textual's ``Ready``): it is drawn in full, and the patient list's
        readiness badges may start (each assessment holds the app ~10 ms, so none starts before the rows are on
        the terminal).

        ``on_mount`` runs inside Textual's start-up batch, which holds the output back: the first frame is laid
        out and drawn into it and dropped, and the frames after it carry only what changed.  Without a full
        redraw the rows would reach the terminal only when something lays the screen out again (the first
        readiness badge, after an assessment or two)."""
        from .screens.patients import PatientListScreen

        self.first_frame_shown = True
        for widget in self.screen.walk_children():
            widget.refresh()
        if self.gc_paused:
            # Start-up leaves ~100,000 long-lived objects (modules, classes, styles, the unit registry): a
            # full collection among them took ~25 ms of every launch.  They move to the permanent
            # generation, which no collection scans, and collecting resumes for what the app makes from now.
            self.gc_paused = False
            gc.freeze()
            gc.enable()
        if isinstance(self.screen, PatientListScreen):
            self.screen.start_assessing()

    def on_unmount(self) -> None:
        if self.backend is not None:
            self.backend.close()

    # ------------------------------------------------------------------ navigation
    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """F2 is not shown (nor listed) on the patient list itself: it would do nothing there."""
        from .screens.patients import PatientListScreen

        if action == "patients" and isinstance(self.screen, PatientListScreen):
            return False
        return True

    def action_back(self) -> None:
        if len(self.screen_stack) > 2:
            self.pop_screen()

    def _to_base(self) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()

    def action_patients(self) -> None:
        from .screens.patients import PatientListScreen

        self._to_base()
        if isinstance(self.screen, PatientListScreen):
            self.screen.clear_search()

    def action_regimens(self) -> None:
        self.open_regimen(None)

    def open_regimen(self, regimen_id: str | None) -> None:
        from .screens.regimens import RegimenScreen

        if isinstance(self.screen, RegimenScreen):
            if regimen_id:
                self.screen.choose(regimen_id)
            return
        self.push_screen(RegimenScreen(select=regimen_id))

    def open_patient(self, patient_id) -> None:
        from .screens.overview import OverviewScreen

        self._to_base()
        self.push_screen(OverviewScreen(patient_id))


def make_app(db_path=None, user: str | None = None, today: dt.date | None = None, demo: bool | None = None) -> ChemoApp:
    """The app on ``db_path`` (else ``$CHEMO_DB``; else the embedded demo database, created on first run)."""
    if demo is None:
        demo = not db_path and not os.environ.get("CHEMO_DB")
    return ChemoApp(db_path=db_path, user=user, today=today, demo=demo)
