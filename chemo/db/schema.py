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
# the two columns of labs with a DEFAULT (audit verify checks a column no audit row named against it)
LAB_DEFAULTS = {"source": "typed", "status": "final"}
_V2 = [
    f"ALTER TABLE labs ADD COLUMN source TEXT NOT NULL DEFAULT '{LAB_DEFAULTS['source']}'",
    "ALTER TABLE labs ADD COLUMN source_file TEXT",
    "ALTER TABLE labs ADD COLUMN source_id TEXT",
    "ALTER TABLE labs ADD COLUMN source_message TEXT",
    f"ALTER TABLE labs ADD COLUMN status TEXT NOT NULL DEFAULT '{LAB_DEFAULTS['status']}'",
    "ALTER TABLE labs ADD COLUMN superseded_by INTEGER REFERENCES labs(id)",
    "ALTER TABLE labs ADD COLUMN lab_time TEXT",
    "CREATE INDEX labs_source ON labs(source, source_id)",
]


_TOXICITIES = [
    """CREATE TABLE toxicities (
        id INTEGER PRIMARY KEY,
        patient_id INTEGER NOT NULL REFERENCES patients(id),
        plan_id INTEGER NOT NULL REFERENCES plans(id),
        cycle INTEGER NOT NULL CHECK (cycle >= 1),
        term TEXT NOT NULL,
        grade INTEGER NOT NULL CHECK (grade BETWEEN 0 AND 5),
        ctcae_version TEXT NOT NULL,
        occurred_at TEXT NOT NULL,
        note TEXT,
        recorded_at TEXT NOT NULL,
        recorded_by TEXT NOT NULL REFERENCES users(login)
    )""",
    "CREATE INDEX toxicities_patient ON toxicities(patient_id, cycle)",
]


class PostgreSQLOnly(str):
    """A statement of a version that only PostgreSQL runs (SQLite skips it): a server-side function."""


class SQLiteOnly(str):
    """A statement of a version that only SQLite runs (PostgreSQL skips it): a table rebuilt, where SQLite cannot
    alter a constraint in place and PostgreSQL can."""


LOCK_CLASS = 1667788143  # 0x63686D6F, "chmo": the writers' advisory-lock class (chemo.db.postgres.LOCK_CLASS)

