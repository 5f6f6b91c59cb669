"""Least privilege on PostgreSQL: what a workstation role may write, checked by the server (``chemo db setup-sql``).

The deployment: a DBA, an owner role that owns the schema (it runs the
migrations and ``chemo db copy``), and one non-superuser role per workstation
user, all members of one group role.  :func:`setup_sql` prints the DBA's script
for the current schema version; run it with psql as a superuser after the
owner's first chemo command, and again after every upgrade (it is idempotent).

What a workstation role may do after it:

* read every table but ``audit_key`` (the HMAC key of the audit chain);
* ``INSERT`` into the tables of :data:`WRITES`, and change the columns listed
  there (a correction's ``labs.superseded_by``, a superseded plan's
  ``plans.status``, a lapsed dose sign-off's ``signoffs.superseded_by``) only
  through the owner's ``chemo_update``: no ``UPDATE`` privilege at all (so no
  ``SELECT ... FOR UPDATE`` either), no ``DELETE``, no
  ``TRUNCATE``, no write at all to the audit, its head, its key or the
  migrations;
* every such row first passes ``chemo_guard``, a ``SECURITY DEFINER``
  trigger owned by the owner, which takes the writers' lock (through
  ``chemo_lock``: a write left open is a lock held, and cut off) and checks on
  the server what chemo checks in the program: a new row is numbered the next
  after the largest, the row's author column names a login the database user
  may act as (itself, or a login a pharmacist mapped to it in ``db_logins``),
  that login holds a role the table needs (:data:`WRITES`), a sign-off's role
  is its check's (dose: pharmacist, readiness: nurse) and the other check of
  the cycle (the one standing) was not made by its signer nor by any login this database user may
  act as (the two-person rule), the second approval of a regimen file's bytes comes from another
  pharmacist and another database user than the first, each from a database user that acts as pharmacists
  only (and names its database user, the sha256 of
  its text, the regimen id and version the first named; a text no larger than a regimen file), a correction points at a newer row of the same
  patient and analyte with the same lab identity (source and source id), a plan starts only on
  regimen bytes (its ``regimen_sha256``) two pharmacists approved, the newest approved version of its regimen
  id, and only goes from active to superseded, a dose sign-off is marked superseded once, by a pharmacist, by the next sign-off of
  the same plan, cycle and check, before a dose of its cycle is given.  ``users``, ``roles`` and ``db_logins`` are
  written by a pharmacist only;
* append to the audit only through ``chemo_audit_append`` (the server computes
  the keyed hash; the role never sees the key) and check it through
  ``chemo_audit_bad_rows``;
* take the writers' advisory locks only through ``chemo_lock``: the
  ``pg_advisory_*`` functions are revoked from PUBLIC, and a waiting writer
  ends the session of a non-owner holder idle in its transaction for
  :data:`STALE_IDLE_S` or in a transaction open for :data:`STALE_OPEN_S` (a
  workstation cannot hold the record).

Why triggers and not one function per write: the program keeps one SQL path
for both engines (no second copy of each write in PL/pgSQL), every write --
chemo's or a psql session's -- passes the same server-side checks, and a table
added by a later schema version is covered by adding one line to
:data:`WRITES` (a table not listed there is read-only for workstations).  What
the server cannot check is the clinical computation itself (readiness, the
cap, the dose): a signer who goes around chemo signs under their own login,
and ``audit verify`` shows a row without its audit row, or an audit row that
differs from its row.
"""

from __future__ import annotations

import re

import attrs

from ..roles import ANY, MEASURERS, REGISTRARS, TOXICITY_RECORDERS
from .schema import LOCK_CLASS, VERSIONS

# a non-owner holding a writers' lock is cut off by a waiting writer when its transaction has sat idle this long
# (chemo never waits between the statements of a write), or has been open this long whatever it does (a large
# import stays well under it; a session that holds the lock and runs pg_sleep is bounded by it)
STALE_IDLE_S = 2
STALE_OPEN_S = 30
LOCK_WAIT_S = 10  # how long chemo_lock waits in all (the busy timeout of chemo.db.store)


