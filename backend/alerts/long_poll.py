"""Long-polling for bridges: `GET /alerts/pending?wait=N` holds the request until an alert is due
or N seconds pass, so an urgent alert reaches a bridge in well under a second instead of at its
next 10-second poll.

Alerts are created by other gunicorn workers, the admin panel and scheduled jobs, so a waiting
request cannot rely on being told: it checks the queue with a cheap read every CHECK_EVERY_S.
Alerts created through this process's /alert route also wake it at once.
"""
from __future__ import annotations

import threading
import time
from typing import Callable


from backend.alerts.repository import has_due
from backend.store.database import Database

MAX_WAIT_S = 30.0
CHECK_EVERY_S = 0.2

_created = threading.Condition()


def alerts_created() -> None:
    with _created:
        _created.notify_all()


def claim_waiting(db: Database, wait_s: float, claim: Callable[[], list[dict]]) -> list[dict]:
    """Claim now; if nothing was due, wait up to `wait_s` for something to be and claim again."""
    claimed = claim()
    deadline = time.monotonic() + min(wait_s, MAX_WAIT_S)
    while not claimed and time.monotonic() < deadline:
        with _created:
            _created.wait(timeout=min(CHECK_EVERY_S, max(0.0, deadline - time.monotonic())))
        if has_due(db):
            claimed = claim()
    return claimed
