"""The database schema: one description, migrated on SQLite and on PostgreSQL.

A value is stored as it was entered (``value_text``: ``"1200 /uL"``) with the
converted number beside it in the analyte's canonical unit (``value``,
``unit``), so a reader never has to guess what a bare number meant and the
original can always be shown.  Dates are ISO text (``YYYY-MM-DD``), times
local ISO to the second (``YYYY-MM-DDTHH:MM:SS``), audit times UTC.

How to change the schema: add one ``(name, statements)`` pair at the end of
:data:`VERSIONS`, named ``"000N_what"`` (``0003_lab_sources`` is an example):
ALTER TABLE ... ADD COLUMN and CREATE INDEX statements, or a new table.

Never edit or reorder a version that has shipped.  Write statements in the
plain SQL both engines read, with only the types ``INTEGER``, ``REAL`` and
``TEXT`` (``INTEGER PRIMARY KEY`` for an id): SQLite runs them as written;
:func:`postgresql` rewrites the types for PostgreSQL (``BIGINT``,
``DOUBLE PRECISION``, ``TEXT COLLATE "C"`` so text sorts and compares byte by
byte as in SQLite).  :mod:`chemo.db.migrate` applies them, the same way on
both engines, and keeps the applied names in ``chemo_migrations``.
"""

from __future__ import annotations

import re

_V1 = [
    """CREATE TABLE users (
        login TEXT PRIMARY KEY CHECK (length(login) BETWEEN 1 AND 64),
        added_at TEXT NOT NULL,
        added_by TEXT NOT NULL
    )""",
    """CREATE TABLE roles (
        login TEXT NOT NULL REFERENCES users(login),
        role TEXT NOT NULL CHECK (role IN ('pharmacist', 'nurse', 'prescriber')),
        PRIMARY KEY (login, role)
    )""",
    """CREATE TABLE patients (
        id INTEGER PRIMARY KEY,
        mrn TEXT NOT NULL UNIQUE CHECK (length(mrn) BETWEEN 1 AND 64),
        name TEXT NOT NULL,
        sex TEXT NOT NULL CHECK (sex IN ('female', 'male')),
        born TEXT NOT NULL,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL
    )""",
    """CREATE TABLE measurements (
        id INTEGER PRIMARY KEY,
        patient_id INTEGER NOT NULL REFERENCES patients(id),
        measured_on TEXT NOT NULL,
        height_text TEXT,
        height_cm REAL CHECK (height_cm IS NULL OR height_cm > 0),
        weight_text TEXT NOT NULL,
        weight_kg REAL NOT NULL CHECK (weight_kg > 0),
        recorded_at TEXT NOT NULL,
        recorded_by TEXT NOT NULL
    )""",
    "CREATE INDEX measurements_patient ON measurements(patient_id, measured_on)",
    """CREATE TABLE labs (
        id INTEGER PRIMARY KEY,
        patient_id INTEGER NOT NULL REFERENCES patients(id),
        analyte TEXT NOT NULL,
        value_text TEXT NOT NULL,
        value REAL NOT NULL,
        unit TEXT NOT NULL,
        uln_text TEXT,
        uln REAL,
        range_text TEXT,
        collected_at TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        recorded_by TEXT NOT NULL
    )""",
    "CREATE INDEX labs_newest ON labs(patient_id, analyte, collected_at)",
    """CREATE TABLE prior_exposure (
        id INTEGER PRIMARY KEY,
        patient_id INTEGER NOT NULL REFERENCES patients(id),
        drug TEXT NOT NULL,
        dose_text TEXT NOT NULL,
        mg_m2 REAL NOT NULL CHECK (mg_m2 > 0),
        note TEXT,
        recorded_at TEXT NOT NULL,
        recorded_by TEXT NOT NULL
    )""",
    "CREATE INDEX prior_patient ON prior_exposure(patient_id)",
    """CREATE TABLE plans (
        id INTEGER PRIMARY KEY,
        patient_id INTEGER NOT NULL REFERENCES patients(id),
        regimen_id TEXT NOT NULL,
        regimen_path TEXT NOT NULL,
        regimen_sha256 TEXT NOT NULL,
        start_date TEXT NOT NULL,
        planned_cycles INTEGER NOT NULL CHECK (planned_cycles >= 1),
        dosing_weight_text TEXT NOT NULL,
        dosing_weight_kg REAL NOT NULL CHECK (dosing_weight_kg > 0),
        dosing_height_cm REAL NOT NULL CHECK (dosing_height_cm > 0),
        bsa_formula TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('active', 'superseded')),
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL
    )""",
    "CREATE INDEX plans_patient ON plans(patient_id, status)",
    """CREATE TABLE signoffs (
        id INTEGER PRIMARY KEY,
        plan_id INTEGER NOT NULL REFERENCES plans(id),
        cycle INTEGER NOT NULL CHECK (cycle >= 1),
        check_kind TEXT NOT NULL CHECK (check_kind IN ('dose', 'readiness')),
        login TEXT NOT NULL REFERENCES users(login),
        role TEXT NOT NULL,
        signed_at TEXT NOT NULL,
        override_reason TEXT,
        detail TEXT NOT NULL,
        UNIQUE (plan_id, cycle, check_kind)
    )""",
    """CREATE TABLE administrations (
        id INTEGER PRIMARY KEY,
        plan_id INTEGER NOT NULL REFERENCES plans(id),
        cycle INTEGER NOT NULL CHECK (cycle >= 1),
        day INTEGER NOT NULL CHECK (day >= 1),
        drug TEXT NOT NULL,
        dose_mg REAL NOT NULL CHECK (dose_mg >= 0),
        bsa_m2 REAL NOT NULL CHECK (bsa_m2 > 0),
        given_at TEXT NOT NULL,
        given_by TEXT NOT NULL REFERENCES users(login),
        UNIQUE (plan_id, cycle, day, drug)
    )""",
    """CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        login TEXT NOT NULL,
        action TEXT NOT NULL,
        entity TEXT NOT NULL,
        entity_key TEXT,
        old TEXT,
        new TEXT,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    )""",
    # the newest audit row, written in the same transaction: a deleted last row is found too
    """CREATE TABLE audit_head (
        one INTEGER PRIMARY KEY CHECK (one = 1),
        last_id INTEGER NOT NULL,
        last_hash TEXT NOT NULL,
        rows INTEGER NOT NULL
    )""",
]