@attrs.frozen
class Guard:
    """Who may write one table: the column naming the author (None: any login the user may act as, with the
    role), the roles that may, the columns an UPDATE may change."""

    author: str | None
    roles: tuple[str, ...]
    update: tuple[str, ...] = ()


# THE list: every table a workstation writes.  A new table is read-only for workstations until it is added here.
WRITES: dict[str, Guard] = {
    "users": Guard("added_by", ("pharmacist",)),
    "roles": Guard(None, ("pharmacist",)),
    "db_logins": Guard("added_by", ("pharmacist",)),
    "patients": Guard("created_by", REGISTRARS),
    "measurements": Guard("recorded_by", MEASURERS),  # nurses weigh patients (issue 19)
    "labs": Guard("recorded_by", ANY, update=("superseded_by",)),
    "prior_exposure": Guard("recorded_by", REGISTRARS),
    "plans": Guard("created_by", REGISTRARS, update=("status",)),
    "prescriptions": Guard("prescribed_by", ("prescriber",)),  # rows only added: the newest of a cycle stands
    # and the check's own role: see _TABLE_RULES; a lapsed dose sign-off is marked superseded by the next one
    "signoffs": Guard("login", ("pharmacist", "nurse"), update=("superseded_by",)),
    "administrations": Guard("given_by", ("nurse",)),
    "cycle_delays": Guard("recorded_by", ANY),  # bringing a cycle forward: a prescriber (see _TABLE_RULES)
    "gate_overrides": Guard("recorded_by", ("prescriber",)),
    "toxicities": Guard("recorded_by", TOXICITY_RECORDERS),
    "allergies": Guard("recorded_by", ANY),  # any registered user records an allergy (issue 20)
    # two different pharmacists from two database users approve a regimen file's bytes (issue 24; _TABLE_RULES)
    "regimen_approvals": Guard("approved_by", ("pharmacist",)),
}
SECRET = ("audit_key",)  # tables no workstation reads
READ_ONLY = ("audit", "audit_head", "audit_key", "chemo_migrations")  # written by the owner's functions or the owner
# the owner's functions workstation roles may call: made by the schema's versions (their search_path pinned here)
# and by this script
VERSION_FUNCTIONS = ("chemo_audit_append(text, text, text, text, text, text, text)", "chemo_audit_keyed_from()",
                     "chemo_audit_bad_rows()", "chemo_may_act_as(text)")
FUNCTIONS = VERSION_FUNCTIONS + ("chemo_lock(integer, integer)", "chemo_update(text, bigint, text, text)")

