"""Reading untrusted TOML data files and collecting every problem in them.

A pharmacist or a CI job wants every problem of a file at once, one line each,
``FILE: FIELD.PATH: message``; never a traceback, whatever the bytes.  Readers
walk a parsed document with :class:`Table`, which records a problem and returns
``None`` for a bad field instead of raising, so one run finds them all.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import attrs

from .errors import ChemoError, RegimenError
from .units import in_unit, parse_dose, parse_quantity

MAX_FILE_BYTES = 256 * 1024  # a regimen is a few kB; anything this large is not one
FILE = "(file)"  # the path given to problems of the file as a whole


@attrs.frozen
class Problem:
    """One problem of a data file: the file, the field's path in it, and what was expected."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message}"

    def as_json(self) -> dict:
        return {"file": self.file, "path": self.path, "message": self.message}


@attrs.frozen
class Source:
    """A data file's bytes, their hash and the parsed document (or None)."""

    path: str
    sha256: str | None
    document: dict | None
    problems: list = attrs.field(factory=list)


def read_toml(path: str | os.PathLike) -> Source:
    """Read a TOML file defensively: size, encoding, syntax, emptiness."""
    name = str(path)

    try:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            return _too_large(name, size)
        data = Path(path).read_bytes()
    except IsADirectoryError:
        return _failed(name, "is a folder, expected a TOML file")
    except FileNotFoundError:
        return _failed(name, "no such file")
    except OSError as exc:
        return _failed(name, f"cannot read: {exc.strerror or exc}")
    return parse_toml(data, name)


def _failed(name: str, message: str) -> Source:
    return Source(name, None, None, [Problem(name, FILE, message)])


def _too_large(name: str, size: int) -> Source:
    return _failed(name, f"file is {size:,} bytes; a regimen file is at most {MAX_FILE_BYTES:,}")


