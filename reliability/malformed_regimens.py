"""Malformed regimen files, made by mutating the real ones: every one rejected, never a traceback.

Each mutant takes one real file from ``regimens/`` and breaks one thing:

* units: a dose, duration, lab value or percentage given a unit of another
  dimension, an unknown unit, or none;
* numbers ×10 and ÷10: a dose, the cycle count, the cycle length, a derived
  fraction, a cumulative cap or warning level, a day number;
* keys: misspelt, deleted, duplicated, unknown, a misspelt table name;
* types: text for a number, a number for text, a list for text, true/false, a
  table for an array of tables, an empty text;
* encodings: Latin-1, cp1252, UTF-16, a stray invalid byte, a NUL byte,
  mojibake (UTF-8 read as Latin-1), a doubled byte-order mark;
* truncation: the file cut inside a line;
* size: over 256 kB, a 10,000-character value, a 100,000-day list, an array
  nested 5,000 deep, a drug listed 2,000 times.

Every mutant is then checked with ``chemo validate`` (in batches of 50 files; a
batch that crashes is rerun file by file): it must exit 1 and print at least
one ``FILE: FIELD: message`` line for that file, and no traceback may appear.

    python -m reliability.malformed_regimens [--count 500] [--keep DIR]
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

from .common import print_figures, REGIMENS, Figure, at_least, exactly, has_traceback, parallel, percent, run_chemo

_KV = re.compile(r'^(?P<key>[A-Za-z_][\w-]*)\s*=\s*(?P<value>.+?)\s*$')
_QTY = re.compile(r'^"(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>[^"]*)"$')

QUANTITY_KEYS = ("dose", "cycle_length", "cap", "warn_at", "value", "max_age", "from", "to", "above", "below",
                 "give", "fraction", "bsa_cap")
WRONG_UNITS = {
    "dose": ["mg/mL", "mL", "mg/m³", "mmol/L", "mg/min", "U/L", "mg/dL", "days", "%"],
    "cycle_length": ["mg", "kg", "m²", "mL", "mg/m²"],
    "max_age": ["mg", "kg", "m²", "mL/min", "g/dL"],
    "cap": ["mg", "mg/kg", "mL", "days", "g/dL"],
    "warn_at": ["mg", "mL", "days", "mmol/L"],
    "fraction": ["mg", "mL", "days", "mg/m²"],
    "give": ["mg", "mL", "days", "mg/m²"],
    "value": ["days", "mg/m²", "kg", "mL"],
}
UNKNOWN_UNITS = ["mgg/m²", "mq/m²", "furlongs", "mg/m²/zz", "tabs", "mgs/m²"]
TYPOS = {"dose": "dos", "drug": "durg", "days": "day", "per": "pre", "route": "rout", "source": "sources",
         "cycles": "cylces", "cycle_length": "cycle_lenght", "analyte": "analite", "op": "operator",
         "value": "val", "max_age": "maxage", "give": "giv", "model": "modle", "cap": "caps", "warn_at": "warn",
         "fraction": "fracton", "from": "frm", "id": "ID", "name": "nmae", "indication": "indications",
         "day_split": "daysplit", "to": "too", "above": "abov", "below": "belw"}
# keys every entry of their table must have: deleting one must be reported
REQUIRED = {"id", "name", "indication", "source", "cycle_length", "cycles", "day_split", "drug", "dose", "per",
            "days", "route", "analyte", "op", "value", "max_age", "give", "model", "cap", "warn_at", "fraction",
            "from"}


class Doc:
    """A regimen file as lines, with the key = value lines (outside comments) found."""

    def __init__(self, name: str, text: str):
        self.name = name
        self.lines = text.split("\n")
        self.sites = []  # (line index, table header, key, raw value)
        header = ""
        for i, line in enumerate(self.lines):
            stripped = line.strip()
            if stripped.startswith("["):
                header = stripped
                continue
            m = _KV.match(line)
            if m:
                self.sites.append((i, header, m.group("key"), m.group("value")))

    def pick(self, rng, keys=None, where=None):
        sites = [s for s in self.sites if (keys is None or s[2] in keys) and (where is None or where(s))]
        return rng.choice(sites) if sites else None

    def replace_line(self, index: int, new: str | None) -> str:
        lines = list(self.lines)
        if new is None:
            del lines[index]
        else:
            lines[index] = new
        return "\n".join(lines)


def _qty(value):
    return _QTY.match(value)


def _scaled(num: str, factor: float) -> str:
    value = float(num) * factor
    return f"{value:g}" if value >= 1e-4 else f"{value:.6f}"


# ------------------------------------------------------------------ mutation operators
# each returns (description, bytes) or None when the file has no site for it

def m_wrong_unit(doc, rng):
    site = doc.pick(rng, keys=tuple(WRONG_UNITS), where=lambda s: _qty(s[3]))
    if not site:
        return None
    i, _, key, value = site
    m = _qty(value)
    unit = rng.choice(WRONG_UNITS[key])
    return f"{key}: unit {m.group('unit')!r} -> {unit!r}", doc.replace_line(i, f'{key} = "{m.group("num")} {unit}"')


def m_unknown_unit(doc, rng):
    site = doc.pick(rng, keys=QUANTITY_KEYS, where=lambda s: _qty(s[3]) and "ULN" not in s[3])
    if not site:
        return None
    i, _, key, value = site
    unit = rng.choice(UNKNOWN_UNITS)
    return f"{key}: unknown unit {unit!r}", doc.replace_line(i, f'{key} = "{_qty(value).group("num")} {unit}"')


def m_no_unit(doc, rng):
    site = doc.pick(rng, keys=QUANTITY_KEYS, where=lambda s: _qty(s[3]) and _qty(s[3]).group("unit"))
    if not site:
        return None
    i, _, key, value = site
    return f"{key}: unit dropped", doc.replace_line(i, f'{key} = "{_qty(value).group("num")}"')


# numbers ×10 / ÷10 on the fields where a ten-fold change leaves what the file may say
TENFOLD_KEYS = ("dose", "cycle_length", "fraction", "warn_at")
# a cardiac warning level ÷10 is earlier, on the safe side, and not an error: ÷10 skips it
DIVIDED_KEYS = ("dose", "cycle_length", "fraction")


def m_times_ten(doc, rng):
    site = doc.pick(rng, keys=TENFOLD_KEYS + ("cycles",),
                    where=lambda s: s[2] == "cycles" or (_qty(s[3]) and "ULN" not in s[3]))
    if not site:
        return None
    i, _, key, value = site
    if key == "cycles":
        return "cycles ×10", doc.replace_line(i, f"cycles = {int(value) * 10}")
    m = _qty(value)
    return f"{key} ×10 ({m.group('num')} -> {_scaled(m.group('num'), 10)})", \
        doc.replace_line(i, f'{key} = "{_scaled(m.group("num"), 10)} {m.group("unit")}"'.replace(' "', ' "', 1))


def m_divided_ten(doc, rng):
    site = doc.pick(rng, keys=DIVIDED_KEYS + ("cycles",),
                    where=lambda s: s[2] == "cycles" or (_qty(s[3]) and "ULN" not in s[3]))
    if not site:
        return None
    i, _, key, value = site
    if key == "cycles":
        return "cycles ÷10", doc.replace_line(i, f"cycles = {int(value) / 10}")
    m = _qty(value)
    return f"{key} ÷10 ({m.group('num')} -> {_scaled(m.group('num'), 0.1)})", \
        doc.replace_line(i, f'{key} = "{_scaled(m.group("num"), 0.1)} {m.group("unit")}"')


def m_day_times_ten(doc, rng):
    site = doc.pick(rng, keys=("days",))
    if not site:
        return None
    i, _, key, value = site
    days = [int(d) for d in re.findall(r"\d+", value)]
    return f"days ×10 ({days} -> last day ×10)", doc.replace_line(
        i, f"days = {days[:-1] + [days[-1] * 10 + 30]}")


def m_typo_key(doc, rng):
    site = doc.pick(rng, keys=tuple(k for k in TYPOS if k in REQUIRED))
    if not site:
        return None
    i, _, key, value = site
    return f"key {key!r} misspelt {TYPOS[key]!r}", doc.replace_line(i, f"{TYPOS[key]} = {value}")


def m_delete_key(doc, rng):
    site = doc.pick(rng, keys=tuple(REQUIRED), where=lambda s: not (s[2] in ("from", "to") and "modifications" in s[1]))
    if not site:
        return None
    return f"required key {site[2]!r} deleted", doc.replace_line(site[0], None)


def m_duplicate_key(doc, rng):
    site = doc.pick(rng)
    i, _, key, value = site
    return f"key {key!r} written twice", doc.replace_line(i, f"{doc.lines[i]}\n{key} = {value}")


def m_unknown_key(doc, rng):
    site = doc.pick(rng)
    i = site[0]
    extra = rng.choice(['colour = "red"', "dose_mg = 75", 'unit = "mg"', "enabled = true", 'note2 = "x"'])
    return f"unknown key {extra.split()[0]!r}", doc.replace_line(i, f"{doc.lines[i]}\n{extra}")


def m_table_name(doc, rng):
    headers = [i for i, line in enumerate(doc.lines) if line.strip().startswith("[")]
    i = rng.choice(headers)
    old = doc.lines[i].strip()
    new = old.replace("drugs", "drug").replace("thresholds", "threshold").replace(
        "modifications", "modification").replace("derived", "derive").replace("cumulative", "cumulatives").replace(
        "notes", "note").replace("supportive", "supportives")
    return f"table {old} renamed {new}", doc.replace_line(i, new)


def m_type(doc, rng):
    site = doc.pick(rng, keys=tuple(REQUIRED | {"cycles"}))
    if not site:
        return None
    i, _, key, value = site
    if value.startswith('"'):
        m = _qty(value)
        choices = [str(int(float(m.group("num")))) if m else "75", f"[{value}]", "true", '""', "{ a = 1 }", "1979-05-27"]
    elif value.startswith("["):
        choices = ['"1-3"', "1", "true", "[]", '["1", "2"]', "[1.5, 2]"]
    else:  # a bare number
        choices = [f'"{value}"', f"{value}.5", "true", f"[{value}]", "-1"]
    new = rng.choice(choices)
    return f"{key}: type {value[:20]!r} -> {new!r}", doc.replace_line(i, f"{key} = {new}")


def m_array_to_table(doc, rng):
    headers = [i for i, line in enumerate(doc.lines) if line.strip() == "[cumulative]"]
    if not headers:
        return None
    return "[cumulative] written as [[cumulative]]", doc.replace_line(headers[0], "[[cumulative]]")


def m_encoding(doc, rng):
    text = "\n".join(doc.lines)
    kind = rng.choice(["latin-1", "cp1252", "utf-16", "stray-byte", "nul", "mojibake", "double-bom", "utf-32"])
    if kind in ("latin-1", "cp1252"):
        return f"encoded {kind}", text.encode(kind, errors="replace")
    if kind in ("utf-16", "utf-32"):
        return f"encoded {kind}", text.encode(kind)
    data = text.encode("utf-8")
    pos = rng.randrange(len(data) // 4, len(data))
    if kind == "stray-byte":
        byte = rng.choice([b"\xff", b"\xc3", b"\x80", b"\xfe"])
        return f"invalid byte {byte!r} at {pos}", data[:pos] + byte + data[pos:]
    if kind == "nul":
        return f"NUL byte at {pos}", data[:pos] + b"\x00" + data[pos:]
    if kind == "double-bom":
        return "two byte-order marks", ("\ufeff\ufeff" + text).encode("utf-8")
    return "mojibake (UTF-8 read as Latin-1)", text.encode("utf-8").decode("latin-1").encode("utf-8")


def m_truncate(doc, rng):
    """Cut inside a key = value or header line (not at a line end, where the rest could still be valid)."""
    candidates = [i for i, line in enumerate(doc.lines) if len(line.strip()) > 3 and not line.lstrip().startswith("#")]
    i = rng.choice(candidates)
    line = doc.lines[i]
    cut = rng.randrange(1, len(line.rstrip()) - 1)
    head = "\n".join(doc.lines[:i])
    kept = line[:cut]
    # a cut that leaves a shorter but complete integer ("cycles = 1" from "cycles = 12") would still parse
    if re.fullmatch(r"\s*\w+\s*=\s*\d+", kept):
        kept = kept.rstrip("0123456789")
    return f"cut inside line {i + 1} after {cut} characters", (head + ("\n" if head else "") + kept).encode("utf-8")


def m_size(doc, rng):
    text = "\n".join(doc.lines)
    kind = rng.choice(["padding", "long-value", "many-days", "deep", "many-drugs"])
    if kind == "padding":
        return "padded to 300 kB with comments", text + "\n" + ("# padding " + "x" * 60 + "\n") * 4400
    if kind == "long-value":
        site = doc.pick(rng, keys=("dose", "cycle_length", "value", "drug", "route", "analyte", "op"))
        i, _, key, _ = site
        return f"{key}: a 10,000-character value", doc.replace_line(i, f'{key} = "{"7" * 5000} {"m" * 5000}"')
    if kind == "many-days":
        site = doc.pick(rng, keys=("days",))
        return "100,000 days in a list", doc.replace_line(site[0], "days = [" + ", ".join(["1"] * 50000) + "]")
    if kind == "deep":
        return "an array nested 5,000 deep", text + "\nnested = " + "[" * 5000 + "]" * 5000 + "\n"
    block_start = next(i for i, line in enumerate(doc.lines) if line.strip() == "[[drugs]]")
    block_end = next(i for i in range(block_start + 1, len(doc.lines)) if doc.lines[i].strip().startswith("[")
                     or i == len(doc.lines) - 1)
    block = "\n".join(doc.lines[block_start:block_end])
    return "a drug listed 2,000 times", text + ("\n" + block) * 2000


OPERATORS = {
    "units": (m_wrong_unit, m_unknown_unit, m_no_unit),
    "numbers ×10": (m_times_ten, m_day_times_ten),
    "numbers ÷10": (m_divided_ten,),
    "keys": (m_typo_key, m_delete_key, m_duplicate_key, m_unknown_key, m_table_name),
    "types": (m_type, m_array_to_table),
    "encodings": (m_encoding,),
    "truncation": (m_truncate,),
    "size": (m_size,),
}


def generate(directory: Path, count: int, seed: int = 6) -> list[dict]:
    """``count`` distinct mutants, categories in turn, written to ``directory``."""
    rng = random.Random(seed)
    docs = [Doc(p.name, p.read_text(encoding="utf-8")) for p in sorted(REGIMENS.glob("*.toml"))]
    categories = list(OPERATORS)
    failures = Counter()
    seen = set()
    mutants = []
    turn = 0
    while len(mutants) < count and categories:
        category = categories[turn % len(categories)]
        turn += 1
        doc = rng.choice(docs)
        made = rng.choice(OPERATORS[category])(doc, rng)
        data = None
        if made is not None:
            description, content = made
            data = content.encode("utf-8") if isinstance(content, str) else content
        if data is None or data in seen:
            failures[category] += 1
            if failures[category] > 200:  # every distinct mutant of this kind has been made
                categories.remove(category)
            continue
        seen.add(data)
        path = directory / f"m{len(mutants):05d}-{doc.name}"
        path.write_bytes(data)
        mutants.append({"path": str(path), "category": category, "source": doc.name, "mutation": description})
    return mutants


def _line_pattern(path: str):
    return re.compile(r"^" + re.escape(path) + r": [^:\s][^:]*: \S.*$", re.MULTILINE)


def check(mutants: list[dict], batch: int = 50) -> dict:
    """Validate every mutant; per mutant: rejected with a FILE: FIELD: message line, no traceback."""
    batches = [mutants[i:i + batch] for i in range(0, len(mutants), batch)]

    def run_batch(group):
        result = run_chemo(["validate", *(m["path"] for m in group)], timeout=300)
        crashed = has_traceback(result.stderr, result.stdout) or result.returncode not in (0, 1)
        if crashed and len(group) > 1:  # find the file that crashed it
            return [r for m in group for r in run_batch([m])]
        out = result.stdout + "\n" + result.stderr
        return [(m, result.returncode, bool(_line_pattern(m["path"]).search(out)), crashed,
                 result.stderr.strip().splitlines()[-1:] if crashed else []) for m in group]

    outcomes = [o for group in parallel(run_batch, batches) for o in group]
    return {"outcomes": outcomes}


def run(quick: bool = False, count: int | None = None, keep: Path | None = None) -> list[Figure]:
    count = count or (100 if quick else 500)
    with tempfile.TemporaryDirectory(prefix="chemo-malformed-") as tmp:
        directory = keep or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        mutants = generate(directory, count)
        outcomes = check(mutants)["outcomes"]
    rejected = [m for m, code, line, crashed, _ in outcomes if code == 1 and line and not crashed]
    missed = [(m, code, line, crashed, tail) for m, code, line, crashed, tail in outcomes
              if not (code == 1 and line and not crashed)]
    tracebacks = [o for o in outcomes if o[3]]
    by_category = Counter(m["category"] for m in mutants)
    missed_by_category = defaultdict(int)
    for m, *_ in missed:
        missed_by_category[m["category"]] += 1
    breakdown = ", ".join(f"{c} {by_category[c] - missed_by_category[c]}/{by_category[c]}" for c in OPERATORS)
    examples = [f"{m['source']}: {m['category']}: {m['mutation']}"
                + (" (accepted: exit 0)" if code == 0 else " (no FILE: FIELD: message line)" if not line else "")
                + (f" (traceback: {tail[0][:120] if tail else '?'})" if crashed else "")
                for m, code, line, crashed, tail in missed]
    return [
        at_least("malformed regimen files generated", len(mutants), 100 if quick else 500,
                 detail=f"from {len(set(m['source'] for m in mutants))} real files"),
        percent("malformed regimen files rejected with FILE: FIELD: message", len(rejected), len(mutants),
                detail=breakdown, examples=examples),
        exactly("tracebacks from chemo validate on malformed files", len(tracebacks), 0,
                examples=[e for e in examples if "traceback" in e]),
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--keep", type=Path, help="write the mutants here and keep them")
    args = parser.parse_args(argv)
    figures = run(count=args.count, keep=args.keep)
    return print_figures(figures)


if __name__ == "__main__":
    sys.exit(main())
