"""SQL injection through every text field of the command line: no schema change, stored verbatim.

Each injection string goes, one command at a time, into every text a user can
type into the record: a patient's name and MRN, a lab's analyte, value, upper
limit, range and time, a prior exposure's drug, dose and note, a login, a
regimen, and the MRN of every read command.  Afterwards:

* ``sqlite_master`` is exactly as before (no table dropped, created or altered)
  and no file was ATTACHed;
* every write that was accepted stored the text exactly as typed;
* every write that was refused wrote nothing and ended with a clear one-line
  error, never a traceback;
* the audit chain verifies.

    python -m reliability.injection
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from pathlib import Path

from .common import print_figures, Figure, chemo_env, clear_error, exactly, percent, require, require_command, run_chemo

PAYLOADS = [
    "Robert'); DROP TABLE patients;--",
    "' OR '1'='1",
    "\"; DELETE FROM audit; --",
    "1; UPDATE roles SET role = 'pharmacist'",
    "x' UNION SELECT sql FROM sqlite_master--",
    "'); ATTACH DATABASE '{pwn}' AS pwn; CREATE TABLE pwn.t(a);--",
    "%' AND 1=1 --",
    "\\'; DROP TABLE labs; --",
    "O'Brien",
    "Zoë 李 ‘quoted’ \"double\"",
    "NULL",
    "'; PRAGMA writable_schema = 1; --",
    "`; DROP TABLE audit`",
    "); DELETE FROM administrations WHERE (1=1",
    "label' || (SELECT hash FROM audit LIMIT 1) || '",
    "1' AND sqlite_version() > '0",
]


def schema(db: Path) -> list:
    conn = sqlite3.connect(str(db))
    rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").fetchall()
    conn.close()
    return rows


def counts(db: Path) -> dict:
    conn = sqlite3.connect(str(db))
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    result = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    conn.close()
    return result


def cases(payload: str, n: int) -> list[tuple[str, list, tuple | None]]:
    """(field, chemo arguments, (table, column, where-sql, where-args) to read the text back when accepted)."""
    mrn = f"INJ{n}"
    return [
        ("patient add --name", ["patient", "add", "--mrn", mrn, "--name", payload, "--sex", "female", "--born",
                                "1970-01-01", "--height", "165 cm", "--weight", "60 kg", "--user", "ph"],
         ("patients", "name", "mrn = ?", (mrn,))),
        ("patient add --mrn", ["patient", "add", "--mrn", payload, "--name", "X", "--sex", "male", "--born",
                               "1970-01-01", "--height", "170 cm", "--weight", "70 kg", "--user", "ph"],
         ("patients", "mrn", "mrn = ?", (payload,))),
        ("patient add --born", ["patient", "add", "--mrn", f"{mrn}b", "--name", "X", "--sex", "male", "--born", payload,
                                "--height", "170 cm", "--weight", "70 kg", "--user", "ph"], None),
        ("patient add --height", ["patient", "add", "--mrn", f"{mrn}h", "--name", "X", "--sex", "male", "--born",
                                  "1970-01-01", "--height", payload, "--weight", "70 kg", "--user", "ph"], None),
        ("labs add MRN", ["labs", "add", payload, "platelets", "150 10^9/L", "--user", "nu"], None),
        ("labs add ANALYTE", ["labs", "add", "BASE", payload, "150 10^9/L", "--user", "nu"], None),
        ("labs add VALUE", ["labs", "add", "BASE", "platelets", payload, "--user", "nu"], None),
        ("labs add --uln", ["labs", "add", "BASE", "alt", "20 U/L", "--uln", payload, "--user", "nu"], None),
        ("labs add --range", ["labs", "add", "BASE", "alt", "20 U/L", "--range", payload, "--user", "nu"], None),
        ("labs add --at", ["labs", "add", "BASE", "alt", "20 U/L", "--at", payload, "--user", "nu"], None),
        ("labs add --user", ["labs", "add", "BASE", "alt", "20 U/L", "--user", payload], None),
        ("measure --weight", ["measure", "BASE", "--weight", payload, "--user", "ph"], None),
        ("prior add DRUG", ["prior", "add", "BASE", payload, "100 mg/m²", "--user", "ph"], None),
        ("prior add DOSE", ["prior", "add", "BASE", "epirubicin", payload, "--user", "ph"], None),
        ("prior add --note", ["prior", "add", "BASE", "epirubicin", "1 mg/m²", "--note", payload, "--user", "ph"],
         ("prior_exposure", "note", "note = ?", (payload,))),
        ("user add LOGIN", ["user", "add", payload, "--role", "nurse", "--user", "ph"], None),
        ("plan start REGIMEN", ["plan", "start", "BASE", payload, "--user", "ph"], None),
        ("patient show MRN", ["patient", "show", payload], None),
        ("readiness MRN", ["readiness", payload], None),
        ("cumulative MRN", ["cumulative", payload], None),
        ("labs list MRN", ["labs", "list", payload], None),
    ]


def run(quick: bool = False) -> list[Figure]:
    require("chemo.db", "chemo.records", "chemo.audit")
    require_command("patient", "labs", "prior", "user", "plan", "measure", "readiness", "cumulative")
    from chemo import audit, records, roles
    from chemo.db import open_store

    with tempfile.TemporaryDirectory(prefix="chemo-injection-") as tmp:
        db = Path(tmp) / "inject.db"
        pwn = Path(tmp) / "pwn.db"
        with open_store(db) as store:
            roles.add_user(store, "ph", "ph", "pharmacist")
            roles.add_user(store, "ph", "nu", "nurse")
            records.add_patient(store, "ph", mrn="BASE", name="Base", sex="female", born="1970-01-01",
                                height="165 cm", weight="60 kg")
        before = schema(db)
        env = chemo_env(CHEMO_DB=db)
        payloads = [p.replace("{pwn}", str(pwn)) for p in (PAYLOADS[:5] if quick else PAYLOADS)]
        jobs = [(payload, case) for n, payload in enumerate(payloads) for case in cases(payload, n)]
        if quick:
            jobs = jobs[::6]

        # one at a time: a refused write must be seen to write nothing
        results = []
        for job in jobs:
            rows_before = counts(db)
            payload, (field, args, readback) = job
            result = run_chemo(args, env=env)
            rows_after = counts(db)
            results.append((payload, field, readback, result, rows_before, rows_after))
        after = schema(db)
        with open_store(db, create=False) as store:
            _, chain = audit.verify(store)
            verbatim_bad, accepted = [], 0
            for payload, field, readback, result, _, _ in results:
                if result.returncode == 0 and readback:
                    accepted += 1
                    table, column, where, params = readback
                    row = store.one(f"SELECT {column} AS v FROM {table} WHERE {where}", params)
                    if row is None or row["v"] != payload:
                        verbatim_bad.append(f"{field}: {payload!r} stored as {row and row['v']!r}")
    unclear, wrote = [], []
    for payload, field, readback, result, rows_before, rows_after in results:
        if result.returncode == 0:
            continue
        clear, why = clear_error(result)
        if not clear:
            unclear.append(f"{field} {payload!r}: {why}")
        if rows_after != rows_before:
            wrote.append(f"{field} {payload!r}: refused but rows changed")
    # a string that is a valid MRN ("NULL", "O'Brien" is not) was registered by "patient add --mrn": finding it is right
    registered = {r[0] for r in results if r[1] == "patient add --mrn" and r[3].returncode == 0}
    reads_ok = [r for r in results if r[1].endswith("MRN") and r[3].returncode == 0 and r[0] not in registered]
    return [
        exactly("schema changes after SQL-injection strings", 0 if before == after else 1, 0,
                detail=f"{len(results)} commands: {len(payloads)} strings, {len(cases('x', 0))} fields"
                + (" (every 6th pair in the quick slice)" if quick else "")),
        exactly("ATTACHed files created", int(pwn.exists()), 0),
        percent("accepted injection strings stored verbatim", accepted - len(verbatim_bad), accepted,
                examples=verbatim_bad),
        exactly("refused injection strings that wrote rows", len(wrote), 0, examples=wrote),
        exactly("refused injection strings without a clear one-line error", len(unclear), 0, examples=unclear),
        exactly("reads by an injected MRN that found a patient", len(reads_ok), 0,
                examples=[f"{r[1]} {r[0]!r}" for r in reads_ok]),
        exactly("audit chain problems after the injection run", len(chain), 0, examples=chain),
    ]


def main(argv=None) -> int:
    figures = run(quick="--quick" in (argv or sys.argv[1:]))
    return print_figures(figures)


if __name__ == "__main__":
    sys.exit(main())