# rules of one table beyond its author and roles (PL/pgSQL run by chemo_guard; ``actor`` is the author's login)
_TABLE_RULES = {
    "signoffs": """
        IF TG_OP = 'INSERT' THEN
            IF NEW.role IS DISTINCT FROM (CASE NEW.check_kind WHEN 'dose' THEN 'pharmacist' ELSE 'nurse' END)
               OR NOT EXISTS (SELECT 1 FROM roles WHERE login = actor AND role = NEW.role) THEN
                RAISE EXCEPTION 'chemo: the % sign-off needs a %; % signs as %', NEW.check_kind,
                    CASE NEW.check_kind WHEN 'dose' THEN 'pharmacist' ELSE 'nurse' END, actor, NEW.role
                    USING ERRCODE = '42501';
            END IF;
            IF EXISTS (SELECT 1 FROM signoffs WHERE plan_id = NEW.plan_id AND cycle = NEW.cycle AND superseded_by IS NULL
                       AND check_kind <> NEW.check_kind AND (login = NEW.login OR chemo_may_act_as(login))) THEN
                RAISE EXCEPTION 'chemo: the other check of cycle % was made by % or by this database user; two people sign a cycle',
                    NEW.cycle, actor
                    USING ERRCODE = '42501';
            END IF;
            -- the sign-off a lapsed one was marked superseded by is of the same plan, cycle and check
            IF EXISTS (SELECT 1 FROM signoffs WHERE superseded_by = NEW.id AND (plan_id, cycle, check_kind)
                       IS DISTINCT FROM (NEW.plan_id, NEW.cycle, NEW.check_kind)) THEN
                RAISE EXCEPTION 'chemo: sign-off % replaces a sign-off of another plan, cycle or check', NEW.id
                    USING ERRCODE = '42501';
            END IF;
        ELSE
            -- a lapsed dose sign-off marked superseded (whether it lapsed is the program's decision: the server
            -- checks the rest): once, by a pharmacist, pointing at the sign-off about to be written (the next id,
            -- its plan, cycle and check checked when it is), before a dose of the cycle is given
            IF OLD.superseded_by IS NOT NULL OR OLD.check_kind <> 'dose'
               OR NEW.superseded_by IS DISTINCT FROM (SELECT coalesce(max(id), 0) + 1 FROM signoffs) THEN
                RAISE EXCEPTION 'chemo: dose sign-off % is superseded only once, by the next sign-off of its cycle',
                    OLD.id USING ERRCODE = '42501';
            END IF;
            IF NOT EXISTS (SELECT 1 FROM roles WHERE role = 'pharmacist' AND chemo_may_act_as(login)) THEN
                RAISE EXCEPTION 'chemo: a dose sign-off is signed again by a pharmacist; the database user % '
                    'acts as none', session_user USING ERRCODE = '42501';
            END IF;
            IF EXISTS (SELECT 1 FROM administrations WHERE plan_id = OLD.plan_id AND cycle = OLD.cycle) THEN
                RAISE EXCEPTION 'chemo: cycle % was started: its dose sign-off is not signed again', OLD.cycle
                    USING ERRCODE = '42501';
            END IF;
        END IF;""",
    "labs": """
        IF TG_OP = 'UPDATE' AND (OLD.superseded_by IS NOT NULL OR OLD.source_id IS NULL OR NOT EXISTS (
                SELECT 1 FROM labs WHERE id = NEW.superseded_by AND id > OLD.id AND patient_id = OLD.patient_id
                AND analyte = OLD.analyte AND source = OLD.source AND source_id = OLD.source_id)) THEN
            RAISE EXCEPTION 'chemo: lab row % is replaced only once, by a newer result of the same lab identity',
                OLD.id USING ERRCODE = '42501';
        END IF;""",
    "cycle_delays": """
        IF NEW.kind = 'forward' AND NOT EXISTS (SELECT 1 FROM roles WHERE login = actor AND role = 'prescriber') THEN
            RAISE EXCEPTION 'chemo: bringing a cycle forward needs a prescriber (% is not)', actor
                USING ERRCODE = '42501';
        END IF;""",
    "regimen_approvals": """
        IF NEW.db_user IS DISTINCT FROM session_user::text THEN
            RAISE EXCEPTION 'chemo: an approval names the database user that made it (%), not %', session_user,
                coalesce(NEW.db_user, 'none') USING ERRCODE = '42501';
        END IF;
        IF octet_length(NEW.file_text) > {max_text} OR length(NEW.comment) > {max_comment} THEN
            RAISE EXCEPTION 'chemo: an approval''s file text is at most {max_text} bytes (a regimen file''s limit) and '
                'its comment at most {max_comment} characters' USING ERRCODE = '42501';
        END IF;
        -- a pharmacist's own database user: one that acts as no login without the pharmacist role (a pharmacist
        -- who maps a nurse's database user to another pharmacist's login does not get the second approval)
        SELECT u.login INTO other FROM users u
            WHERE (u.login = session_user::text
                   OR EXISTS (SELECT 1 FROM db_logins m WHERE m.db_user = session_user AND m.login = u.login))
              AND NOT EXISTS (SELECT 1 FROM roles r WHERE r.login = u.login AND r.role = 'pharmacist')
            ORDER BY u.login LIMIT 1;
        IF other IS NOT NULL THEN
            RAISE EXCEPTION 'chemo: a regimen is approved from a pharmacist''s own database user; % also acts as %, '
                'who is not a pharmacist', session_user, other USING ERRCODE = '42501';
        END IF;
        -- what chemo prints of an approval (history, a refusal naming the newest version) is plain text
        IF concat(NEW.regimen_id, NEW.version, NEW.file_name, NEW.comment, NEW.approved_at) ~ '[[:cntrl:]]' THEN
            RAISE EXCEPTION 'chemo: an approval''s names, file name and comment are plain text (no control '
                'characters)' USING ERRCODE = '42501';
        END IF;
        -- the bytes are named as their first approval named them: one regimen id and version per sha256
        IF EXISTS (SELECT 1 FROM regimen_approvals WHERE sha256 = NEW.sha256 AND (regimen_id, version)
                   IS DISTINCT FROM (NEW.regimen_id, NEW.version)) THEN
            RAISE EXCEPTION 'chemo: sha256 % was approved under another regimen id or version than % %',
                left(NEW.sha256, 12), NEW.regimen_id, coalesce(NEW.version, '(none)') USING ERRCODE = '42501';
        END IF;
        -- and a version names one text: other bytes under an id and version approved before are refused
        IF EXISTS (SELECT 1 FROM regimen_approvals WHERE regimen_id = NEW.regimen_id
                   AND version IS NOT DISTINCT FROM NEW.version AND sha256 <> NEW.sha256) THEN
            RAISE EXCEPTION 'chemo: version % of % names other bytes already approved: a changed file carries a '
                'new version', coalesce(NEW.version, '(none)'), NEW.regimen_id USING ERRCODE = '42501';
        END IF;
        IF NEW.sha256 IS DISTINCT FROM encode(sha256(convert_to(NEW.file_text, 'UTF8')), 'hex') THEN
            RAISE EXCEPTION 'chemo: the approval of % names a sha256 that is not its file text''s', NEW.regimen_id
                USING ERRCODE = '42501';
        END IF;
        IF EXISTS (SELECT 1 FROM regimen_approvals WHERE sha256 = NEW.sha256 AND (approved_by = NEW.approved_by
                   OR db_user = session_user::text OR chemo_may_act_as(approved_by))) THEN
            RAISE EXCEPTION 'chemo: % (sha256 %) is approved already by % or from the database user %; a second pharmacist approves it from their own database user',
                NEW.regimen_id, left(NEW.sha256, 12), actor, session_user USING ERRCODE = '42501';
        END IF;
        IF (SELECT count(*) FROM regimen_approvals WHERE sha256 = NEW.sha256) >= {needed} THEN
            RAISE EXCEPTION 'chemo: % (sha256 %) is approved by {needed} pharmacists already', NEW.regimen_id,
                left(NEW.sha256, 12) USING ERRCODE = '42501';
        END IF;""",
    "plans": """
        IF TG_OP = 'UPDATE' AND NOT (OLD.status = 'active' AND NEW.status = 'superseded') THEN
            RAISE EXCEPTION 'chemo: plan % goes only from active to superseded', OLD.id USING ERRCODE = '42501';
        END IF;
        -- a plan starts only on regimen bytes two pharmacists approved (whether they are the newest approved
        -- version of the regimen, and not retired, is the program's decision: the server checks the approvals)
        IF TG_OP = 'INSERT' AND (SELECT count(DISTINCT approved_by) FROM regimen_approvals
                                 WHERE sha256 = NEW.regimen_sha256) < {needed} THEN
            RAISE EXCEPTION 'chemo: plan % starts on % (sha256 %), which {needed} pharmacists have not approved',
                NEW.id, NEW.regimen_id, left(NEW.regimen_sha256, 12) USING ERRCODE = '42501';
        END IF;
        -- and on the newest version of its regimen id two pharmacists approved (the one seconded last)
        IF TG_OP = 'INSERT' AND NEW.regimen_sha256 IS DISTINCT FROM (
                SELECT a.sha256 FROM regimen_approvals a
                WHERE a.regimen_id = (SELECT regimen_id FROM regimen_approvals WHERE sha256 = NEW.regimen_sha256
                                      ORDER BY id LIMIT 1)
                  AND EXISTS (SELECT 1 FROM regimen_approvals b WHERE b.sha256 = a.sha256 AND b.id < a.id
                              AND b.approved_by <> a.approved_by)
                ORDER BY a.id DESC LIMIT 1) THEN
            RAISE EXCEPTION 'chemo: plan % starts on % (sha256 %), but a newer version of it was approved since',
                NEW.id, NEW.regimen_id, left(NEW.regimen_sha256, 12) USING ERRCODE = '42501';
        END IF;""",
}

_ROLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")


def _ident(name: str, what: str) -> str:
    from ..errors import ChemoError

    if not _ROLE_NAME.match(name or ""):
        raise ChemoError(f"{name!r}: expected a PostgreSQL {what} name (a letter or '_', then letters, digits, "
                         "'_' or '$'; at most 63)", field=what)
    return f'"{name}"'


def _text_array(values) -> str:
    return "ARRAY[" + ", ".join(f"'{v}'" for v in values) + "]::text[]"


def _guard_function(schema: str) -> str:
    cases = []
    for table, guard in WRITES.items():
        author = f"to_jsonb(NEW) ->> '{guard.author}'" if guard.author else "NULL"
        update = _text_array(guard.update) if guard.update else "ARRAY[]::text[]"
        cases.append(f"        WHEN '{table}' THEN author := {author}; need := {_text_array(guard.roles)}; "
                     f"changeable := {update};")
    from ..datafile import MAX_FILE_BYTES
    from .regimen_approvals import MAX_COMMENT, NEEDED

    limits = {"{max_text}": str(MAX_FILE_BYTES), "{max_comment}": str(MAX_COMMENT), "{needed}": str(NEEDED)}
    rules = []
    for table, body in _TABLE_RULES.items():
        for name, value in limits.items():
            body = body.replace(name, value)
        rules.append(f"    IF TG_TABLE_NAME = '{table}' THEN{body}\n    END IF;")
    return f"""CREATE OR REPLACE FUNCTION chemo_guard() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $guard$
DECLARE
    author TEXT;
    actor TEXT;
    need TEXT[];
    changeable TEXT[];
    next_id BIGINT;
    other TEXT;
BEGIN
    -- the owner (migrations, chemo db copy) and a superuser write as they please: they own the record anyway
    IF coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = session_user), false)
       OR pg_has_role(session_user, (SELECT nspowner FROM pg_namespace WHERE nspname = '{schema.strip('"')}'),
                      'MEMBER') THEN
        RETURN coalesce(NEW, OLD);
    END IF;
    IF TG_OP <> 'INSERT' AND TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION 'chemo: rows of % are never deleted', TG_TABLE_NAME USING ERRCODE = '42501';
    END IF;
    -- a workstation writes under the writers' lock, from its first write to its commit: a write left open (a row
    -- another writer would wait for) is a lock held, and chemo_lock cuts off a holder left idle
    PERFORM chemo_lock({LOCK_CLASS}, hashtext(current_schema()));
    IF TG_OP = 'INSERT' AND to_jsonb(NEW) ? 'id' THEN  -- ids are the next after the largest, as chemo numbers them
        EXECUTE format('SELECT coalesce(max(id), 0) + 1 FROM %I', TG_TABLE_NAME) INTO next_id;
        IF (to_jsonb(NEW) ->> 'id')::bigint IS DISTINCT FROM next_id THEN
            RAISE EXCEPTION 'chemo: a new row of % is numbered %', TG_TABLE_NAME, next_id USING ERRCODE = '42501';
        END IF;
    END IF;
    CASE TG_TABLE_NAME
{chr(10).join(cases)}
        ELSE RAISE EXCEPTION 'chemo: % is not written by workstations', TG_TABLE_NAME USING ERRCODE = '42501';
    END CASE;
    IF TG_OP = 'UPDATE' THEN
        IF (to_jsonb(NEW) - changeable) IS DISTINCT FROM (to_jsonb(OLD) - changeable) THEN
            RAISE EXCEPTION 'chemo: only % of % may change', changeable, TG_TABLE_NAME USING ERRCODE = '42501';
        END IF;
        author := NULL;
    END IF;
    IF author IS NOT NULL THEN
        IF NOT chemo_may_act_as(author) THEN
            RAISE EXCEPTION 'chemo: the database user % may not act as %', session_user, author
                USING ERRCODE = '42501';
        END IF;
        IF NOT EXISTS (SELECT 1 FROM roles WHERE login = author AND role = ANY (need)) THEN
            RAISE EXCEPTION 'chemo: writing % needs a % (% is not)', TG_TABLE_NAME, array_to_string(need, ' or '),
                author USING ERRCODE = '42501';
        END IF;
        actor := author;
    ELSE  -- no author column: some login the database user may act as must hold the role
        SELECT r.login INTO actor FROM roles r WHERE r.role = ANY (need) AND chemo_may_act_as(r.login) LIMIT 1;
        IF actor IS NULL THEN
            RAISE EXCEPTION 'chemo: writing % needs a %; the database user % acts as none',
                TG_TABLE_NAME, array_to_string(need, ' or '), session_user USING ERRCODE = '42501';
        END IF;
    END IF;
{chr(10).join(rules)}
    RETURN NEW;
END
$guard$"""