# The keyed audit chain (issue 22).  From the first audit row written after this version, each row's
# ``hash`` is HMAC-SHA256 under the record's own key (``audit_key``: made at that first append, with
# the id of that row in ``since_id``); the rows before keep their SHA-256 chain, anchored by the first
# keyed row, whose keyed hash covers the ``prev_hash`` that ends the old chain.  The message is each of
# id, at, login, action, entity, entity_key, old, new, prev_hash as ``length:text`` (``-`` for NULL),
# joined by ``,`` (chemo.audit.keyed_payload; chemo_audit_payload below is the same on the server).
#
# On SQLite the key is in the file: a single-user file (mode 0600), whose owner can rewrite anything.
# On PostgreSQL the key is readable only by the record's owner: workstation roles append through
# chemo_audit_append and verify through chemo_audit_bad_rows, both SECURITY DEFINER, and never see it.
_PG_PAYLOAD = PostgreSQLOnly("""CREATE FUNCTION chemo_audit_payload(p_id BIGINT, p_at TEXT, p_login TEXT,
        p_action TEXT, p_entity TEXT, p_key TEXT, p_old TEXT, p_new TEXT, p_prev TEXT) RETURNS TEXT
    LANGUAGE sql IMMUTABLE AS $$
    SELECT concat_ws(',', length(p_id::text) || ':' || p_id::text,
        coalesce(length(p_at) || ':' || p_at, '-'), coalesce(length(p_login) || ':' || p_login, '-'),
        coalesce(length(p_action) || ':' || p_action, '-'), coalesce(length(p_entity) || ':' || p_entity, '-'),
        coalesce(length(p_key) || ':' || p_key, '-'), coalesce(length(p_old) || ':' || p_old, '-'),
        coalesce(length(p_new) || ':' || p_new, '-'), coalesce(length(p_prev) || ':' || p_prev, '-'))
$$""")
_PG_PADS = PostgreSQLOnly("""CREATE FUNCTION chemo_hmac_pads(p_key TEXT, OUT inner_pad BYTEA, OUT outer_pad BYTEA)
    LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    k BYTEA := decode(p_key, 'hex');
BEGIN
    IF length(k) > 64 THEN
        k := sha256(k);
    END IF;
    inner_pad := decode(repeat('36', 64), 'hex');
    outer_pad := decode(repeat('5c', 64), 'hex');
    FOR i IN 0 .. length(k) - 1 LOOP
        inner_pad := set_byte(inner_pad, i, get_byte(k, i) # 54);
        outer_pad := set_byte(outer_pad, i, get_byte(k, i) # 92);
    END LOOP;
END
$$""")
_PG_HMAC = PostgreSQLOnly("""CREATE FUNCTION chemo_hmac(p_key TEXT, p_message TEXT) RETURNS TEXT
    LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(outer_pad || sha256(inner_pad || convert_to(p_message, 'UTF8'))), 'hex')
    FROM chemo_hmac_pads(p_key)
$$""")
# who may write as a record login: a superuser or a member of the schema's owner (the DBA, the owner) as
# anyone (as on SQLite); any other database user as itself, or as a login a pharmacist mapped to it
_PG_MAY_ACT = PostgreSQLOnly("""CREATE FUNCTION chemo_may_act_as(p_login TEXT) RETURNS BOOLEAN
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
    SELECT coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = session_user), false)
        OR pg_has_role(session_user, (SELECT nspowner FROM pg_namespace WHERE nspname = current_schema()), 'MEMBER')
        OR p_login = session_user
        OR EXISTS (SELECT 1 FROM db_logins WHERE db_user = session_user AND login = p_login)
$$""")
_PG_APPEND = PostgreSQLOnly(f"""CREATE FUNCTION chemo_audit_append(p_at TEXT, p_login TEXT, p_action TEXT,
        p_entity TEXT, p_key TEXT, p_old TEXT, p_new TEXT) RETURNS BIGINT
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    last_row RECORD;
    key_row RECORD;
    new_id BIGINT;
    prev TEXT;
    digest TEXT;
BEGIN
    IF NOT chemo_may_act_as(p_login) THEN
        RAISE EXCEPTION 'chemo: the database user % may not act as %', session_user, p_login
            USING ERRCODE = '42501';
    END IF;
    PERFORM pg_advisory_xact_lock({LOCK_CLASS}, hashtext(current_schema()));  -- the chain: one writer at a time
    SELECT id, hash INTO last_row FROM audit ORDER BY id DESC LIMIT 1;
    new_id := coalesce(last_row.id, 0) + 1;
    prev := coalesce(last_row.hash, repeat('0', 64));
    SELECT key, since_id INTO key_row FROM audit_key WHERE one = 1;
    IF NOT FOUND THEN
        INSERT INTO audit_key (one, key, since_id) VALUES (1, encode(sha256(convert_to(
            gen_random_uuid()::text || gen_random_uuid()::text || clock_timestamp()::text, 'UTF8')), 'hex'), new_id)
            RETURNING key, since_id INTO key_row;
    END IF;
    digest := chemo_hmac(key_row.key, chemo_audit_payload(new_id, p_at, p_login, p_action, p_entity, p_key, p_old,
                                                          p_new, prev));
    INSERT INTO audit (id, at, login, action, entity, entity_key, old, new, prev_hash, hash)
        VALUES (new_id, p_at, p_login, p_action, p_entity, p_key, p_old, p_new, prev, digest);
    INSERT INTO audit_head (one, last_id, last_hash, rows) VALUES (1, new_id, digest, 1)
        ON CONFLICT (one) DO UPDATE SET last_id = excluded.last_id, last_hash = excluded.last_hash,
        rows = audit_head.rows + 1;
    RETURN new_id;
END
$$""")
_PG_KEYED_FROM = PostgreSQLOnly("""CREATE FUNCTION chemo_audit_keyed_from() RETURNS BIGINT
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
    SELECT since_id FROM audit_key WHERE one = 1
$$""")
_PG_BAD_ROWS = PostgreSQLOnly("""CREATE FUNCTION chemo_audit_bad_rows() RETURNS SETOF BIGINT
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
    SELECT a.id FROM audit a, audit_key k, chemo_hmac_pads(k.key) p WHERE k.one = 1 AND a.id >= k.since_id
        AND a.hash IS DISTINCT FROM encode(sha256(p.outer_pad || sha256(p.inner_pad || convert_to(
            chemo_audit_payload(a.id, a.at, a.login, a.action, a.entity, a.entity_key, a.old, a.new, a.prev_hash),
            'UTF8'))), 'hex')
    ORDER BY a.id
$$""")
_V4 = [
    """CREATE TABLE audit_key (
        one INTEGER PRIMARY KEY CHECK (one = 1),
        key TEXT NOT NULL,
        since_id INTEGER NOT NULL
    )""",
    _PG_PAYLOAD, _PG_PADS, _PG_HMAC, _PG_MAY_ACT, _PG_APPEND, _PG_KEYED_FROM, _PG_BAD_ROWS,
    PostgreSQLOnly("REVOKE ALL ON audit_key FROM PUBLIC"),
]


