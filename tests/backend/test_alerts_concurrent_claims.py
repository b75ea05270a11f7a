"""Bridges claiming alerts at once, from threads with pools of their own and from two processes, as
several bridges against several backend processes do: every alert is handed out exactly once, none
is lost, and each claim is in hand-out order. On SQLite the one write lock decides; on PostgreSQL
(CHASQUI_TEST_DATABASE=postgresql) row locks do (FOR UPDATE SKIP LOCKED), so the tests there also
show that claims and reports do not wait on the writers' lock, nor a claim on another claim."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from backend.alerts import repository as alerts
from backend.store.database import now, open_database, transaction
from backend.store.migrations import migrate
from tests.databases import ON_POSTGRESQL, lock_held_elsewhere, store_location

REPO = Path(__file__).resolve().parents[2]
LEVELS = ("baja", "media", "alta")
PRIORITY = {"alta": 0, "media": 1, "baja": 2}
QUEUED, EXPIRED, LIMIT, MAX_ATTEMPTS = 300, 40, 7, 3
postgresql_only = pytest.mark.skipif(not ON_POSTGRESQL, reason="SQLite has one writer by design")


@pytest.fixture
def location(tmp_path) -> str:
    where = str(store_location(tmp_path / "chasqui.db"))
    db = open_database(where)
    migrate(db)
    db.close()
    return where


@pytest.fixture
def db(location):
    db = open_database(location)
    yield db
    db.close()


def queue(db, count: int = QUEUED, expired: int = EXPIRED) -> set[int]:
    """`count` alerts of every level for 20 contacts; the first `expired` of them were claimed by a
    bridge that died (their leases have run out, so they are due again)."""
    contacts = [db.insert("INSERT INTO contacts (phone, opted_out, created_at, updated_at) VALUES (?, 0, ?, ?)",
                          (f"+519000{i:05d}", now(), now())) for i in range(20)]
    ids = {alerts.create_alert(db, contacts[i % 20], f"aviso {i}", LEVELS[i % 3]) for i in range(count)}
    if expired:
        alerts.claim_due(db, limit=expired, lease_s=0.01, max_attempts=MAX_ATTEMPTS)
        time.sleep(0.05)
    return ids


def claim_until_empty(location: str, batches: list[list[dict]], start: threading.Barrier | None = None) -> None:
    """One bridge: claims until nothing is left for it, "sending" each batch for a moment."""
    own_db = open_database(location)  # a pool of its own, as another backend process has
    try:
        if start is not None:
            start.wait()
        while batch := alerts.claim_due(own_db, limit=LIMIT, lease_s=60, max_attempts=MAX_ATTEMPTS):
            batches.append(batch)
            time.sleep(0.001)  # lets the others in, so the claims really interleave
    finally:
        own_db.close()


def check_handed_out_once_in_order(db, expected: set[int], batches: list[list[dict]]) -> None:
    handed_out = [alert["id"] for batch in batches for alert in batch]
    assert len(handed_out) == len(set(handed_out)), "an alert was handed out twice"
    assert set(handed_out) == expected, "an alert was lost"
    order = {row[0]: (row[1], row[2], row[0]) for row in
             db.execute("SELECT id, priority, next_attempt_at FROM alerts WHERE status = 'claimed'")}
    for batch in batches:
        keys = [order[alert["id"]] for alert in batch]
        assert keys == sorted(keys), f"a claim out of hand-out order: {keys}"
        assert [PRIORITY[alert["level"]] for alert in batch] == [key[0] for key in keys]
    assert db.execute("SELECT COUNT(*) FROM alerts WHERE status <> 'claimed' OR lease_until < ?",
                      [now()]).fetchone()[0] == 0
    attempts = db.execute("SELECT attempts, COUNT(*) FROM alerts GROUP BY attempts ORDER BY attempts").fetchall()
    assert attempts == [(1, len(expected) - EXPIRED), (2, EXPIRED)]  # each claimed once here


def test_four_bridges_claiming_at_once_get_every_alert_once_in_order(db, location):
    expected = queue(db)
    start, by_bridge, problems = threading.Barrier(4), [[] for _ in range(4)], []

    def bridge(index: int) -> None:
        try:
            claim_until_empty(location, by_bridge[index], start)
        except Exception as problem:  # reported below: an assertion in a thread would be lost
            problems.append(problem)

    threads = [threading.Thread(target=bridge, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert problems == [] and sum(1 for batches in by_bridge if batches) >= 2
    check_handed_out_once_in_order(db, expected, [batch for batches in by_bridge for batch in batches])


def test_bridges_in_two_processes_get_every_alert_once_in_order(db, location):
    expected = queue(db)
    processes = [subprocess.Popen([sys.executable, "-m", "tests.backend.test_alerts_concurrent_claims", location],
                                  cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(2)]
    try:
        for process in processes:
            assert process.stdout.readline().strip() == "ready", process.stderr.read()
        for process in processes:
            process.stdin.write("go\n")
            process.stdin.flush()
        batches = []
        for process in processes:
            out, errors = process.communicate(timeout=120)
            assert process.returncode == 0, errors
            batches.extend(json.loads(out))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    check_handed_out_once_in_order(db, expected, batches)


def bridges_in_this_process(location: str) -> None:
    """A process of two bridges (threads): prints its batches as JSON."""
    by_bridge = [[], []]
    print("ready", flush=True)
    sys.stdin.readline()
    threads = [threading.Thread(target=claim_until_empty, args=(location, batches)) for batches in by_bridge]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps([batch for batches in by_bridge for batch in batches]))


# --- PostgreSQL: nobody waits on the writers' lock, nor a claim on another -------------------------

@postgresql_only
def test_claims_and_reports_do_not_wait_on_the_writers_lock(db, location):
    queue(db, count=6, expired=0)
    with lock_held_elsewhere(location):  # serialized: the writers' advisory lock, held for 10 s
        started = time.monotonic()
        first, second, third, *_ = alerts.claim_due(db, limit=3, lease_s=60, max_attempts=MAX_ATTEMPTS)
        alerts.mark_sent(db, first["id"], first["lease_token"], "wamid.1")
        alerts.record_delivery(db, "wamid.1", "delivered")
        alerts.mark_failed(db, second["id"], "offline", 10, MAX_ATTEMPTS, second["lease_token"])
        alerts.release(db, third["id"], third["lease_token"])
        assert time.monotonic() - started < 5


@postgresql_only
def test_a_claim_skips_the_alerts_another_claim_holds_and_does_not_wait(db, location):
    expected = sorted(queue(db, count=12, expired=0))
    in_order = [row[0] for row in db.execute(
        "SELECT id FROM alerts ORDER BY priority, next_attempt_at, id")]
    def hold_three(connection) -> None:  # another claim, in progress
        connection.execute("SELECT id FROM alerts WHERE status = 'pending' "
                           "ORDER BY priority, next_attempt_at, id LIMIT 3 FOR UPDATE")

    with lock_held_elsewhere(location, hold_three, serialized=False):  # held for 10 s
        started = time.monotonic()
        claimed = alerts.claim_due(db, limit=20, lease_s=60, max_attempts=MAX_ATTEMPTS)
        assert time.monotonic() - started < 5
        assert [alert["id"] for alert in claimed] == in_order[3:]  # the next ones, still in order
    rest = alerts.claim_due(db, limit=20, lease_s=60, max_attempts=MAX_ATTEMPTS)
    assert [alert["id"] for alert in rest] == in_order[:3]
    assert sorted(alert["id"] for alert in claimed + rest) == expected


@postgresql_only
def test_a_late_report_racing_a_new_claim_sees_the_new_lease(db, location):
    """The report waits for the claim that holds the alert's row, then reads what it wrote: the
    lease the late bridge reports on is gone (without the row lock its update would win)."""
    [alert_id] = queue(db, count=1, expired=0)
    [old] = alerts.claim_due(db, limit=1, lease_s=60, max_attempts=MAX_ATTEMPTS)
    claimer, holding = open_database(location), threading.Event()

    def claim_again_slowly() -> None:
        with transaction(claimer, serialized=False) as connection:
            connection.execute("SELECT id FROM alerts WHERE id = ? FOR UPDATE SKIP LOCKED", [alert_id])
            connection.execute("UPDATE alerts SET lease_token = 'new', attempts = attempts + 1 WHERE id = ?",
                               [alert_id])
            holding.set()
            time.sleep(0.5)

    thread = threading.Thread(target=claim_again_slowly)
    thread.start()
    try:
        assert holding.wait(10)
        with pytest.raises(alerts.LeaseMismatch):
            alerts.mark_sent(db, alert_id, old["lease_token"])
    finally:
        thread.join(10)
        claimer.close()
    assert alerts.alert_state(db, alert_id)["status"] == "claimed"


if __name__ == "__main__":
    bridges_in_this_process(sys.argv[1])
