"""The unit registry built from units.txt's parsed definitions (chemo.units._build_registry, with
the definitions kept in the on-disk cache) is the registry pint builds from the file itself."""

from __future__ import annotations

import pickle

import pint
import pytest

from chemo import units
from chemo.units import _DEFINITIONS, _build_registry, _registry_of

TEXTS = ("170 cm", "5 ft", "75 kg", "154 lb", "1.8 m**2", "75 mg/m**2", "2 mg/kg", "9 g/dL", "97 umol/L",
         "1.5 10**9/L", "60 mL/min/std_bsa", "40 U/L", "0.7 ukat/L", "60 %", "21 day", "3 weeks", "1 h",
         "5 mg*min/mL", "10 ng/mL", "1 mmol/L", "250 mcg", "2 dL")


def state(registry) -> dict:
    """What a registry knows: its definitions and the cache of dimensions and base units built from them."""
    cache = registry._cache
    return {"units": dict(registry._units), "prefixes": dict(registry._prefixes),
            "dimensions": dict(registry._dimensions), "suffixes": dict(registry._suffixes),
            "dimensionality": dict(cache.dimensionality), "root_units": dict(cache.root_units),
            "parse_unit": dict(cache.parse_unit)}


def parsed(registry) -> list:
    out = []
    for text in TEXTS:
        q = registry.parse_expression(text)
        out.append((text, q.magnitude, str(q.units), str(q.dimensionality), q.to_base_units().magnitude))
    return out


@pytest.fixture
def reference():
    return pint.UnitRegistry(str(_DEFINITIONS), autoconvert_offset_to_baseunit=False)


def test_from_the_file_it_is_pints_registry(monkeypatch, reference):
    monkeypatch.setenv("CHEMO_CACHE_DIR", "off")  # the path without a cache: parse units.txt
    built = _build_registry()
    assert state(built) == state(reference)
    assert parsed(built) == parsed(reference)


def test_from_cached_definitions_it_is_pints_registry(tmp_path, monkeypatch, reference):
    monkeypatch.setenv("CHEMO_CACHE_DIR", str(tmp_path))
    _build_registry()  # parses the file and stores its definitions
    assert len(list(tmp_path.glob("units-*.pickle"))) == 1
    definitions = pickle.loads(pickle.dumps(list(reference._def_parser.iter_parsed_project(
        reference._def_parser.parse_file(str(_DEFINITIONS))))))
    from_cache = _build_registry()  # from the stored definitions
    for built in (from_cache, _registry_of(definitions)):
        assert state(built) == state(reference)  # before parsing: parsing defines prefixed units
    expected = parsed(reference)
    assert parsed(from_cache) == expected and parsed(_registry_of(definitions)) == expected


def test_a_foreign_entry_is_not_used(tmp_path, monkeypatch, reference):
    monkeypatch.setenv("CHEMO_CACHE_DIR", str(tmp_path))
    _build_registry()
    (entry,) = tmp_path.glob("units-*.pickle")
    entry.write_bytes(pickle.dumps(["not a definition"]))
    assert state(_build_registry()) == state(reference)
    entry.write_bytes(b"\x80\x05truncated")
    assert state(_build_registry()) == state(reference)


def test_the_program_has_one_registry():
    assert pint.get_application_registry().get() is units.ureg
    assert units.Q_ is units.ureg.Quantity