# The treatment calendar and the retreatment gates (issue 19).
#
# * ``cycle_delays``: a cycle's day 1 moved to ``to_date`` (``chemo delay``): ``kind`` ``delay`` (later than it
#   was due) or ``forward`` (earlier than it was due: a prescriber's decision); ``due_date`` the
#   date it was due before the move; the reason one of the five kinds, with an optional note.  The newest row of a
#   cycle stands; later cycles follow from it (cycle N+1 is due cycle N's day 1 + the cycle length).
# * ``gate_overrides``: a prescriber lets one cycle through one failing readiness gate, with a reason.
_CALENDAR = [
    """CREATE TABLE cycle_delays (
        id INTEGER PRIMARY KEY,
        plan_id INTEGER NOT NULL REFERENCES plans(id),
        cycle INTEGER NOT NULL CHECK (cycle >= 1),
        due_date TEXT NOT NULL,
        to_date TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('delay', 'forward')),
        reason TEXT NOT NULL CHECK (reason IN ('low-counts', 'toxicity', 'patient', 'logistics', 'other')),
        note TEXT,
        recorded_at TEXT NOT NULL,
        recorded_by TEXT NOT NULL REFERENCES users(login)
    )""",
    "CREATE INDEX cycle_delays_plan ON cycle_delays(plan_id, cycle)",
    """CREATE TABLE gate_overrides (
        id INTEGER PRIMARY KEY,
        plan_id INTEGER NOT NULL REFERENCES plans(id),
        cycle INTEGER NOT NULL CHECK (cycle >= 1),
        analyte TEXT NOT NULL,
        reason TEXT NOT NULL CHECK (length(reason) >= 10),
        finding TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        recorded_by TEXT NOT NULL REFERENCES users(login),
        UNIQUE (plan_id, cycle, analyte)
    )""",
]


