"""The unit registry (chemo.units._build_registry): pint's own registry of units.txt, with pint's
own on-disk cache (``cache_folder``) inside chemo's cache folder, and none when the cache is off."""

from __future__ import annotations

import pint
import pytest

from chemo import units
from chemo.units import _DEFINITIONS, _build_registry

TEXTS = ("170 cm", "5 ft", "75 kg", "154 lb", "1.8 m**2", "75 mg/m**2", "2 mg/kg", "9 g/dL", "97 umol/L",
         "1.5 10**9/L", "60 mL/min/std_bsa", "40 U/L", "0.7 ukat/L", "60 %", "21 day", "3 weeks", "1 h",
         "5 mg*min/mL", "10 ng/mL", "1 mmol/L", "250 mcg", "2 dL")


def parsed(registry) -> list:
    out = []
    for text in TEXTS:
        q = registry.parse_expression(text)
        out.append((text, q.magnitude, str(q.units), str(q.dimensionality), q.to_base_units().magnitude))
    return out


@pytest.fixture
def reference():
    return pint.UnitRegistry(str(_DEFINITIONS), autoconvert_offset_to_baseunit=False)


def test_without_a_cache_it_is_pints_registry_of_the_file(monkeypatch, tmp_path, reference):
    monkeypatch.setenv("CHEMO_CACHE_DIR", "off")
    monkeypatch.chdir(tmp_path)
    assert parsed(_build_registry()) == parsed(reference)
    assert list(tmp_path.iterdir()) == []  # nothing written anywhere near


def test_with_the_cache_pint_keeps_its_own_in_chemos_folder(tmp_path, monkeypatch, reference):
    monkeypatch.setenv("CHEMO_CACHE_DIR", str(tmp_path))
    first = _build_registry()  # parses the file; pint stores what it parsed
    assert list((tmp_path / "pint").iterdir())
    assert parsed(first) == parsed(reference)
    assert parsed(_build_registry()) == parsed(reference)  # from pint's cache: the same registry


def test_a_cache_file_caught_half_written_is_passed_over_and_the_file_read(tmp_path, monkeypatch, reference):
    """Two chemo commands starting at once: one reads pint's cache while the other is writing it (pint
    writes it in place).  The reader reads units.txt itself: the same registry, no EOFError."""
    monkeypatch.setenv("CHEMO_CACHE_DIR", str(tmp_path))
    _build_registry()
    written = [f for f in (tmp_path / "pint").rglob("*") if f.is_file() and f.suffix != ".json"]
    assert written
    for f in written:
        f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])  # as another process has written it so far
    assert parsed(_build_registry()) == parsed(reference)


def test_a_folder_others_may_write_to_is_not_given_to_pint(tmp_path, monkeypatch, reference):
    (tmp_path / "pint").mkdir(mode=0o700)
    tmp_path.chmod(0o777)
    monkeypatch.setenv("CHEMO_CACHE_DIR", str(tmp_path))
    assert parsed(_build_registry()) == parsed(reference)
    assert list((tmp_path / "pint").iterdir()) == []


def test_the_program_has_one_registry():
    assert pint.get_application_registry().get() is units.ureg
    assert units.Q_ is units.ureg.Quantity
