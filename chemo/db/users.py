"""Named queries: users, their roles, and the database users that may act as them."""

from __future__ import annotations

from .store import Store


def roles_of(store: Store, login: str) -> set[str]:
    return {r["role"] for r in store.query("SELECT role FROM roles WHERE login = ?", (login,))}


def role_count(store: Store) -> int:
    return store.one("SELECT count(*) AS n FROM roles")["n"]


def exists(store: Store, login: str) -> bool:
    return store.one("SELECT login FROM users WHERE login = ?", (login,)) is not None


def add(store: Store, login: str, added_at: str, added_by: str) -> None:
    store.execute("INSERT INTO users (login, added_at, added_by) VALUES (?, ?, ?)", (login, added_at, added_by))


def add_role(store: Store, login: str, role: str) -> None:
    store.execute("INSERT INTO roles (login, role) VALUES (?, ?)", (login, role))


def all_roles(store: Store) -> list[dict]:
    """(login, role) of every role held."""
    return store.query("SELECT login, role FROM roles")


def all_users(store: Store) -> list[dict]:
    """(login, added_at, added_by) of every user, by login."""
    return store.query("SELECT login, added_at, added_by FROM users ORDER BY login")


def may_act_as(store: Store, db_user: str, login: str) -> bool:
    """Whether a pharmacist mapped the database user ``db_user`` to ``login``."""
    return store.one("SELECT login FROM db_logins WHERE db_user = ? AND login = ?", (db_user, login)) is not None


def add_mapping(store: Store, db_user: str, login: str, added_at: str, added_by: str) -> None:
    store.execute("INSERT INTO db_logins (db_user, login, added_at, added_by) VALUES (?, ?, ?, ?)",
                  (db_user, login, added_at, added_by))
