"""Admin accounts: usernames with salted scrypt hashes (werkzeug.security); never the password."""
from __future__ import annotations

import sqlite3

import sqlite_utils
from werkzeug.security import check_password_hash, generate_password_hash

from backend.store.database import now, transaction

MIN_PASSWORD_CHARS = 10
MAX_USERNAME_CHARS = 64
# Checked when the username does not exist, so a wrong username costs as long as a wrong
# password and response times do not tell which usernames exist.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class UserExists(ValueError):
    pass


def create_user(db: sqlite_utils.Database, username: str, password: str) -> int:
    """Raises ValueError for an empty username, a short password or a taken username."""
    username = (username or "").strip()
    if not username:
        raise ValueError("the username must not be empty")
    if len(username) > MAX_USERNAME_CHARS:
        raise ValueError(f"the username must be at most {MAX_USERNAME_CHARS} characters")
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_CHARS:
        raise ValueError(f"the password must be at least {MIN_PASSWORD_CHARS} characters")
    password_hash = generate_password_hash(password)  # scrypt, salted: werkzeug's default
    try:
        with transaction(db) as connection:
            cursor = connection.execute(
                "INSERT INTO admin_users (username, password_hash, created_at) VALUES (?, ?, ?)",
                (username, password_hash, now()))
            return cursor.lastrowid
    except sqlite3.IntegrityError:
        raise UserExists(f"an admin user named {username!r} already exists") from None


def verify(db: sqlite_utils.Database, username: str, password: str) -> bool:
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
