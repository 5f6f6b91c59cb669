"""Who may do what: users, their roles, and the acting user.

The acting user is ``--user``, else ``$CHEMO_USER``, else the login name.  A
user is registered when the ``roles`` table gives them at least one role
(pharmacist, nurse, prescriber).  Issue 4's rules:

* registering patients, prior exposure and plans: prescriber or pharmacist;
* recording a weight and height (``chemo measure``): prescriber, pharmacist or nurse (nurses weigh patients);
* recording labs: any registered user;
* the dose sign-off: pharmacist; the readiness sign-off and administration: nurse;
* adding users: a pharmacist, except the very first user of an empty database.

An unregistered user changes nothing: every write calls :func:`require` inside
its transaction, before it writes.
"""

from __future__ import annotations

import getpass
import os
import re

from . import audit
from .db import users
from .db.store import Refusal, Store, now_local
from .errors import NextStep

ROLES = ("pharmacist", "nurse", "prescriber")
REGISTRARS = ("prescriber", "pharmacist")
MEASURERS = ("prescriber", "pharmacist", "nurse")
ANY = ROLES
TOXICITY_RECORDERS = ("prescriber", "nurse")  # who records an adverse event (chemo toxicity add)
_LOGIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


class RoleRefused(Refusal):
    """The acting user lacks the role an action needs (exit 1)."""


def acting_user(explicit: str | None = None) -> str:
    """``--user``, else ``$CHEMO_USER``, else the login name."""
    from .errors import ChemoError

    login = explicit or os.environ.get("CHEMO_USER")
    if not login:
        try:
            login = getpass.getuser()
        except Exception:
            raise ChemoError("cannot tell who you are: name the user or set CHEMO_USER", field="user",
                             finding="cannot tell who you are", next_steps=(NextStep.NAME_USER,)) from None
    return check_login(login)


def check_login(login: str) -> str:
    from .errors import ChemoError

    login = str(login).strip()
    if not _LOGIN.match(login):
        raise ChemoError(f"{login!r} is not a login (letters, digits, '.', '_', '@', '-'; at most 64)", field="user")
    return login


def roles_of(store: Store, login: str) -> set[str]:
    return users.roles_of(store, login)


def require(store: Store, login: str, allowed: tuple, action: str) -> str:
    """The role under which ``login`` may do ``action``; RoleRefused otherwise."""
    have = roles_of(store, login)
    if not have:
        finding = f"{login!r} is not a registered user and changes nothing"
        raise RoleRefused(finding + " (a pharmacist adds users)", finding=finding, login=login,
                          next_steps=(NextStep.ADD_USER,), field="user")
    for role in allowed:
        if role in have:
            return role
    need = " or ".join(allowed)
    raise RoleRefused(f"{action} needs a {need}; {login!r} is {', '.join(sorted(have))}", field="user")


def add_user(store: Store, actor: str, login: str, role: str) -> dict:
    """Register ``login`` with ``role``; the first user of an empty database may be added by anyone."""
    from .errors import ChemoError

    login = check_login(login)
    if role not in ROLES:
        raise ChemoError(f"{role!r}: expected one of {', '.join(ROLES)}", field="role")
    with store.transaction():
        empty = users.role_count(store) == 0
        if not empty:
            require(store, actor, ("pharmacist",), "adding a user")
        if role in roles_of(store, login):
            raise ChemoError(f"{login!r} already has the role {role}", field="role")
        new = {"login": login, "role": role, "first_user": empty}
        if not users.exists(store, login):
            new["added_at"] = now_local().isoformat()  # the users row, checked by audit.verify with its added_by
            users.add(store, login, new["added_at"], actor)
        users.add_role(store, login, role)
        audit.append(store, actor, "user.add", "roles", login, None, new)
    return {"login": login, "role": role, "first_user": empty}


def list_users(store: Store) -> list[dict]:
    roles: dict[str, list] = {}
    for r in users.all_roles(store):
        roles.setdefault(r["login"], []).append(r["role"])
    rows = users.all_users(store)
    return [{"login": u["login"], "roles": sorted(roles.get(u["login"], [])), "added_at": u["added_at"],
             "added_by": u["added_by"]} for u in rows]


def session_login(store: Store, explicit: str | None, login: str) -> str:
    """Who acts, on a database that authenticates its users (PostgreSQL).

    The database user's name, unless ``--user`` (or ``$CHEMO_USER``) names a
    login a pharmacist has mapped to that database user (:func:`map_login`).
    On SQLite, and for a PostgreSQL superuser, ``login`` as resolved by
    :func:`acting_user`.
    """
    db_user = store.database_user()
    if db_user is None:
        return login
    wanted = explicit or os.environ.get("CHEMO_USER")
    if not wanted or wanted == db_user:
        return check_login(db_user)
    if not users.may_act_as(store, db_user, login):
        finding = f"the database user {db_user!r} may not act as {login!r}"
        raise RoleRefused(finding + ": a pharmacist maps it to that login", finding=finding, db_user=db_user,
                          login=login, next_steps=(NextStep.MAP_USER,), field="user")
    return login


def map_login(store: Store, actor: str, db_user: str, login: str) -> dict:
    """Let the database user ``db_user`` act as the registered ``login`` (a pharmacist's decision, audited)."""
    from .errors import ChemoError

    db_user, login = check_login(db_user), check_login(login)
    with store.transaction():
        require(store, actor, ("pharmacist",), "mapping a database user")
        if not roles_of(store, login):
            finding = f"{login!r} is not a registered user"
            raise ChemoError(finding + " (add it as a user first)", finding=finding, login=login,
                             next_steps=(NextStep.ADD_USER,), field="login")
        if users.may_act_as(store, db_user, login):
            raise ChemoError(f"{db_user!r} may already act as {login!r}", field="login")
        row = {"db_user": db_user, "login": login, "added_at": now_local().isoformat(), "added_by": actor}
        users.add_mapping(store, db_user, login, row["added_at"], actor)
        audit.append(store, actor, "user.map", "db_logins", f"{db_user}/{login}", None, row)
    return row
