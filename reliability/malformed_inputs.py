"""Malformed order files and lab results through the command line: clear errors, nothing written.

* Orders: valid order files are written for every regimen from ``chemo dose``'s
  own numbers, then broken one thing at a time (regimen, cycle, dose level,
  height, weight, BSA, formula, lines, days, doses, keys, types, encodings,
  truncation, size) and checked with ``chemo verify``.
* Labs: ``chemo labs add`` with broken analytes, values (no unit, another
  dimension, impossible, NaN, a comma), upper limits, ranges, times, patients
  and users.

Every call must end with a clear error: a non-zero exit, no traceback, and a
last line on stderr ``chemo: FIELD: message`` (or click's ``Error: ...`` for a
malformed command line).  For an order, a ``hard-stop`` verdict (exit 3: a
dose in mL is a unit-error line) is a clear refusal too.  The database the
commands run against must be unchanged afterwards: 0 rows written.

    python -m reliability.malformed_inputs [--orders 300] [--labs 250]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

from .common import (print_figures, Figure, at_least, chemo_env, clear_error, exactly, parallel, percent, require,
                     require_command, run_chemo)

REGIMEN_IDS = ("doxorubicin-ifosfamide", "epirubicin-ifosfamide", "doxorubicin-dacarbazine", "pld-ifosfamide-anlotinib")


# ------------------------------------------------------------------ orders

def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def order_text(doc: dict) -> str:
    lines = [f"{k} = {_toml_value(v)}" for k, v in doc.items() if k != "line"]
    for line in doc.get("line", []):
        lines.append("\n[[line]]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in line.items()]
    return "\n".join(lines) + "\n"


def base_orders() -> list[dict]:
    from chemo.dose import body_size, calculate_cycle
    from chemo.regimen import load_regimen

    orders = []
    for rid in REGIMEN_IDS:
        regimen = load_regimen(rid)
        body = body_size("170 cm", "75 kg", regimen=regimen)
        cycle = calculate_cycle(regimen, body, 1, 0)
        orders.append({"regimen": rid, "cycle": 1, "height": "170 cm", "weight": "75 kg",
                       "line": [{"drug": a.drug, "day": a.day, "dose": f"{a.dose_mg:g} mg"} for a in cycle.administrations]})
    return orders


BAD_TOP = {
    "regimen": ["nope", "", " ", 5, "missing.toml", "regimens/library/drugs.toml", "../../etc/passwd", ["doxorubicin"]],
    "cycle": [0, 13, "1", 1.5, -1, 99, True, 4],
    "dose_level": [1, -11, "0", 0.5, {"nodrug": -1}, {"doxorubicin": "a"}, True, -9],
    "height": ["170", "170 kg", "1700 cm", "-170 cm", "nan cm", "inf cm", "1,70 m", "", "tall", 170, "170 cm cm",
               "10 cm", "300 cm", "5 ft 70 in"],
    "weight": ["75", "75 cm", "0 kg", "-75 kg", "500 kg", "nan kg", "75 mg/m²", "", 75.0, "0.5 kg", "7,5 kg"],
    "bsa": ["9 m²", "1.9 m", "0 m²", "-1.9 m²", "1.9", "nan m²", "0.1 m²", "1.9 kg"],
    "formula": ["unknown", "", 5, "mostellerr"],
}
BAD_DOSES = ["abc mg", "-5 mg", "0 mg", "1,5 mg", "nan mg", "inf mg", "1e400 mg", "", " ", "mg", "5", 75, True,
             "141 mL", "141 mg/mL", "141 U", "141 mmol", "5 days", "1/0 mg", "0x10 mg", "1e-400 mg"]
BAD_DAYS = [0, 100, "1", 1.5, -1, True, 85]
BAD_DRUGS = ["", 5, " ", ["doxorubicin"]]


def order_mutants(count: int, rng: random.Random, directory: Path) -> list[tuple[str, Path]]:
    bases = base_orders()
    made: list[tuple[str, bytes]] = []

    def add(what: str, content):
        made.append((what, content if isinstance(content, bytes) else content.encode("utf-8")))

    for base in bases:
        rid = base["regimen"]
        for key, values in BAD_TOP.items():
            for value in values:
                doc = {k: v for k, v in base.items()}
                if key == "bsa":
                    doc.pop("height"), doc.pop("weight")
                doc[key] = value
                add(f"{rid}: {key} = {value!r}", order_text(doc))
        for value in BAD_DOSES:
            doc = {**base, "line": [dict(x) for x in base["line"]]}
            doc["line"][rng.randrange(len(doc["line"]))]["dose"] = value
            add(f"{rid}: a line's dose = {value!r}", order_text(doc))
        for value in BAD_DAYS:
            doc = {**base, "line": [dict(x) for x in base["line"]]}
            doc["line"][rng.randrange(len(doc["line"]))]["day"] = value
            add(f"{rid}: a line's day = {value!r}", order_text(doc))
        for value in BAD_DRUGS:
            doc = {**base, "line": [dict(x) for x in base["line"]]}
            doc["line"][rng.randrange(len(doc["line"]))]["drug"] = value
            add(f"{rid}: a line's drug = {value!r}", order_text(doc))
        for key in ("drug", "day", "dose"):
            doc = {**base, "line": [dict(x) for x in base["line"]]}
            del doc["line"][rng.randrange(len(doc["line"]))][key]
            add(f"{rid}: a line without {key}", order_text(doc))
        for key in ("regimen", "cycle", "height", "weight", "line"):
            doc = {k: v for k, v in base.items() if k != key}
            add(f"{rid}: no {key}", order_text(doc))
        add(f"{rid}: height and weight and bsa", order_text({**base, "bsa": "1.9 m²"}))
        add(f"{rid}: an unknown key", order_text({**base, "colour": "red"}))
        doc = {**base, "line": [dict(x) for x in base["line"]]}
        doc["line"][0]["route"] = "IV"
        add(f"{rid}: an unknown key in a line", order_text(doc))
        add(f"{rid}: 250 lines", order_text({**base, "line": base["line"] * (250 // len(base["line"]) + 1)}))
        text = order_text(base)
        add(f"{rid}: not TOML", text.replace(" = ", " : ", 1))
        add(f"{rid}: empty", b"")
        add(f"{rid}: 300 kB", text + "#" * 300_000 + "\n")
        add(f"{rid}: a NUL byte", text.encode()[:40] + b"\x00" + text.encode()[40:])
        add(f"{rid}: an invalid UTF-8 byte", text.encode()[:30] + b"\xff" + text.encode()[30:])
        add(f"{rid}: UTF-16", text.encode("utf-16"))
        add(f"{rid}: a key written twice", text.replace("cycle = 1", "cycle = 1\ncycle = 2"))
        for _ in range(8):
            cut = rng.randrange(5, len(text) - 5)
            while text[cut - 1] == "\n" or text[cut] == "\n":
                cut = rng.randrange(5, len(text) - 5)
            truncated = text[:cut]
            if not truncated.rstrip().endswith(("]", '"')):  # a cut that still parses is no mutant
                add(f"{rid}: cut after {cut} characters", truncated)
    rng.shuffle(made)
    seen, out = set(), []
    for what, data in made:
        if data in seen:
            continue
        seen.add(data)
        path = directory / f"order-{len(out):04d}.toml"
        path.write_bytes(data)
        out.append((what, path))
        if len(out) >= count:
            break
    return out


# ------------------------------------------------------------------ labs

ANALYTE_VALUES = {  # an impossible value for each, in its own unit
    "hemoglobin": ["90 g/dL", "0.5 g/dL", "-1 g/dL", "300 mmol/L"],
    "anc": ["-1 10^9/L", "1000 10^9/L"],
    "wbc": ["-2 10^9/L", "9000 10^9/L"],
    "platelets": ["-5 10^9/L", "50000 10^9/L", "150 g/dL"],
    "bilirubin": ["100 mg/dL", "-0.5 mg/dL", "5000 µmol/L"],
    "alt": ["-1 U/L", "90000 U/L"],
    "ast": ["-3 U/L", "50000 U/L"],
    "creatinine": ["50 mg/dL", "0.001 mg/dL", "-1 mg/dL", "9000 µmol/L"],
    "egfr": ["-5 mL/min/1.73 m²", "900 mL/min/1.73 m²"],
    "crcl": ["-5 mL/min", "5000 mL/min"],
    "lvef": ["150 %", "-10 %", "0.6 mg"],
}
GENERIC_VALUES = ["150", "", " ", "abc", "nan {u}", "inf {u}", "1,5 {u}", "-0 x", "150 furlongs", "150 mg/m²",
                  "150 days", "1e400 {u}", "{u}", "150 {u} {u}", "'; DROP TABLE labs;--", "150 kg", "x" * 500,
                  "1/0 {u}"]
UNITS = {"hemoglobin": "g/dL", "anc": "10^9/L", "wbc": "10^9/L", "platelets": "10^9/L", "bilirubin": "mg/dL",
         "alt": "U/L", "ast": "U/L", "creatinine": "mg/dL", "egfr": "mL/min/1.73 m²", "crcl": "mL/min", "lvef": "%"}
GOOD = {"hemoglobin": "12 g/dL", "anc": "3 10^9/L", "wbc": "6 10^9/L", "platelets": "200 10^9/L",
        "bilirubin": "0.5 mg/dL", "alt": "20 U/L", "ast": "20 U/L", "creatinine": "0.8 mg/dL",
        "egfr": "90 mL/min/1.73 m²", "crcl": "90 mL/min", "lvef": "60 %"}


def lab_mutants(count: int, rng: random.Random) -> list[tuple[str, list]]:
    made = []
    for analyte, values in ANALYTE_VALUES.items():
        for value in values:
            made.append((f"{analyte} {value!r}", ["M1", analyte, value]))
        for value in GENERIC_VALUES:
            value = value.replace("{u}", UNITS[analyte])
            made.append((f"{analyte} {value[:30]!r}", ["M1", analyte, value]))
        good = GOOD[analyte]
        made += [
            (f"{analyte}: --uln abc", ["M1", analyte, good, "--uln", "abc"]),
            (f"{analyte}: --uln -5", ["M1", analyte, good, "--uln", "-5"]),
            (f"{analyte}: --uln 0", ["M1", analyte, good, "--uln", "0"]),
            (f"{analyte}: --uln in days", ["M1", analyte, good, "--uln", "40 days"]),
            (f"{analyte}: --range falling", ["M1", analyte, good, "--range", f"5-1 {UNITS[analyte]}"]),
            (f"{analyte}: --range text", ["M1", analyte, good, "--range", "normal"]),
            (f"{analyte}: --range in days", ["M1", analyte, good, "--range", "1-2 days"]),
            (f"{analyte}: --at in the future", ["M1", analyte, good, "--at", "2099-01-01T08:00"]),
            (f"{analyte}: --at not a date", ["M1", analyte, good, "--at", "yesterday"]),
            (f"{analyte}: --at month 13", ["M1", analyte, good, "--at", "2025-13-01"]),
            (f"{analyte}: --at 1850", ["M1", analyte, good, "--at", "1850-01-01"]),
            (f"{analyte}: unknown patient", ["NOPE", analyte, good]),
            (f"{analyte}: empty MRN", ["", analyte, good]),
            (f"{analyte}: unregistered user", ["M1", analyte, good, "--user", "ghost"]),
            (f"{analyte}: a login that is not one", ["M1", analyte, good, "--user", "bad user!"]),
        ]
    for name in ["plt2", "platelet count", "", " ", "hemoglobinx", "'; DROP TABLE labs;--", "ldh", "glucose", "x" * 300,
                 "na", "k+", "plt-count"]:
        made.append((f"analyte {name[:30]!r}", ["M1", name, "150 10^9/L"]))
    rng.shuffle(made)
    return made[:count]


# ------------------------------------------------------------------ running

def snapshot(db: Path) -> dict:
    import sqlite3

    conn = sqlite3.connect(str(db))
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    counts = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    conn.close()
    return counts


def setup(db: Path) -> None:
    from chemo import records, roles
    from chemo.db import open_store

    with open_store(db) as store:
        roles.add_user(store, "ph", "ph", "pharmacist")
        roles.add_user(store, "ph", "nu", "nurse")
        records.add_patient(store, "ph", mrn="M1", name="Malformed Inputs", sex="female", born="1970-01-01",
                            height="165 cm", weight="60 kg")


def run(quick: bool = False, orders: int | None = None, labs: int | None = None) -> list[Figure]:
    require("chemo.db", "chemo.records", "chemo.verify")
    require_command("verify", "labs")
    orders = orders or (20 if quick else 300)
    labs = labs or (12 if quick else 250)
    rng = random.Random(5)
    with tempfile.TemporaryDirectory(prefix="chemo-inputs-") as tmp:
        tmp = Path(tmp)
        db = tmp / "inputs.db"
        setup(db)
        before = snapshot(db)
        env = chemo_env(CHEMO_DB=db, CHEMO_USER="nu")
        order_cases = order_mutants(orders, rng, tmp)
        lab_cases = lab_mutants(labs, rng)

        def check_order(case):
            what, path = case
            result = run_chemo(["verify", path], env=env)
            clear, why = clear_error(result)
            if not clear and result.returncode == 3 and "Traceback" not in result.stderr + result.stdout \
                    and "hard-stop" in result.stdout.lower():
                clear, why = True, ""
            return what, clear, why, result.returncode

        def check_lab(case):
            what, args = case
            result = run_chemo(["labs", "add", *args], env=env)
            clear, why = clear_error(result)
            return what, clear, why, result.returncode

        order_results = parallel(check_order, order_cases)
        lab_results = parallel(check_lab, lab_cases)
        after = snapshot(db)
    written = sum(after.get(t, 0) - before.get(t, 0) for t in after)
    changed = [f"{t}: {before.get(t, 0)} -> {after[t]}" for t in after if after[t] != before.get(t, 0)]
    bad_orders = [f"order {what}: {why}" for what, clear, why, _ in order_results if not clear]
    bad_labs = [f"labs add {what}: {why}" for what, clear, why, _ in lab_results if not clear]
    hard_stops = sum(1 for *_, code in order_results if code == 3)
    total = len(order_results) + len(lab_results)
    tracebacks = [e for e in bad_orders + bad_labs if "traceback" in e]
    return [
        at_least("malformed order and lab inputs tried", total, 32 if quick else 500,
                 detail=f"{len(order_results)} orders, {len(lab_results)} lab results"),
        percent("malformed orders refused clearly (`chemo verify`)", len(order_results) - len(bad_orders),
                len(order_results), detail=f"{hard_stops} as hard-stop verdicts (exit 3), the rest exit 2",
                examples=bad_orders),
        percent("malformed lab results refused clearly (`chemo labs add`)", len(lab_results) - len(bad_labs),
                len(lab_results), examples=bad_labs),
        exactly("tracebacks on malformed inputs", len(tracebacks), 0, examples=tracebacks),
        exactly("rows written by malformed inputs", written, 0, examples=changed),
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--labs", type=int, default=250)
    args = parser.parse_args(argv)
    figures = run(orders=args.orders, labs=args.labs)
    return print_figures(figures, examples=30)


if __name__ == "__main__":
    sys.exit(main())
