"""The store the tests run on: SQLite files (the default), or a real PostgreSQL server this test
session starts itself when CHASQUI_TEST_DATABASE=postgresql (`./dev test` runs both).

The server is Debian's PostgreSQL (initdb into a temporary folder, a Unix socket only, no TCP
port), started at the first test that needs it and stopped when the session ends. Each SQLite
path a test would have used names its own fresh PostgreSQL database instead, copied from a
template that already holds the core schema, so tests stay as independent as their files were.

PostgresCluster runs a cluster (this session's, and bench/store_engines.py's, kept between runs).
"""
from __future__ import annotations

import atexit
import fcntl
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

ENGINE = os.environ.get("CHASQUI_TEST_DATABASE", "sqlite").strip().lower() or "sqlite"
if ENGINE not in ("sqlite", "postgresql"):
    raise RuntimeError(f"CHASQUI_TEST_DATABASE must be sqlite or postgresql, not {ENGINE!r}")
ON_POSTGRESQL = ENGINE == "postgresql"
TEMPLATE = "chasqui_core"
# What the test server gives up: nothing it writes need survive a crash, the cluster dies with
# the session anyway.
NON_DURABLE = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


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


class PostgresCluster:
    """A cluster in `folder` (data/, socket/ and server.log): trust authentication for the user
    chasqui on a Unix socket in socket/, no TCP port, started with `settings` (postgresql.conf
    names and values). A throw-away one (`keep` false) is killed and deleted by stop(). A kept one
    stays, with its databases, for the next start() (initdb runs only while data/ holds no
    cluster), is shut down cleanly, and is held by one run at a time (a lock file in `folder`).
    `say` is told what takes a while (initdb, waiting for the lock)."""

    def __init__(self, folder: Path, settings: dict[str, str], keep: bool,
                 say: Callable[[str], None] = lambda message: None):
        self.folder, self.settings, self.keep, self._say = Path(folder), settings, keep, say
        self.data, self.socket, self.log = self.folder / "data", self.folder / "socket", self.folder / "server.log"
        # initdb refuses to run as root: the cluster then belongs to the postgres account.
        self._run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.folder.mkdir(parents=True, exist_ok=True)
        for directory in (self.socket, self.data):
            directory.mkdir(exist_ok=True)
        self.log.touch()
        if self._run_as:
            owner = pwd.getpwnam("postgres")
            os.chmod(self.folder, 0o755)
            for owned in (self.socket, self.data, self.log):
                os.chown(owned, owner.pw_uid, owner.pw_gid)
        self.started = False
        self._in_use = None

    def start(self, patience_s: float = 1800) -> None:
        """The server up, initdb first when there is no cluster yet; a kept cluster waits up to
        `patience_s` for another run to let go of it (then TimeoutError)."""
        if self.keep:
            self._take_lock(patience_s)
        if not (self.data / "PG_VERSION").exists():
            self._say(f"initdb {self.data}")
            # A throw-away cluster need not reach the disk (--no-sync): it never outlives a crash.
            self._pg("initdb", "-D", str(self.data), "-U", "chasqui", "--auth=trust", "-E", "UTF8",
                     "--locale=C.UTF-8", *([] if self.keep else ["--no-sync"]))
        elif self.running():  # left running by an interrupted run: start again with our settings
            self._pg("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        with self.log.open("w"):  # this run's log only (the server writes it as its own account)
            pass
        options = " ".join([f"-k {self.socket}", "-c listen_addresses=''",
                            *(f"-c {name}={value}" for name, value in self.settings.items())])
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "120", "start")
        self.started = True

    def url(self, database: str) -> str:
        return f"postgresql://chasqui@/{database}?host={self.socket}"

    def create_database(self, name: str, template: str | None = None, exist_ok: bool = False) -> str:
        """The URL of a new database `name` (a copy of `template` when given), or, when `exist_ok`,
        of the one already there."""
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            if not exist_ok or connection.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                                  (name,)).fetchone() is None:
                copy = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
                connection.execute(f'CREATE DATABASE "{name}"{copy}')
        return self.url(name)

    def running(self) -> bool:
        return subprocess.run(self._run_as + [_tool("pg_ctl"), "-D", str(self.data), "status"],
                              capture_output=True, timeout=30).returncode == 0

    def stop(self) -> None:
        """A kept cluster shut down cleanly (fast: sessions cut, a checkpoint) and let go of; a
        throw-away one killed (immediate: nothing of it is needed again) and deleted."""
        if self.started:
            subprocess.run(self._run_as + [_tool("pg_ctl"), "-D", str(self.data), "-m",
                                           "fast" if self.keep else "immediate", "-w", "stop"],
                           capture_output=True, timeout=120)
            self.started = False
        if self._in_use is not None:
            self._in_use.close()  # and with it the lock
            self._in_use = None
        if not self.keep:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _take_lock(self, patience_s: float) -> None:
        """One run at a time on a kept cluster: another would restart and stop the server under
        this one (and two benchmark runs at once would measure each other anyway)."""
        self._in_use = (self.folder / "in-use.lock").open("w")
        deadline = time.monotonic() + patience_s
        while True:
            try:
                fcntl.flock(self._in_use, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self.folder} stayed in use by another run") from None
                if deadline - time.monotonic() > patience_s - 1:
                    self._say(f"waiting for another run to finish with {self.folder}")
                time.sleep(2)

    def _pg(self, program: str, *arguments: str) -> None:
        done = subprocess.run(self._run_as + [_tool(program), *arguments], capture_output=True, text=True,
                              timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed: {done.stderr or done.stdout}\n"
                               f"{self.log.read_text(errors='replace')[-2000:]}")


class PostgresServer(PostgresCluster):
    """The test session's cluster: throw-away, in a temporary folder, non-durable, with a template
    database that already holds the core schema for each test's own database."""

    def __init__(self):
        super().__init__(Path(tempfile.mkdtemp(prefix="chasqui-pg-")),
                         {**NON_DURABLE, "max_connections": "400", "shared_buffers": "128MB"}, keep=False)
        self.start()
        self._count = 0
        self._lock = threading.Lock()
        self._by_path: dict[str, str] = {}
        self._make_template()

    def _make_template(self) -> None:
        from backend.store.database import open_database
        from backend.store.migrations import migrate

        db = open_database(self.create_database(TEMPLATE))
        migrate(db)
        db.close()

    def new_database(self) -> str:
        with self._lock:
            self._count += 1
            name = f"test_{self._count}"
        return self.create_database(name, TEMPLATE)

    def database_for(self, path: Path | str) -> str:
        """The database standing for one SQLite path: the same path, the same database."""
        with self._lock:
            known = self._by_path.get(str(path))
        if known is None:
            known = self.new_database()
            with self._lock:
                known = self._by_path.setdefault(str(path), known)
        return known


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
