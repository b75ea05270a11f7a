"""Runs the domain plug-ins' scheduled jobs. Every backend process runs this loop; a job's row in
`job_runs` is advanced in the same transaction that decides to run it, so across gunicorn workers
(and, on PostgreSQL, across machines) each job runs once per period. On SQLite that transaction
holds the one write lock; on PostgreSQL it locks only the job's row, and a process that finds the
row locked skips the job, as another process is deciding it. The job itself runs after that
transaction commits, holding no lock. A failing job is logged, recorded for the admin
(backend/failures.py) and tried again next period; inside a job, one contact's failure is
contained the same way."""
from __future__ import annotations

import logging
import threading
import weakref

from backend import failures
from backend.plugins.base import DomainPlugin, ScheduledJob
from backend.store.database import Store, now, transaction

log = logging.getLogger(__name__)


class Scheduler:
    _running: "weakref.WeakSet[Scheduler]" = weakref.WeakSet()

    def __init__(self, store: Store, plugins: dict[str, DomainPlugin], tick_s: float = 5.0,
                 core_jobs: tuple[ScheduledJob, ...] | list[ScheduledJob] = ()):
        self.store = store
        self.jobs = {f"{p.name}.{job.name}": job for p in plugins.values() for job in p.jobs}
        self.jobs.update({f"core.{job.name}": job for job in core_jobs})  # the core's own (takeovers' silence)
        self.tick_s = tick_s
        self._stop = threading.Event()

    def start(self) -> None:
        if self.jobs:
            Scheduler._running.add(self)
            threading.Thread(target=self._loop, name="scheduler", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    @classmethod
    def stop_all(cls) -> None:
        """Every scheduler this process started, before its database goes away (a test session's
        PostgreSQL server at exit): their loops would otherwise log an error every tick."""
        for scheduler in list(cls._running):
            scheduler.stop()

    def _loop(self) -> None:
        while not self._stop.wait(self.tick_s):
            try:
                self.run_due()
            except Exception as problem:  # the database away for a moment (a PostgreSQL failover): next tick
                log.error("scheduled jobs not checked", extra={"error": failures.describe(problem)})

    def run_due(self) -> list[str]:
        """Run every job whose time has come and that no other process took; return their names."""
        ran = []
        for name, job in self.jobs.items():
            if self._claim(name, job):
                self._run(name, job)
                ran.append(name)
        return ran

    def _claim(self, name: str, job: ScheduledJob) -> bool:
        db = self.store.db
        if db.dialect == "postgresql":
            return self._claim_row(name, job)
        with transaction(db):
            at = now()
            row = db.execute("SELECT next_run_at FROM job_runs WHERE name = ?", [name]).fetchone()
            if row is not None and row[0] > at:
                return False
            db.execute("INSERT INTO job_runs (name, next_run_at, last_started_at) VALUES (?, ?, ?) "
                       "ON CONFLICT(name) DO UPDATE SET next_run_at = excluded.next_run_at, "
                       "last_started_at = excluded.last_started_at", [name, at + job.every_seconds, at])
        return True

    def _claim_row(self, name: str, job: ScheduledJob) -> bool:
        """PostgreSQL: the job's row, created due if it is new, then locked, or skipped while another
        process holds it. A lock taken after another process advanced the row reads the advanced
        row (READ COMMITTED reads a locked row at its newest version), so a due job is taken once."""
        db = self.store.db
        db.execute("INSERT INTO job_runs (name, next_run_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                   [name, now()])
        with transaction(db, serialized=False):
            at = now()
            row = db.execute("SELECT next_run_at FROM job_runs WHERE name = ? FOR UPDATE SKIP LOCKED",
                             [name]).fetchone()
            if row is None or row[0] > at:  # another process holds it, or it is not due
                return False
            db.execute("UPDATE job_runs SET next_run_at = ?, last_started_at = ? WHERE name = ?",
                       [at + job.every_seconds, at, name])
        return True

    def _run(self, name: str, job: ScheduledJob) -> None:
        error = None
        try:
            job.run(self.store.db)
        except Exception as problem:  # one failing job must not stop the others
            error = failures.describe(problem)
            log.error("scheduled job failed", extra={"job": name, "error": error})
            failures.record(self.store.db, "job", name, error)
        self.store.db.execute("UPDATE job_runs SET last_finished_at = ?, last_error = ? WHERE name = ?",
                              [now(), error, name])