# A lapsed dose sign-off signed again (chemo signoff of the same cycle): ``signoffs.superseded_by`` names the sign-off
# that replaced a lapsed one; both rows stay, both audited.  One sign-off of a plan, cycle and check stands (the one
# not superseded): UNIQUE (plan_id, cycle, check_kind) becomes a unique index of the rows not superseded.  The old
# row is marked first (pointing at the id the new row is about to take: the next after the largest) and the new one
# inserted after it, in one transaction: the key is checked at COMMIT (DEFERRABLE INITIALLY DEFERRED), so a mark
# without its new row is refused.  SQLite cannot drop a table's UNIQUE: the table is rebuilt (same columns, same
# rows and ids; no table refers to signoffs); PostgreSQL alters it in place.  Column order ends the same on both.
_SIGNOFFS_REBUILT = """CREATE TABLE signoffs_rebuilt (
        id INTEGER PRIMARY KEY,
        plan_id INTEGER NOT NULL REFERENCES plans(id),
        cycle INTEGER NOT NULL CHECK (cycle >= 1),
        check_kind TEXT NOT NULL CHECK (check_kind IN ('dose', 'readiness')),
        login TEXT NOT NULL REFERENCES users(login),
        role TEXT NOT NULL,
        signed_at TEXT NOT NULL,
        override_reason TEXT,
        detail TEXT NOT NULL,
        superseded_by INTEGER REFERENCES signoffs(id) DEFERRABLE INITIALLY DEFERRED
    )"""
_RESIGN = [
    SQLiteOnly(_SIGNOFFS_REBUILT),
    SQLiteOnly("INSERT INTO signoffs_rebuilt (id, plan_id, cycle, check_kind, login, role, signed_at, override_reason, "
               "detail) SELECT id, plan_id, cycle, check_kind, login, role, signed_at, override_reason, detail "
               "FROM signoffs ORDER BY id"),
    SQLiteOnly("DROP TABLE signoffs"),
    SQLiteOnly("ALTER TABLE signoffs_rebuilt RENAME TO signoffs"),
    PostgreSQLOnly("ALTER TABLE signoffs ADD COLUMN superseded_by BIGINT REFERENCES signoffs(id) "
                   "DEFERRABLE INITIALLY DEFERRED"),
    PostgreSQLOnly("""DO $$
DECLARE
    c TEXT;
BEGIN
    FOR c IN SELECT conname FROM pg_constraint WHERE conrelid = CAST('signoffs' AS regclass) AND contype = 'u' LOOP
        EXECUTE format('ALTER TABLE signoffs DROP CONSTRAINT %I', c);
    END LOOP;
END
$$"""),
    "CREATE UNIQUE INDEX signoffs_current ON signoffs(plan_id, cycle, check_kind) WHERE superseded_by IS NULL",
]


