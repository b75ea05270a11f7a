"""The store the tests run on: SQLite files (the default), or a real PostgreSQL server this test
session starts itself when CHASQUI_TEST_DATABASE=postgresql (`./dev test` runs both).

The server is Debian's PostgreSQL (initdb into a temporary folder, a Unix socket only, no TCP
port), started at the first test that needs it and stopped when the session ends. Each SQLite
path a test would have used names its own fresh PostgreSQL database instead, copied from a
template that already holds the core schema, so tests stay as independent as their files were.
"""
from __future__ import annotations

import atexit
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ENGINE = os.environ.get("CHASQUI_TEST_DATABASE", "sqlite").strip().lower() or "sqlite"
if ENGINE not in ("sqlite", "postgresql"):
    raise RuntimeError(f"CHASQUI_TEST_DATABASE must be sqlite or postgresql, not {ENGINE!r}")
ON_POSTGRESQL = ENGINE == "postgresql"
TEMPLATE = "chasqui_core"


def _server_bin() -> Path | None:
    """Debian keeps the server's programs per major version; the newest installed one."""
    if os.environ.get("CHASQUI_POSTGRES_BIN"):
        return Path(os.environ["CHASQUI_POSTGRES_BIN"])
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name)
                      if p.parent.name.isdigit() else 0)
    return versions[-1] if versions else None


def _tool(name: str) -> str:
    folder = _server_bin()
    if folder is not None and (folder / name).is_file():
        return str(folder / name)
    on_path = shutil.which(name)
    if on_path is None:
        raise RuntimeError(f"PostgreSQL's {name} is missing: ./dev test installs Debian's postgresql package")
    return on_path


class PostgresServer:
    """One throw-away cluster: trust authentication on a Unix socket in its own folder."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="chasqui-pg-"))
        self.data, self.socket = self.folder / "data", self.folder / "socket"
        self.socket.mkdir()
        # initdb refuses to run as root: the cluster then belongs to the postgres account.
        self._run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._run_as:
            owner = pwd.getpwnam("postgres")
            os.chmod(self.folder, 0o755)
            os.chown(self.socket, owner.pw_uid, owner.pw_gid)
            self.data.mkdir()
            os.chown(self.data, owner.pw_uid, owner.pw_gid)
        self._log = self.folder / "server.log"
        self._log.touch()
        if self._run_as:
            os.chown(self._log, pwd.getpwnam("postgres").pw_uid, -1)
        self._command([_tool("initdb"), "-D", str(self.data), "-U", "chasqui", "--auth=trust", "-E", "UTF8",
                       "--locale=C.UTF-8", "--no-sync"])
        options = (f"-k {self.socket} -c listen_addresses='' -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off -c max_connections=400 -c shared_buffers=128MB")
        self._command([_tool("pg_ctl"), "-D", str(self.data), "-l", str(self._log), "-o", options, "-w",
                       "-t", "60", "start"])
        self._count = 0
        self._lock = threading.Lock()
        self._by_path: dict[str, str] = {}
        self._make_template()

    def _command(self, command: list[str]) -> None:
        done = subprocess.run(self._run_as + command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {done.stderr or done.stdout}\n{self._log_tail()}")

    def _log_tail(self) -> str:
        return self._log.read_text()[-2000:] if self._log.exists() else ""

    def url(self, database: str) -> str:
        return f"postgresql://chasqui@/{database}?host={self.socket}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            connection.execute(sql)

    def _make_template(self) -> None:
        from backend.store.database import open_database
        from backend.store.migrations import migrate

        self._admin(f"CREATE DATABASE {TEMPLATE}")
        db = open_database(self.url(TEMPLATE))
        migrate(db)
        db.close()

    def new_database(self) -> str:
        with self._lock:
            self._count += 1
            name = f"test_{self._count}"
        self._admin(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE} STRATEGY FILE_COPY")
        return self.url(name)

    def database_for(self, path: Path | str) -> str:
        """The database standing for one SQLite path: the same path, the same database."""
        with self._lock:
            known = self._by_path.get(str(path))
        if known is None:
            known = self.new_database()
            with self._lock:
                known = self._by_path.setdefault(str(path), known)
        return known

    def stop(self) -> None:
        subprocess.run(self._run_as + [_tool("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)


_server: PostgresServer | None = None
_starting = threading.Lock()


def server() -> PostgresServer:
    global _server
    with _starting:
        if _server is None:
            _server = PostgresServer()
            atexit.register(stop_server)
    return _server


def stop_server() -> None:
    global _server
    if _server is not None:
        from backend.scheduler import Scheduler

        Scheduler.stop_all()  # the apps tests left running tick no more against a stopped server
        for db in _opened.values():
            db.close()
        _server.stop()
        _server = None


def store_location(path: Path | str) -> Path | str:
    """What a test opens for the SQLite file `path`: the file itself, or its PostgreSQL database."""
    return server().database_for(path) if ON_POSTGRESQL else path


def database_url_for(path: Path | str) -> str:
    """The BACKEND_DATABASE_URL setting standing for `path`: empty on SQLite."""
    return server().database_for(path) if ON_POSTGRESQL else ""


def database_env(path: Path | str) -> dict[str, str]:
    """The environment a backend process needs to use `store_location(path)`."""
    url = database_url_for(path)
    return {"BACKEND_DB_PATH": str(path), **({"BACKEND_DATABASE_URL": url} if url else {})}


_opened: dict[str, object] = {}


def opened(location: Path | str):
    """One shared handle per database a test looks into (a handle per look would leave a pool of
    connections behind each time)."""
    from backend.store.database import open_database

    with _starting:
        if str(location) not in _opened:
            _opened[str(location)] = open_database(location)
        return _opened[str(location)]


@contextmanager
def lock_held_elsewhere(location: Path | str, take=lambda connection: None, serialized: bool = True,
                        hold_s: float = 10.0) -> Iterator[None]:
    """Another writer holding a lock for the block: a transaction on its own handle, in a thread,
    that takes the writers' advisory lock (`serialized`, PostgreSQL) and whatever `take` locks,
    and holds them until the block ends (at most `hold_s`)."""
    from backend.store.database import open_database, transaction

    other, holding, done = open_database(location), threading.Event(), threading.Event()

    def hold() -> None:
        with transaction(other, serialized=serialized) as connection:
            take(connection)
            holding.set()
            done.wait(hold_s)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(hold_s), "the other writer never took its lock"
        yield
    finally:
        done.set()
        holder.join(hold_s)
        other.close()
