"""Crash recovery of the whole stack (tests/crash/harness.py): three trials, each SIGKILLing one
service at a planned moment of real conversations and alert deliveries and starting it again on
the same port and files. Nothing may be lost, and every duplicate must come from a kill inside an
accept->record window (the provider accepted a send the killed service had not recorded yet).

The plans aim at the hard moments on purpose, so the test sees them every run:
- the backend dies inside the provider's accept of the first alert: the bridge's "sent" report
  finds it dead; the bridge keeps the provider id and reports it once the backend is back (no
  window, so no double is allowed);
- the bridge dies inside the accept of a reply: its inbox still says pieces_sent=0, the window
  (one duplicate allowed for it);
- the model API dies as a question for the model reaches the bridge: the backend answers with its
  fallback, which counts as an answer.

Run alone with `pytest tests/crash`; `bench/crash_suite.py` runs more, drawn, trials.
"""
from __future__ import annotations

import pytest

from tests.crash.harness import COLUMNS, CrashConfig, KillPlan, markdown_table, run_trials, summary_rows

CONFIG = CrashConfig(conversations=3, alerts=3, turns=3, model_turns=1, settle_timeout_s=45.0,
                     drive_timeout_s=90.0, reply_timeout_s=30.0)
# The harness reads and snapshots the backend's SQLite file between kills (harness.copy_sqlite).
pytestmark = pytest.mark.sqlite_only
PLANS = [KillPlan("backend", "alert", 1, 0.0),
         KillPlan("bridge", "reply", 12, 0.0),
         KillPlan("model-api", "model-turn", 1, 0.0)]


@pytest.mark.timeout(300)
def test_no_message_or_alert_is_lost_and_doubles_come_only_from_kills_inside_the_window(tmp_path):
    results = run_trials(tmp_path, len(PLANS), CONFIG, seed="crash-test", plans=PLANS)
    report = "\n".join(r.describe() for r in results) + "\n" + markdown_table(COLUMNS, summary_rows(results))
    print(report)
    failed = [r for r in results if not r.ok()]
    assert not failed, report + "\n\n" + "\n\n".join(r.logs[-4000:] for r in failed)

    assert [r.kill.at is not None for r in results] == [True] * len(PLANS), report
    for result in results:
        assert result.inbound >= 20 and result.replied == result.inbound, report  # every message answered (onboarding is short now)
        assert result.alerts >= CONFIG.alerts and result.delivered_alerts == result.alerts, report
        assert not result.failed_alerts, report
        # Every duplicate is explained (r.ok()), and there is at most one per send caught in the
        # window: a kill catches one send per relay worker and alert thread at most.
        assert len(result.doubles) <= len(result.kill.in_window), report
    backend = results[0]
    assert backend.kill.reports_outstanding, report  # the kill did leave a "sent" report owed to the bridge
    bridge = results[1]
    assert bridge.kill_in_window, report  # the aimed kill did land between accept and record
    model = results[2]
    # the question for the model got its words, or, the model killed, the fallback: the guide quoted
    # (source knowledge) or the honest apology
    assert sum(model.sources.get(source, 0) for source in ("model", "knowledge", "apology")) >= 1, report