def parse_toml(data: bytes, name: str) -> Source:
    """A TOML document from its bytes (a file's, or a git revision's of it), named ``name`` in every
    problem: the same checks as :func:`read_toml` after the reading."""
    if len(data) > MAX_FILE_BYTES:
        return _too_large(name, len(data))
    digest = hashlib.sha256(data).hexdigest()
    if not data.strip():
        return _failed(name, "file is empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _failed(name, f"not UTF-8 text (bad byte at offset {exc.start})")
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        return _failed(name, "contains NUL bytes: not a text file")
    import tomllib  # here: a library and regimen read from the cache need no TOML parser

    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return _failed(name, f"not valid TOML: {exc}")
    except RecursionError:
        return _failed(name, "not valid TOML: nested too deeply")
    if not document:
        return _failed(name, "file has no keys")
    return Source(name, digest, document)


class Table:
    """A TOML table being read: typed getters that record problems, not raise."""

    def __init__(self, data, path: str, problems: list[Problem], file: str):
        self.data = data if isinstance(data, dict) else {}
        self.path = path
        self.problems = problems
        self.file = file
        self.ok = isinstance(data, dict)
        if not self.ok:
            self.problem(f"expected a table, got {_kind(data)}", at="")

    # -- recording
    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def problem(self, message: str, at: str | None = None) -> None:
        where = self.path if at == "" else self.at(at) if at else self.path or FILE
        self.problems.append(Problem(self.file, where or FILE, message))

    # -- structure
    def allow(self, *keys: str) -> None:
        """Report keys that are not among ``keys`` (typos), with a suggestion."""
        for key in self.data:
            if key not in keys:
                import difflib  # only for a misspelt key: not on every start-up

                close = difflib.get_close_matches(str(key), keys, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else f" (expected one of: {', '.join(keys)})"
                self.problem(f"unknown key{hint}", at=str(key))

    def table(self, key: str, required: bool = True) -> "Table | None":
        if key not in self.data:
            if required:
                self.problem("missing table", at=key)
            return None
        return Table(self.data[key], self.at(key), self.problems, self.file)

    def tables(self, key: str, required: bool = False) -> list["Table"]:
        value = self.data.get(key)
        if value is None:
            if required:
                self.problem("missing: expected at least one entry", at=key)
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.problem(f"expected an array of tables ([[{key}]]), got {_kind(value)}", at=key)
            return []
        return [Table(v, f"{self.at(key)}[{i}]", self.problems, self.file) for i, v in enumerate(value, 1)]

    # -- scalars
    def get(self, key: str, kind, required: bool, what: str):
        if key not in self.data:
            if required:
                self.problem(f"missing: expected {what}", at=key)
            return None
        value = self.data[key]
        if kind is int and isinstance(value, bool) or not isinstance(value, kind):
            self.problem(f"expected {what}, got {_kind(value)} {_show(value)}", at=key)
            return None
        return value

    def text(self, key: str, required: bool = True, choices: tuple | None = None) -> str | None:
        value = self.get(key, str, required, "text")
        if value is None:
            return None
        if not value.strip():
            self.problem("is empty", at=key)
            return None
        if choices is not None and value not in choices:
            self.problem(f"{value!r} is not one of: {', '.join(choices)}", at=key)
            return None
        return value

    def integer(self, key: str, low: int, high: int, required: bool = True) -> int | None:
        value = self.get(key, int, required, "a whole number")
        if value is not None and not low <= value <= high:
            self.problem(f"{value} is outside {low}-{high}", at=key)
            return None
        return value

    def number(self, key: str, low: float, high: float, required: bool = True) -> float | None:
        value = self.get(key, (int, float), required, "a number")
        if value is None or isinstance(value, bool):
            if isinstance(value, bool):
                self.problem(f"expected a number, got {value!r}", at=key)
            return None
        if not low <= value <= high:
            self.problem(f"{value} is outside {low}-{high}", at=key)
            return None
        return float(value)

    def texts(self, key: str, required: bool = False) -> list[str]:
        value = self.data.get(key)
        if value is None:
            if required:
                self.problem("missing: expected a list of text", at=key)
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(f"expected a list of text, got {_kind(value)} {_show(value)}", at=key)
            return []
        return value

    def quantity(self, key: str, expect: str, required: bool = True, value=None):
        raw = value if value is not None else self.get(key, str, required, f"text with a unit (e.g. \"{_example(expect)}\")")
        if raw is None:
            return None
        try:
            return parse_quantity(raw, expect)
        except ChemoError as exc:
            self.problem(exc.message, at=key)
            return None

    def dose(self, key: str, required: bool = True):
        raw = self.get(key, str, required, 'a dose as text with its unit (e.g. "75 mg/m²")')
        if raw is None:
            return None
        try:
            return parse_dose(raw)
        except ChemoError as exc:
            self.problem(exc.message, at=key)
            return None

    def fraction(self, key: str, required: bool = True, high: float = 1.0):
        """A percentage written with its unit, ``"60 %"``, as a fraction (0.6)."""
        q = self.quantity(key, "%", required)
        if q is None:
            return None
        value = in_unit(q, "")
        if not 0 <= value <= high:
            self.problem(f"{self.data[key]!r} is outside 0-{high * 100:g} %", at=key)
            return None
        return value


def _kind(value) -> str:
    return {
        dict: "a table", list: "a list", str: "text", int: "a whole number",
        float: "a number", bool: "true/false",
    }.get(type(value), type(value).__name__)


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _example(unit: str) -> str:
    return {"day": "21 days", "%": "60 %", "m**2": "2.0 m²", "mg": "10 mg"}.get(unit, f"1 {unit}")


def raise_problems(problems: list[Problem]) -> None:
    """For loaders that need a valid file: the first problem as an error, all counted."""
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more problem{'s' * (len(problems) > 2)}: run chemo validate)" if len(problems) > 1 else ""
        raise RegimenError(f"{first.path}: {first.message}{more}", file=first.file)
