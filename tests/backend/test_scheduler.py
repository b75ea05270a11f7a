"""Plug-in jobs run once per period across every backend process, and a failing one is recorded.
On SQLite files, or on PostgreSQL with CHASQUI_TEST_DATABASE=postgresql (where the schedulers
decide with a row lock on job_runs instead of the one write lock)."""
import threading

import pytest

from backend.plugins.base import DomainPlugin, ScheduledJob
from backend.scheduler import Scheduler
from backend.store.database import Store
from backend.store.migrations import migrate
from tests.databases import store_location


def plugin_with(*jobs):
    return {"demo": DomainPlugin(name="demo", label="demo", system_prompt="", jobs=list(jobs))}


@pytest.fixture
def open_store(tmp_path):
    """Stores on the test's one database, each with its own pool (as each process has); closed after."""
    opened = []

    def open_one() -> Store:
        store = Store(store_location(tmp_path / "jobs.db"))
        opened.append(store)
        return store

    migrate(open_one().db)
    yield open_one
    for store in opened:
        store.db.close()


def test_each_job_runs_once_per_period_even_with_several_processes(open_store):
    runs = []
    job = ScheduledJob("count", every_seconds=3600, run=lambda db: runs.append(1))
    # Four schedulers with their own connections, as four gunicorn workers would have, let go at once.
    schedulers = [Scheduler(open_store(), plugin_with(job)) for _ in range(4)]
    start, ran, problems = threading.Barrier(4), [], []

    def race(scheduler: Scheduler) -> None:
        try:
            start.wait()
            ran.extend(scheduler.run_due())
        except Exception as problem:  # reported below: an assertion in a thread would be lost
            problems.append(problem)

    threads = [threading.Thread(target=race, args=(s,)) for s in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert problems == [] and len(runs) == 1 and ran == ["demo.count"]
    assert schedulers[0].run_due() == []  # not due again within the hour


def test_job_runs_again_when_its_period_has_passed(open_store):
    store = open_store()
    runs = []
    scheduler = Scheduler(store, plugin_with(ScheduledJob("often", every_seconds=0, run=lambda db: runs.append(1))))
    scheduler.run_due()
    scheduler.run_due()
    assert len(runs) == 2


def test_a_failing_job_is_recorded_and_does_not_stop_the_others(open_store):
    store = open_store()
    runs = []

    def broken(db):
        raise RuntimeError("weather service down")

    scheduler = Scheduler(store, plugin_with(ScheduledJob("broken", 60, broken),
                                              ScheduledJob("fine", 60, lambda db: runs.append(1))))
    assert scheduler.run_due() == ["demo.broken", "demo.fine"]
    assert runs == [1]
    row = store.db.execute("SELECT last_error, last_finished_at FROM job_runs WHERE name = 'demo.broken'").fetchone()
    assert row[0] == "RuntimeError: weather service down" and row[1] is not None
    assert store.db.execute("SELECT source, error FROM failures").fetchall() == [
        ("demo.broken", "RuntimeError: weather service down")]
