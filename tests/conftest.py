"""Shared fixtures: the real regimen files, mutated copies of them, a CLI runner."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI runs the property tests derandomized: the same examples every run, so a red CI
# always means a change broke a law.  On a developer's machine they explore anew
# (and keep what they find in .hypothesis/).  No deadline: a loaded 2-core machine
# must not turn a slow example into a failure.
settings.register_profile("ci", derandomize=True, deadline=None, database=None)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

ROOT = Path(__file__).resolve().parent.parent
REGIMENS = ROOT / "regimens"
LIBRARY = REGIMENS / "library"
REGIMEN_IDS = (
    "doxorubicin-ifosfamide",
    "epirubicin-ifosfamide",
    "doxorubicin-dacarbazine",
    "pld-ifosfamide-anlotinib",
)


def regimen_text(rid: str) -> str:
    return (REGIMENS / f"{rid}.toml").read_text(encoding="utf-8")


def mutate_text(text: str, *edits) -> str:
    """Apply ``(old, new)`` or ``(old, new, nth)`` replacements to ``text``.

    Each ``old`` must occur in the text (else the test would silently check the
    unmodified file); ``nth`` (1-based) picks one occurrence, default the first.
    """
    for edit in edits:
        old, new, nth = (*edit, 1) if len(edit) == 2 else edit
        assert text.count(old) >= nth, f"{old!r} occurs {text.count(old)} times, wanted occurrence {nth}"
        start = -1
        for _ in range(nth):
            start = text.index(old, start + 1)
        text = text[:start] + new + text[start + len(old):]
    return text


@pytest.fixture
def mutated(tmp_path):
    """``mutated("doxorubicin-ifosfamide", ("75 mg/m²", "750 mg/m²"))`` -> Path of the edited copy.

    ``append=`` adds text at the end; ``name=`` names the copy (default: the regimen id).
    """

    def make(rid: str, *edits, append: str = "", name: str | None = None) -> Path:
        text = mutate_text(regimen_text(rid), *edits) + append
        path = tmp_path / f"{name or rid}.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return make


@pytest.fixture
def write_file(tmp_path):
    """Write raw bytes or text to ``tmp_path/name`` and return the Path."""

    def make(name: str, content) -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return make


@pytest.fixture(scope="session")
def library():
    from chemo.library import load_library

    return load_library()


@pytest.fixture
def runner():
    from click.testing import CliRunner

    return CliRunner()


@pytest.fixture
def chemo_cli():
    from chemo.cli import cli

    return cli
