"""The on-disk regimen cache (chemo.regimen.load_regimen with a library): served only for the
same regimen bytes checked against the same library files, never for a file with problems."""

from __future__ import annotations

import os
import shutil

import attrs
import pytest

from chemo.errors import ChemoError
from chemo import regimen as regimen_module
from chemo.library import _load
from chemo.regimen import Regimen, load_regimen

from conftest import LIBRARY, REGIMENS


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A copy of the library and of one regimen, and a cache folder of this test's own."""
    shutil.copytree(LIBRARY, tmp_path / "library")
    shutil.copy(REGIMENS / "doxorubicin-ifosfamide.toml", tmp_path / "ai.toml")
    monkeypatch.setenv("CHEMO_CACHE_DIR", str(tmp_path / "cache"))
    _load.cache_clear()
    regimen_module._CHECKED.clear()
    yield tmp_path
    _load.cache_clear()
    regimen_module._CHECKED.clear()


def entries(tmp_path):
    return sorted((tmp_path / "cache").glob("regimen-*.pickle"))


def library(tmp_path):
    _load.cache_clear()
    return _load(str(tmp_path / "library"))


def rewrite(path, old: str, new: str) -> None:
    """Change the text, keeping the modification time: the key is the bytes."""
    st = path.stat()
    path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_second_load_comes_from_the_cache_and_equals_the_file(folder):
    first = load_regimen(folder / "ai.toml", library(folder))
    assert len(entries(folder)) == 1
    regimen_module._CHECKED.clear()  # a new process: only the disk remembers
    second = load_regimen(folder / "ai.toml", library(folder))
    assert isinstance(second, Regimen) and second == first and second is not first
    assert second.drugs[0].dose.text == "75 mg/m²" and second.path == str(folder / "ai.toml")


def test_a_changed_regimen_byte_is_read_anew(folder):
    load_regimen(folder / "ai.toml", library(folder))
    rewrite(folder / "ai.toml", 'dose = "75 mg/m²"', 'dose = "60 mg/m²"')
    assert load_regimen(folder / "ai.toml", library(folder)).drugs[0].dose.text == "60 mg/m²"
    assert len(entries(folder)) == 2


def test_a_changed_library_checks_the_regimen_again(folder):
    load_regimen(folder / "ai.toml", library(folder))
    rewrite(folder / "library" / "drugs.toml", 'cycle = ["90 mg/m²", "270 mg"]', 'cycle = ["70 mg/m²", "270 mg"]')
    with pytest.raises(ChemoError, match="above the largest plausible cycle dose"):  # 75 mg/m² a cycle > 70
        load_regimen(folder / "ai.toml", library(folder))


def test_a_regimen_with_problems_is_refused_every_time_and_never_stored(folder):
    rewrite(folder / "ai.toml", 'dose = "75 mg/m²"', 'dose = "75 mg/m"')
    for _ in range(2):
        with pytest.raises(ChemoError):
            load_regimen(folder / "ai.toml", library(folder))
    assert entries(folder) == []


def test_only_with_a_library_read_from_known_files(folder):
    load_regimen(folder / "ai.toml")  # no library given: read and checked, not stored
    assert entries(folder) == []
    lib = library(folder)
    assert lib.key is not None
    load_regimen(folder / "ai.toml", attrs.evolve(lib, key=None))  # a library not read from known files
    assert entries(folder) == []


def test_in_one_process_a_regimen_is_checked_once_per_content(folder):
    """The same bytes against the same library: the same checked regimen, whichever caller asks;
    a changed byte (same modification time): checked afresh."""
    lib = library(folder)
    first = load_regimen(folder / "ai.toml", lib)
    assert load_regimen(folder / "ai.toml", lib) is first
    rewrite(folder / "ai.toml", 'dose = "75 mg/m²"', 'dose = "60 mg/m²"')
    assert load_regimen(folder / "ai.toml", lib).drugs[0].dose.text == "60 mg/m²"
