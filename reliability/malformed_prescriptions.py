"""Malformed prescriptions through the command line: ``chemo prescribe`` refuses each clearly, writes nothing.

The record holds a patient (165 cm, 60 kg) with a plan on doxorubicin + ifosfamide, one without a plan, and
a pharmacist, a nurse and a prescriber.  Each case is one ``chemo prescribe`` that must be refused:

* lines that are not lines (no day, no dose, a day out of range, a dose that is not a number or not a mass);
* lines that verify as hard stops (a ten-fold error, an overdose, per-m² for mg, a drug or day not in the
  regimen, the same drug and day twice) and review lines without a reason;
* a cycle, a dose level, a reason, a patient or a user that is wrong;
* order files (``--from``): every malformed order of :mod:`reliability.malformed_inputs`, and well-formed
  orders written for another body size (``record-mismatch``), for another patient or cycle or regimen.

Every call must exit non-zero with one clear line (``chemo: FIELD: message``), no traceback, and the record
must be unchanged afterwards: 0 rows.

    python -m reliability.malformed_prescriptions [--cases 260]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

from .common import (print_figures, at_least, chemo_env, clear_error, exactly, parallel, percent, require,
                     require_command, run_chemo)
from .malformed_inputs import base_orders, order_mutants, order_text, snapshot

BAD_DOSE_TEXTS = ["abc mg", "-5 mg", "0 mg", "1,5 mg", "nan mg", "inf mg", "1e400 mg", "mg", "5", "141 mL",
                  "141 mg/mL", "141 U", "141 mmol", "5 days", "1/0 mg", "0x10 mg", "1e-400 mg", "47 kg", "47 m²",
                  "47 mg mg", "'; DROP TABLE prescriptions;--", "x" * 300]
BAD_LINE_TEXTS = ["", " ", "doxorubicin", "doxorubicin 1", "1 47 mg", "47 mg", "doxorubicin day 47",
                  "doxorubicin 0 47 mg", "doxorubicin 99 47 mg", "doxorubicin -1 47 mg", "doxorubicin 1.5 47 mg",
                  "doxorubicin one 47 mg", "day 1 47 mg"]
STOP_LINES = [  # well-formed lines that verify as hard stops (165 cm, 60 kg: 1.658 m²; doxorubicin 41.45 mg a day)
    "doxorubicin 1 414 mg", "doxorubicin 1 4.1 mg", "doxorubicin 1 60 mg", "doxorubicin 1 46 mg",
    "doxorubicin 1 25 mg/m² 2", "doxorubicin 1 25 mg", "doxorubicin 1 124 mg", "doxorubicin 4 41 mg",
    "pld 1 41 mg", "epirubicin 1 41 mg", "dacarbazine 1 1600 mg", "nodrug 1 41 mg", "ifosfamide 1 49700 mg",
    "ifosfamide 1 6000 mg", "mesna 1 30000 mg", "doxorubicin 1 41 mL", "doxorubicin 1 4145 mg",
]
REVIEW_LINES = ["doxorubicin 1 38 mg", "doxorubicin 2 44 mg", "ifosfamide 1 4600 mg", "ifosfamide 3 5300 mg"]


def prescribe_cases(count: int, rng: random.Random, directory: Path) -> list[tuple[str, list]]:
    made: list[tuple[str, list]] = []
    base = ["prescribe", "M1", "--cycle", "1", "--user", "pr"]
    for text in BAD_DOSE_TEXTS:
        made.append((f"--line dose {text[:30]!r}", base + ["--line", f"doxorubicin 1 {text}"]))
    for text in BAD_LINE_TEXTS:
        made.append((f"--line {text!r}", base + ["--line", text]))
    for text in STOP_LINES:
        made.append((f"hard stop {text!r}", base + ["--line", text, "--reason", "a reason long enough"]))
        made.append((f"hard stop {text!r} twice", base + ["--line", text, "--line", text]))
    for text in REVIEW_LINES:
        made.append((f"review {text!r} without a reason", base + ["--line", text]))
        made.append((f"review {text!r} with a short reason", base + ["--line", text, "--reason", "short"]))
        made.append((f"review {text!r} with a blank reason", base + ["--line", text, "--reason", "   "]))
    made.append(("the same drug and day twice", base + ["--line", "doxorubicin 1 41 mg", "--line", "doxorubicin 1 41 mg",
                                                         "--reason", "a reason long enough"]))
    for cycle in ["0", "4", "99", "-1", "x", "1.5", ""]:
        made.append((f"--cycle {cycle!r}", ["prescribe", "M1", "--cycle", cycle, "--user", "pr"]))
    for level in ["1", "-9", "x", "nodrug=-1", "doxorubicin=-1,doxorubicin=-2", "doxorubicin=1", "=-1", "-1 -1",
                  "pld=-1", "doxorubicin=-3"]:
        made.append((f"--dose-level {level!r}", base + ["--dose-level", level]))
    made.append(("--dose-level twice", base + ["--dose-level", "-1", "--dose-level", "-2"]))
    for mrn in ["NOPE", "", "M2", "'; DROP TABLE plans;--", "x" * 100]:
        made.append((f"patient {mrn[:20]!r}", ["prescribe", mrn, "--cycle", "1", "--user", "pr"]))
    for user in ["nu", "ph", "ghost", "bad user!", "PR"]:
        made.append((f"--user {user!r}", ["prescribe", "M1", "--cycle", "1", "--user", user]))
    made.append(("no --cycle", ["prescribe", "M1", "--user", "pr"]))
    made.append(("--from a missing file", base + ["--from", str(directory / "missing.toml")]))
    # order files: the malformed orders of malformed_inputs, and well-formed orders that do not fit the record
    orders_dir = directory / "orders"
    orders_dir.mkdir()
    for what, path in order_mutants(140, rng, orders_dir):
        made.append((f"--from ({what})", base + ["--from", str(path)]))
    dox = next(o for o in base_orders() if o["regimen"] == "doxorubicin-ifosfamide")  # written at 170 cm, 75 kg
    fits = {**dox, "height": "165 cm", "weight": "60 kg"}
    for what, doc in [("written at 75 kg for a 60 kg patient (record-mismatch)", dox),
                      ("naming another patient", {**fits, "mrn": "M2"}),
                      ("for cycle 2", {**fits, "cycle": 2}),
                      ("for another regimen", next(o for o in base_orders() if o["regimen"] != dox["regimen"])),
                      ("written at 75 kg, naming the patient", {**dox, "mrn": "M1"})]:
        path = directory / f"order-{len(made)}.toml"
        path.write_text(order_text(doc), encoding="utf-8")
        made.append((f"--from an order {what}", base + ["--from", str(path)]))
        made.append((f"--from an order {what} with --line", base + ["--from", str(path), "--line", "doxorubicin 1 41 mg"]))
    rng.shuffle(made)
    return made[:count]


def setup(db: Path) -> None:
    from chemo import records, roles
    from chemo.db import open_store
    from chemo.demo import approve_regimens

    with open_store(db) as store:
        roles.add_user(store, "ph", "ph", "pharmacist")
        roles.add_user(store, "ph", "nu", "nurse")
        roles.add_user(store, "ph", "pr", "prescriber")
        roles.add_user(store, "ph", "ph2", "pharmacist")
        approve_regimens(store, ("doxorubicin-ifosfamide",), ("ph", "ph2"))  # a plan starts on an approved regimen
        for mrn in ("M1", "M2"):
            records.add_patient(store, "ph", mrn=mrn, name="Malformed Prescriptions", sex="female",
                                born="1970-01-01", height="165 cm", weight="60 kg")
        records.start_plan(store, "pr", "M1", "doxorubicin-ifosfamide")


def run(quick: bool = False, cases: int | None = None) -> list:
    require("chemo.db", "chemo.records", "chemo.prescription")
    require_command("prescribe")
    cases = cases or (16 if quick else 260)
    rng = random.Random(18)
    with tempfile.TemporaryDirectory(prefix="chemo-prescriptions-") as tmp:
        tmp = Path(tmp)
        db = tmp / "prescriptions.db"
        setup(db)
        before = snapshot(db)
        env = chemo_env(CHEMO_DB=db, CHEMO_USER="pr")
        made = prescribe_cases(cases, rng, tmp)

        def check(case):
            what, args = case
            result = run_chemo(args, env=env)
            clear, why = clear_error(result)
            return what, clear, why, result.returncode

        results = parallel(check, made)
        after = snapshot(db)
    written = sum(after.get(t, 0) - before.get(t, 0) for t in after)
    changed = [f"{t}: {before.get(t, 0)} -> {after[t]}" for t in after if after[t] != before.get(t, 0)]
    bad = [f"prescribe {what}: {why}" for what, clear, why, _ in results if not clear]
    refused = sum(1 for *_, code in results if code == 1)
    tracebacks = [e for e in bad if "traceback" in e]
    return [
        at_least("malformed prescriptions tried (`chemo prescribe`)", len(results), 16 if quick else 200),
        percent("malformed prescriptions refused clearly (`chemo prescribe`)", len(results) - len(bad), len(results),
                detail=f"{refused} refused (exit 1: a hard stop, a missing reason, a role), the rest exit 2",
                examples=bad),
        exactly("tracebacks on malformed prescriptions", len(tracebacks), 0, examples=tracebacks),
        exactly("rows written by malformed prescriptions", written, 0, examples=changed),
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=260)
    args = parser.parse_args(argv)
    return print_figures(run(cases=args.cases), examples=30)


if __name__ == "__main__":
    sys.exit(main())