# Labs from the laboratory system (issue 10).  Portable SQL only (ALTER TABLE ... ADD COLUMN,
# CREATE INDEX): the same statements run on SQLite and PostgreSQL.
#
# * ``source``: where the row came from, ``typed`` (chemo labs add), ``fhir`` or ``hl7``;
# * ``source_file``: the file it was imported from;
# * ``source_id``: the result's identity at the lab: the FHIR Observation id, or for HL7 v2
#   sending facility | filler (else placer) order number | OBX-3 code | OBX-4 sub-id;
# * ``source_message``: the FHIR Bundle id / Observation version, or the HL7 message control id (MSH-10);
# * ``status``: final, amended, corrected, preliminary, registered, cancelled, entered-in-error;
#   only final, amended and corrected results gate readiness;
# * ``superseded_by``: the row that replaced this one (a corrected result, a retraction);
#   a superseded row never gates readiness and stays in the record and the audit trail;
# * ``lab_time``: the collection time as the lab wrote it, with its zone (``collected_at`` is
#   that time in local clinic time, as for typed results).
_V2 = [
    "ALTER TABLE labs ADD COLUMN source TEXT NOT NULL DEFAULT 'typed'",
    "ALTER TABLE labs ADD COLUMN source_file TEXT",
    "ALTER TABLE labs ADD COLUMN source_id TEXT",
    "ALTER TABLE labs ADD COLUMN source_message TEXT",
    "ALTER TABLE labs ADD COLUMN status TEXT NOT NULL DEFAULT 'final'",
    "ALTER TABLE labs ADD COLUMN superseded_by INTEGER REFERENCES labs(id)",
    "ALTER TABLE labs ADD COLUMN lab_time TEXT",
    "CREATE INDEX labs_source ON labs(source, source_id)",
]


# (name, statements), oldest first: see the module text before adding one
VERSIONS: list[tuple[str, list[str]]] = [
    ("0001_initial", _V1),
    # which record logins a database user may act as (PostgreSQL; ``chemo user map``, set by a pharmacist)
    ("0002_db_logins", ["""CREATE TABLE db_logins (
        db_user TEXT NOT NULL CHECK (length(db_user) BETWEEN 1 AND 63),
        login TEXT NOT NULL REFERENCES users(login),
        added_at TEXT NOT NULL,
        added_by TEXT NOT NULL,
        PRIMARY KEY (db_user, login)
    )"""]),
    ("0003_lab_sources", _V2),
    # a censored lab value ("<0.5 10^9/L", FHIR valueQuantity.comparator, HL7 SN "<^0.5"): the comparator
    # (<, <=, >, >=) beside value_text/value, which hold the bound; NULL for an exact value (issue 21)
    ("0004_lab_comparators", ["ALTER TABLE labs ADD COLUMN comparator TEXT "
                              "CHECK (comparator IN ('<', '<=', '>', '>='))"]),
    # allergies on the patient record (issue 20): the substance as written, the library drug or drug class it
    # names (NULL for a substance outside the library: shown, never matched), the reaction and its severity
    ("0005_allergies", ["""CREATE TABLE allergies (
        id INTEGER PRIMARY KEY,
        patient_id INTEGER NOT NULL REFERENCES patients(id),
        substance TEXT NOT NULL CHECK (length(substance) BETWEEN 1 AND 80),
        drug TEXT,
        drug_class TEXT,
        reaction TEXT NOT NULL CHECK (length(reaction) BETWEEN 1 AND 200),
        severity TEXT CHECK (severity IN ('mild', 'moderate', 'severe', 'life-threatening')),
        recorded_at TEXT NOT NULL,
        recorded_by TEXT NOT NULL
    )""", "CREATE INDEX allergies_patient ON allergies(patient_id)"]),
]

_PG_TYPES = ((re.compile(r"\bINTEGER PRIMARY KEY\b"), "BIGINT PRIMARY KEY"),
             (re.compile(r"\bINTEGER\b"), "BIGINT"),
             (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
             (re.compile(r"\bTEXT\b"), 'TEXT COLLATE "C"'))


def postgresql(statement: str) -> str:
    """One statement of :data:`VERSIONS` as PostgreSQL runs it (types only; the rest is common SQL)."""
    for pattern, replacement in _PG_TYPES:
        statement = pattern.sub(replacement, statement)
    return statement

