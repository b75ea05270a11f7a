"""Panel accounts: usernames with salted scrypt hashes (werkzeug.security); never the password.
Each has a role, 'officer' or 'admin' (admin/auth.py says what each may do).

The changes take the caller's connection inside its transaction, so the panel writes the audit
entry with them (all or nothing), and the "never zero admins" check is made under the write lock
that commits the change: two admins demoting each other at once cannot both succeed. A password
is hashed (scrypt: tens of milliseconds) before that lock is taken."""
from __future__ import annotations


from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

from backend.store.database import Database, IntegrityError, now, transaction

MIN_PASSWORD_CHARS = 10
MAX_USERNAME_CHARS = 64
ADMIN, OFFICER = "admin", "officer"
ROLES = (OFFICER, ADMIN)
# Checked when the username does not exist, so a wrong username costs as long as a wrong
# password and response times do not tell which usernames exist.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class UserExists(ValueError):
    pass


class NoSuchUser(ValueError):
    pass


class LastAdmin(ValueError):
    """The change would leave no admin: nobody could manage accounts from the panel any more."""


def clean_username(username: str) -> str:
    username = (username or "").strip()
    if not username:
        raise ValueError(_("the username must not be empty"))
    if len(username) > MAX_USERNAME_CHARS:
        raise ValueError(_("the username must be at most %(max)s characters", max=MAX_USERNAME_CHARS))
    return username


def hash_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_CHARS:
        raise ValueError(_("the password must be at least %(min)s characters", min=MIN_PASSWORD_CHARS))
    return generate_password_hash(password)  # scrypt, salted: werkzeug's default


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(_("the role must be one of %(roles)s", roles=", ".join(ROLES)))
    return role


def insert_user(connection: Database, username: str, password_hash: str, role: str = ADMIN) -> int:
    try:
        new_id = connection.insert(
            "INSERT INTO admin_users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
            (username, password_hash, check_role(role), now()))
    except IntegrityError:
        raise UserExists(_("an account named %(name)r already exists", name=username)) from None
    return new_id


def create_user(db: Database, username: str, password: str, role: str = ADMIN) -> int:
    """Raises ValueError for an empty username, a short password, a bad role or a taken username."""
    username, password_hash = clean_username(username), hash_password(password)
    with transaction(db) as connection:
        return insert_user(connection, username, password_hash, check_role(role))


def account(connection: Database, user_id: int) -> dict:
    row = connection.execute("SELECT id, username, role FROM admin_users WHERE id = ?", (user_id,)).fetchone()
    if row is None:
        raise NoSuchUser(_("there is no account with id %(id)s", id=user_id))
    return {"id": row[0], "username": row[1], "role": row[2]}


def set_role(connection: Database, user_id: int, role: str) -> dict:
    """The account as it was; raises LastAdmin when it is the only admin and would become an officer."""
    before = account(connection, user_id)
    if before["role"] == ADMIN and check_role(role) != ADMIN:
        _keep_an_admin(connection, user_id)
    connection.execute("UPDATE admin_users SET role = ? WHERE id = ?", (role, user_id))
    return before


def set_password_hash(connection: Database, user_id: int, password_hash: str) -> dict:
    found = account(connection, user_id)
    connection.execute("UPDATE admin_users SET password_hash = ? WHERE id = ?", (password_hash, user_id))
    return found


def delete_user(connection: Database, user_id: int) -> dict:
    found = account(connection, user_id)
    if found["role"] == ADMIN:
        _keep_an_admin(connection, user_id)
    connection.execute("DELETE FROM admin_users WHERE id = ?", (user_id,))
    return found


def _keep_an_admin(connection: Database, leaving_id: int) -> None:
    others = connection.execute("SELECT COUNT(*) FROM admin_users WHERE role = ? AND id != ?",
                                (ADMIN, leaving_id)).fetchone()[0]
    if not others:
        raise LastAdmin(_("it is the only admin account: make another account an admin first"))


def verify(db: Database, username: str, password: str) -> bool:
    """True when the password is right; records the login time then."""
    row = db.execute("SELECT id, password_hash FROM admin_users WHERE username = ?",
                     ((username or "").strip(),)).fetchone()
    stored_hash = row[1] if row else _DUMMY_HASH
    matches = check_password_hash(stored_hash, password or "")  # hmac.compare_digest inside
    if row is None or not matches:
        return False
    with transaction(db) as connection:
        connection.execute("UPDATE admin_users SET last_login_at = ? WHERE id = ?", (now(), row[0]))
    return True
