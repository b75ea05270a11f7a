"""Scheduled jobs run once per period with several backend processes, each with several schedulers,
on one database: two real processes here (run as `python -m` of this file), each with threads of
its own schedulers and connection pools, as gunicorn workers on several machines would have.
On SQLite the one write lock decides; on PostgreSQL (CHASQUI_TEST_DATABASE=postgresql) the row lock
on job_runs does, and then a scheduler must not wait on the writers' lock either."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from backend.plugins.base import DomainPlugin, ScheduledJob
from backend.scheduler import Scheduler
from backend.store.database import Store, open_database, transaction
from backend.store.migrations import migrate
from tests.databases import ON_POSTGRESQL, lock_held_elsewhere, store_location

REPO = Path(__file__).resolve().parents[2]
PROCESSES, THREADS = 2, 4
TICK_S = 0.01


def demo_job(every_seconds: float) -> dict[str, DomainPlugin]:
    return {"demo": DomainPlugin(name="demo", label="demo", system_prompt="",
                                 jobs=[ScheduledJob("tick", every_seconds, log_run)])}


def log_run(db) -> None:
    started_at = time.time()
    # Its own write transaction: this thread holds none of the scheduler's while the job runs
    # (it would be a NestedTransaction), and no other scheduler's lock keeps it waiting.
    with transaction(db) as connection:
        connection.execute("INSERT INTO job_log (process, started_at) VALUES (?, ?)", [os.getpid(), started_at])
    time.sleep(0.05)  # the job takes a while; the other schedulers tick meanwhile


def race(location: str, every_seconds: float, run_for_s: float) -> None:
    """One process: THREADS schedulers, each with its own Store, ticking from the parent's «go»."""
    stores = [Store(location) for _ in range(THREADS)]
    schedulers = [Scheduler(store, demo_job(every_seconds)) for store in stores]
    for store in stores:
        store.db.execute("SELECT 1")  # connected before the start, so the start is a race
    print("ready", flush=True)
    sys.stdin.readline()
    deadline = time.monotonic() + run_for_s
    problems = []

    def tick(scheduler: Scheduler) -> None:
        try:
            while time.monotonic() < deadline:
                scheduler.run_due()
                time.sleep(TICK_S)
        except Exception as problem:
            problems.append(repr(problem))

    threads = [threading.Thread(target=tick, args=(scheduler,)) for scheduler in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.db.close()
    if problems:
        sys.exit(f"schedulers failed: {problems}")


@pytest.fixture
def location(tmp_path) -> str:
    where = str(store_location(tmp_path / "jobs.db"))
    db = open_database(where)
    migrate(db)
    db.execute("CREATE TABLE job_log (process INTEGER NOT NULL, started_at DOUBLE PRECISION NOT NULL)")
    db.close()
    return where


def run_processes(location: str, every_seconds: float, run_for_s: float) -> list[tuple[int, float]]:
    """The job's runs, (process, started_at) in order, after PROCESSES racing processes are done."""
    processes = [subprocess.Popen([sys.executable, "-m", "tests.backend.test_scheduler_across_processes",
                                   location, str(every_seconds), str(run_for_s)],
                                  cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
                 for _ in range(PROCESSES)]
    try:
        for process in processes:
            assert process.stdout.readline().strip() == "ready", process.stderr.read()
        for process in processes:  # let them all go at once
            process.stdin.write("go\n")
            process.stdin.flush()
        for process in processes:
            _, errors = process.communicate(timeout=run_for_s + 60)
            assert process.returncode == 0, errors
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    db = open_database(location)
    try:
        return [tuple(row) for row in db.execute("SELECT process, started_at FROM job_log ORDER BY started_at")]
    finally:
        db.close()


def test_a_due_job_runs_once_across_processes_and_their_schedulers(location):
    runs = run_processes(location, every_seconds=3600, run_for_s=1.0)
    assert len(runs) == 1  # 2 processes × 4 schedulers ticking every 10 ms for a second


def test_a_periodic_job_runs_once_in_each_period_across_processes(location):
    period_s, run_for_s = 0.5, 3.0
    runs = run_processes(location, every_seconds=period_s, run_for_s=run_for_s)
    gaps = [later - earlier for (_, earlier), (_, later) in zip(runs, runs[1:])]
    # A period run twice would show as a gap of a few milliseconds; the slack is for a loaded machine.
    assert gaps and min(gaps) > period_s - 0.2, gaps
    assert run_for_s / period_s - 2 <= len(runs) <= run_for_s / period_s + 1, runs


@pytest.mark.skipif(not ON_POSTGRESQL, reason="SQLite has one writer by design")
def test_a_due_job_is_not_kept_waiting_by_another_writers_transaction(location):
    ran = []
    scheduler = Scheduler(Store(location), {"demo": DomainPlugin(
        name="demo", label="demo", system_prompt="", jobs=[ScheduledJob("quick", 60, lambda db: ran.append(1))])})
    try:
        with lock_held_elsewhere(location):  # a serialized transaction: the writers' advisory lock, 10 s
            started = time.monotonic()
            assert scheduler.run_due() == ["demo.quick"] and ran == [1]
            assert time.monotonic() - started < 5
    finally:
        scheduler.store.db.close()


if __name__ == "__main__":
    race(sys.argv[1], float(sys.argv[2]), float(sys.argv[3]))
