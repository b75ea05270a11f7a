"""Plug-in jobs run once per period across every backend process, and a failing one is recorded."""
import threading

from backend.plugins.base import DomainPlugin, ScheduledJob
from backend.scheduler import Scheduler
from backend.store.database import Store
from backend.store.migrations import migrate


def plugin_with(*jobs):
    return {"demo": DomainPlugin(name="demo", label="demo", system_prompt="", jobs=list(jobs))}


def test_each_job_runs_once_per_period_even_with_several_processes(tmp_path):
    path = tmp_path / "jobs.db"
    migrate(Store(path).db)
    runs = []
    job = ScheduledJob("count", every_seconds=3600, run=lambda db: runs.append(1))
    # Four schedulers with their own connections, as four gunicorn workers would have.
    schedulers = [Scheduler(Store(path), plugin_with(job)) for _ in range(4)]
    threads = [threading.Thread(target=s.run_due) for s in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(runs) == 1
    assert schedulers[0].run_due() == []  # not due again within the hour


def test_job_runs_again_when_its_period_has_passed(tmp_path):
    store = Store(tmp_path / "jobs.db")
    migrate(store.db)
    runs = []
    scheduler = Scheduler(store, plugin_with(ScheduledJob("often", every_seconds=0, run=lambda db: runs.append(1))))
    scheduler.run_due()
    scheduler.run_due()
    assert len(runs) == 2


def test_a_failing_job_is_recorded_and_does_not_stop_the_others(tmp_path):
    store = Store(tmp_path / "jobs.db")
    migrate(store.db)
    runs = []

    def broken(db):
        raise RuntimeError("weather service down")

    scheduler = Scheduler(store, plugin_with(ScheduledJob("broken", 60, broken),
                                              ScheduledJob("fine", 60, lambda db: runs.append(1))))
    assert scheduler.run_due() == ["demo.broken", "demo.fine"]
    assert runs == [1]
    row = store.db.execute("SELECT last_error, last_finished_at FROM job_runs WHERE name = 'demo.broken'").fetchone()
    assert row[0] == "RuntimeError: weather service down" and row[1] is not None
