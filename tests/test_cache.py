"""The on-disk library cache (chemo.cache): a changed file is never served stale, a bad
library is never stored, and the cache only ever answers what reading the files would."""

from __future__ import annotations

import os
import shutil

import pytest

from chemo import cache
from chemo.errors import ChemoError
from chemo.library import _load
from chemo.units import Basis

from conftest import LIBRARY


@pytest.fixture
def library_copy(tmp_path, monkeypatch):
    folder = tmp_path / "library"
    shutil.copytree(LIBRARY, folder)
    monkeypatch.setenv("CHEMO_CACHE_DIR", str(tmp_path / "cache"))
    _load.cache_clear()  # the in-process cache, so that each load asks the disk
    yield folder
    _load.cache_clear()


def entries(tmp_path):
    return sorted((tmp_path / "cache").glob("library-*.pickle"))


def test_second_load_comes_from_the_cache_and_equals_the_files(library_copy, tmp_path):
    first = _load(str(library_copy))
    assert len(entries(tmp_path)) == 1
    _load.cache_clear()
    second = _load(str(library_copy))
    assert second == first and second is not first
    assert second.drugs["doxorubicin"].limits.single[Basis.PER_M2] == 90.0


def test_a_changed_byte_is_read_anew_never_served_stale(library_copy, tmp_path):
    _load(str(library_copy))
    drugs = library_copy / "drugs.toml"
    stat = drugs.stat()
    drugs.write_text(drugs.read_text(encoding="utf-8").replace('single = ["90 mg/m²", "270 mg"]',
                                                                'single = ["95 mg/m²", "270 mg"]', 1), encoding="utf-8")
    os.utime(drugs, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime: the key is the bytes
    _load.cache_clear()
    assert _load(str(library_copy)).drugs["doxorubicin"].limits.single[Basis.PER_M2] == 95.0
    assert len(entries(tmp_path)) == 2


def test_a_library_with_problems_is_refused_every_time_and_never_stored(library_copy, tmp_path):
    drugs = library_copy / "drugs.toml"
    drugs.write_text(drugs.read_text(encoding="utf-8").replace('"90 mg/m²"', '"90 mg/m"', 1), encoding="utf-8")
    for _ in range(2):
        _load.cache_clear()
        with pytest.raises(ChemoError):
            _load(str(library_copy))
    assert entries(tmp_path) == []


def test_off_stores_nothing(library_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("CHEMO_CACHE_DIR", "off")
    _load(str(library_copy))
    assert not (tmp_path / "cache").exists()


def test_a_folder_others_may_write_to_is_not_read(library_copy, tmp_path):
    first = _load(str(library_copy))
    (tmp_path / "cache").chmod(0o777)
    key = cache.key("library", [library_copy / f"{kind}.toml" for kind in ("drugs", "analytes", "body-size", "lab-units")])
    assert key is not None
    assert cache.load("library", key) is None
    (tmp_path / "cache").chmod(0o700)
    assert cache.load("library", key) == first


def test_a_truncated_entry_is_not_cached(library_copy, tmp_path):
    first = _load(str(library_copy))
    (entry,) = entries(tmp_path)
    entry.write_bytes(entry.read_bytes()[:100])
    _load.cache_clear()
    assert _load(str(library_copy)) == first


def test_body_size_for_chemo_bsa_only_for_the_files_that_checked_clean(tmp_path, monkeypatch):
    """chemo bsa reads body-size.toml's table from the cache without the library's checks, so it
    must be there only for exactly the bytes that checked clean: one edit and it is gone."""
    regimens = tmp_path / "regimens"
    shutil.copytree(LIBRARY, regimens / "library")
    monkeypatch.setenv("CHEMO_REGIMENS", str(regimens))
    monkeypatch.setenv("CHEMO_CACHE_DIR", str(tmp_path / "cache"))
    _load.cache_clear()
    assert cache.body_size() is None  # never checked: not served
    library = _load(str(regimens / "library"))
    assert cache.body_size() == library.body_size
    assert cache.body_size()["bsa"]["mosteller"]["divisor"] == 3600
    drugs = regimens / "library" / "drugs.toml"
    drugs.write_text(drugs.read_text(encoding="utf-8") + "\n# an edit\n", encoding="utf-8")
    assert cache.body_size() is None
    _load.cache_clear()
