"""The source and the target as the operator names them (a file path or a URL): opened, told apart,
and shown without a password."""
from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.engine import make_url

from backend.store.copy.common import CopyError, _first_line
from backend.store.database import Database, database_url, open_database


def _shown(text: str) -> str:
    """A location as it may be printed: never a password."""
    return re.sub(r"//([^/@:]*):.*@", r"//\1:***@", text)  # up to the last @: rather too much than too little


def _open(location: str, role: str) -> Database:
    text = location.strip()
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme and scheme not in ("sqlite", "postgresql", "postgres", "postgresql+psycopg"):
        raise CopyError(f"the {role} {_shown(text)!r} is not a database Chasqui reads: give a file path, "
                        "sqlite:///path/chasqui.db or postgresql://user@host/database")
    url = database_url(text)
    if url.startswith("sqlite"):
        path = make_url(url).database
        if not path or path == ":memory:":
            raise CopyError(f"the {role} {text!r} names no file: sqlite:///path/chasqui.db (three slashes, "
                            "then the path; four for an absolute one)")
        if role == "source" and not Path(path).is_file():
            raise CopyError(f"the source {path} does not exist (nothing was changed)")
        if role == "target" and not Path(path).parent.is_dir():
            raise CopyError(f"the target's folder {Path(path).parent} does not exist")
    db = None
    try:
        db = open_database(url)
        db.execute("SELECT 1")
    except Exception as problem:
        if db is not None:
            db.close()
        hint = ""
        if "does not exist" in str(problem) and "database" in str(problem):
            hint = " (create it first, empty: createdb, or CREATE DATABASE name)"
        elif text.count("@") > 1:
            hint = " (a password with @, / or : is percent-encoded in a URL, or given in PGPASSWORD)"
        raise CopyError(f"cannot open the {role} {_shown(text)}: {_first_line(problem)}{hint}") from None
    return db


def _same_database(a: Database, b: Database) -> bool:
    if a.dialect == "sqlite" and b.dialect == "sqlite":
        return a.path is not None and b.path is not None and a.path.resolve() == b.path.resolve()
    return a.url == b.url


def _new_sqlite_file(location: str) -> Path | None:
    """The SQLite file `location` names, if it does not exist yet."""
    text = location.strip()
    if "://" in text and not text.lower().startswith("sqlite:"):
        return None
    path = make_url(database_url(text)).database
    return Path(path) if path and path != ":memory:" and not Path(path).exists() else None