def _lock_function(schema: str) -> str:
    return f"""CREATE OR REPLACE FUNCTION chemo_lock(k1 INTEGER, k2 INTEGER) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $lock$
DECLARE
    waited INTEGER := 0;
    timeout TEXT := current_setting('lock_timeout');
BEGIN
    IF pg_try_advisory_xact_lock(k1, k2) THEN  -- free, or already this transaction's: no wait, no subtransaction
        RETURN;
    END IF;
    LOOP
        BEGIN
            PERFORM set_config('lock_timeout', '1s', true);
            PERFORM pg_advisory_xact_lock(k1, k2);
            PERFORM set_config('lock_timeout', timeout, true);
            RETURN;
        EXCEPTION WHEN lock_not_available THEN
            -- a workstation cannot hold the record: a holder that is not the owner, idle in its transaction for
            -- {STALE_IDLE_S} s (chemo never waits between the statements of a write) or in a transaction open for
            -- {STALE_OPEN_S} s, has its session ended
            PERFORM pg_terminate_backend(a.pid) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'advisory' AND l.granted AND l.classid = k1::oid AND l.objid = k2::oid
                AND l.objsubid = 2
                AND ((a.state LIKE 'idle in transaction%' AND a.state_change < clock_timestamp() - interval
                      '{STALE_IDLE_S} seconds') OR a.xact_start < clock_timestamp() - interval '{STALE_OPEN_S} seconds')
                AND NOT pg_has_role(a.usesysid, (SELECT nspowner FROM pg_namespace
                                                 WHERE nspname = current_schema()), 'MEMBER');
        END;
        waited := waited + 1;
        IF waited >= {LOCK_WAIT_S} THEN
            RAISE EXCEPTION 'chemo: the writers'' lock is busy' USING ERRCODE = '55P03';
        END IF;
    END LOOP;
END
$lock$"""