# Regimen approval (issue 24): a centre treats with a regimen file only once two different pharmacists have
# approved its exact bytes in this record.  One row per pharmacist's approval of one file:
#
# * ``regimen_id``, ``version`` (the file's own ``version``, NULL when it has none), ``sha256`` of the bytes and
#   ``file_text``, the bytes themselves (UTF-8 text), so that a later version is diffed against it and the
#   history shows it whatever became of the file; ``file_name``: the path it was approved from (absolute);
# * ``diff_json``: the clinical diff (chemo.regimen_diff) against ``diff_from``, the sha256 of the newest version
#   of the same regimen id approved by two pharmacists before this one (both NULL for the first version);
# * ``approved_by``: the record login; ``db_user``: the database user that wrote the row (PostgreSQL; NULL on
#   SQLite); ``approved_at`` (local time), ``comment``.
# The second approval of a sha256 must come from another login and, on PostgreSQL, another database user
# (chemo.db.privileges checks both on the server).
_APPROVALS = [
    """CREATE TABLE regimen_approvals (
        id INTEGER PRIMARY KEY,
        regimen_id TEXT NOT NULL,
        version TEXT,
        sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
        file_name TEXT NOT NULL,
        file_text TEXT NOT NULL,
        diff_from TEXT,
        diff_json TEXT,
        approved_by TEXT NOT NULL REFERENCES users(login),
        db_user TEXT,
        approved_at TEXT NOT NULL,
        comment TEXT,
        UNIQUE (sha256, approved_by)
    )""",
    "CREATE INDEX regimen_approvals_regimen ON regimen_approvals(regimen_id, id)",
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
    ("0005_keyed_audit", _V4),
    ("0006_calendar", _CALENDAR),
    # the first audit row of one record row (a sign-off's overrides, read at every administration) without
    # reading the whole chain
    ("0007_audit_entity_index", ["CREATE INDEX audit_entity ON audit(entity, entity_key, id)"]),
    # prescriptions in the record (issue 18): a prescriber's order of one cycle, verified at entry against the
    # record; a new order of a cycle supersedes the old one by being newer (the standing order is the newest of
    # its plan and cycle; nothing is updated, both are kept and audited).  ``dose_level``, ``lines`` and ``body``
    # are JSON text: the lines as verified (drug, day, dose as written, mg, calculated mg, status, reasons,
    # message), the body size they were verified on.
    ("0008_prescriptions", ["""CREATE TABLE prescriptions (
        id INTEGER PRIMARY KEY,
        plan_id INTEGER NOT NULL REFERENCES plans(id),
        cycle INTEGER NOT NULL CHECK (cycle >= 1),
        dose_level TEXT NOT NULL,
        lines TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('ok', 'review')),
        reason TEXT,
        source TEXT NOT NULL,
        body TEXT NOT NULL,
        regimen_sha256 TEXT NOT NULL,
        supersedes INTEGER REFERENCES prescriptions(id),
        prescribed_at TEXT NOT NULL,
        prescribed_by TEXT NOT NULL REFERENCES users(login)
    )""", "CREATE INDEX prescriptions_cycle ON prescriptions(plan_id, cycle)"]),
    # adverse events by CTCAE v5.0 term and grade, per cycle of a plan (issue 23: chemo toxicity add);
    # grade 0 records that an event has resolved (a held drug resumes)
    ("0009_toxicities", _TOXICITIES),
    # allergies on the patient record (issue 20): the substance as written, the library drug or drug class it
    # names (NULL for a substance outside the library: shown, never matched), the reaction and its severity
    ("0010_supportive_care", ["""CREATE TABLE allergies (
        id INTEGER PRIMARY KEY,
        patient_id INTEGER NOT NULL REFERENCES patients(id),
        substance TEXT NOT NULL CHECK (length(substance) BETWEEN 1 AND 80),
        drug TEXT,
        drug_class TEXT,
        reaction TEXT NOT NULL CHECK (length(reaction) BETWEEN 1 AND 200),
        severity TEXT CHECK (severity IN ('mild', 'moderate', 'severe', 'life-threatening')),
        recorded_at TEXT NOT NULL,
        recorded_by TEXT NOT NULL
    )""", "CREATE INDEX allergies_patient ON allergies(patient_id)",
        # the supportive lines a prescription carries (JSON text: supportive, conditional, emetogenic class)
        "ALTER TABLE prescriptions ADD COLUMN supportive TEXT"]),
    ("0011_signoff_resign", _RESIGN),
    ("0012_regimen_approvals", _APPROVALS),
]

_PG_TYPES = ((re.compile(r"\bINTEGER PRIMARY KEY\b"), "BIGINT PRIMARY KEY"),
             (re.compile(r"\bINTEGER\b"), "BIGINT"),
             (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
             (re.compile(r"\bTEXT\b"), 'TEXT COLLATE "C"'))


def sqlite(statement: str) -> str | None:
    """One statement of :data:`VERSIONS` as SQLite runs it (None: a PostgreSQL-only statement, skipped)."""
    return None if isinstance(statement, PostgreSQLOnly) else statement


def postgresql(statement: str) -> str | None:
    """One statement of :data:`VERSIONS` as PostgreSQL runs it (types only; the rest is common SQL; None: a
    SQLite-only statement, skipped)."""
    if isinstance(statement, SQLiteOnly):
        return None
    if isinstance(statement, PostgreSQLOnly):
        return str(statement)
    for pattern, replacement in _PG_TYPES:
        statement = pattern.sub(replacement, statement)
    return statement

