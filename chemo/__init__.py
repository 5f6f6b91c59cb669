"""chemo: a unit-aware neoadjuvant chemotherapy protocol and dosing engine.

Scripts import the body-size functions from here::

    from chemo import bsa, crcl_cockcroft_gault, egfr_ckd_epi_2021
    bsa("170 cm", "154 lb")            # <Quantity(1.82, 'meter ** 2')>

Names are loaded on first use so that ``chemo --help`` does not pay for pint.
"""

from __future__ import annotations

__all__ = [
    "bsa",
    "crcl_cockcroft_gault",
    "egfr_ckd_epi_2021",
    "egfr_deindexed",
    "ureg",
    "ChemoError",
]

_LAZY = {
    "bsa": "chemo.bodysize",
    "crcl_cockcroft_gault": "chemo.bodysize",
    "egfr_ckd_epi_2021": "chemo.bodysize",
    "egfr_deindexed": "chemo.bodysize",
    "ureg": "chemo.units",
    "ChemoError": "chemo.errors",
}


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'chemo' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