def _update_function(schema: str) -> str:
    allowed = " OR ".join(f"(p_table = '{t}' AND p_column = '{c}')" for t, g in WRITES.items() for c in g.update)
    return f"""CREATE OR REPLACE FUNCTION chemo_update(p_table TEXT, p_id BIGINT, p_column TEXT, p_value TEXT)
    RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $update$
BEGIN
    -- the only columns a workstation changes (WRITES); the guard trigger checks the row as for any write
    IF NOT ({allowed}) THEN
        RAISE EXCEPTION 'chemo: %.% is not changed by workstations', p_table, p_column USING ERRCODE = '42501';
    END IF;
    EXECUTE format('UPDATE %I SET %I = CAST($1 AS %s) WHERE id = $2', p_table, p_column,
                   (SELECT format_type(atttypid, atttypmod) FROM pg_attribute
                    WHERE attrelid = p_table::regclass AND attname = p_column)) USING p_value, p_id;
END
$update$"""


def setup_sql(owner: str, users: str, schema: str = "public") -> str:
    """The DBA's script (psql, as a superuser) for the current schema version: see the module text."""
    owner_q, users_q, schema_q = _ident(owner, "owner"), _ident(users, "users"), _ident(schema, "schema")
    version = VERSIONS[-1][0]
    tables = [t for t in WRITES]
    lines = [
        f"-- chemo: least privilege for schema {schema} at version {version}",
        f"-- (chemo db setup-sql --owner {owner} --users {users} --schema {schema})",
        f"-- Run with psql as a superuser in the chemo database, after {owner} has run a first chemo command",
        "-- (which creates or upgrades the tables); run it again after every chemo upgrade.",
        "\\set ON_ERROR_STOP on",
        "BEGIN;",
        f"-- workstations: members of {users}, without superuser, CREATEROLE or membership in {owner}",
        f"GRANT USAGE ON SCHEMA {schema_q} TO {users_q};",
        f"REVOKE CREATE ON SCHEMA {schema_q} FROM PUBLIC;",
        "-- a temporary table could shadow a table inside the owner's functions: no temporary tables",
        "DO $$ BEGIN EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database()); END $$;",
        "-- the writers' advisory locks are taken through chemo_lock only (the owner's function)",
        "DO $$ DECLARE f regprocedure; BEGIN",
        "    FOR f IN SELECT oid::regprocedure FROM pg_proc WHERE proname LIKE 'pg%advisory%'",
        "             AND pronamespace = 'pg_catalog'::regnamespace LOOP",
        "        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);",
        f"        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', f, '{owner}');",
        "    END LOOP;",
        "END $$;",
        f"GRANT pg_signal_backend, pg_read_all_stats TO {owner_q};  -- chemo_lock ends a stale holder's session",
        f"SET LOCAL ROLE {owner_q};  -- what follows belongs to the owner",
        f"SET LOCAL search_path = {schema_q};",
        _guard_function(schema_q) + ";",
        _lock_function(schema_q) + ";",
        _update_function(schema_q) + ";",
        *[f"DROP TRIGGER IF EXISTS chemo_guard ON {t};\n"
          f"CREATE TRIGGER chemo_guard BEFORE INSERT OR UPDATE OR DELETE ON {t} "
          "FOR EACH ROW EXECUTE FUNCTION chemo_guard();" for t in tables],
        *[f"ALTER FUNCTION {f} SET search_path = {schema_q}, pg_temp;" for f in VERSION_FUNCTIONS],
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema_q} FROM PUBLIC, {users_q};",
        f"REVOKE ALL ON ALL FUNCTIONS IN SCHEMA {schema_q} FROM PUBLIC;",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema_q} TO {users_q};",
        *[f"REVOKE SELECT ON {t} FROM {users_q};" for t in SECRET],
        f"GRANT INSERT ON {', '.join(tables)} TO {users_q};",
        *[f"GRANT EXECUTE ON FUNCTION {f} TO {users_q};" for f in FUNCTIONS],
        "COMMIT;",
    ]
    return "\n".join(lines) + "\n"
