"""FHIR JSON as chemo reads it, lab results and regimens alike: strict JSON (no NaN or Infinity, each key
once in an object: readers differ on which of two they keep, so a second ``value`` could change a result or a
dose unseen), an object at the top, and one line for what is wrong."""

from __future__ import annotations

import json


class NotFhirJson(ValueError):
    """Why a text is not a FHIR JSON resource, in one line (the caller names the file)."""


def fhir_object(text: str, parse_float=float) -> dict:
    """The JSON object of a FHIR resource; :class:`NotFhirJson` otherwise."""
    try:
        doc = json.loads(text, parse_float=parse_float, parse_constant=_no_constant, object_pairs_hook=_unique_keys)
    except RecursionError:
        raise NotFhirJson("not FHIR JSON: nested too deeply") from None
    except ValueError as exc:
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise NotFhirJson(f"not valid JSON: {msg}{where}") from None
    if not isinstance(doc, dict):
        raise NotFhirJson(f"expected a FHIR resource (a JSON object with resourceType), got {json_kind(doc)}")
    return doc


def json_kind(value) -> str:
    """What a JSON value is, in words: ``an object``, ``a list``, ``text``..."""
    return {dict: "an object", list: "a list", str: "text", bool: "true/false", int: "a whole number",
            float: "a decimal number"}.get(type(value), type(value).__name__)


def _unique_keys(pairs) -> dict:
    out = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key[:40]!r} is given twice in one object")
        out[key] = value
    return out


def _no_constant(name):
    raise ValueError(f"{name} is not a number JSON allows")
