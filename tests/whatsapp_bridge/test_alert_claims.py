"""A restarted bridge settles the alerts its last run held at once, with the backend's lease at
its 60 s default: an alert the provider accepted is reported sent (not sent twice), one it never
sent is handed back and delivered, without waiting for the lease to run out."""
from __future__ import annotations

import threading
import time

import pytest

from tests.whatsapp_bridge.conftest import backend_with_lease, onboard, wait_for_replies
from tests.whatsapp_bridge.test_alert_delivery import PHONE, alert_status, create_alert
from whatsapp_bridge.backend_client import BackendUnavailable
from whatsapp_bridge.messages import SendFailed
from whatsapp_bridge.transports.simulator import SimulatorTransport

FAST = {"alert_long_poll_s": 0.0, "alert_poll_s": 0.2}


@pytest.fixture
def backend(tmp_path, model):
    yield from backend_with_lease(tmp_path, model, 60)  # the default lease


class DyingTransport(SimulatorTransport):
    """Hangs on an alert as a bridge killed mid-send would: it never reaches the provider."""

    def __init__(self):
        super().__init__()
        self.sending, self.released = threading.Event(), threading.Event()

    def send(self, message):
        if message.purpose == "alert":
            self.sending.set()
            self.released.wait(30)
            raise SendFailed("this bridge is dead")
        return super().send(message)


def claims_left(bridge) -> list:
    return bridge.bridge.inbox.execute("SELECT alert_id, provider_message_id FROM alert_claims").fetchall()


def test_an_alert_claimed_by_a_killed_run_is_handed_back_and_delivered_at_once(make_bridge, backend):
    dying = DyingTransport()
    first = make_bridge(dying, backend_url=backend.url, **FAST)
    onboard(first, PHONE)
    alert_id = create_alert(backend, "Helada esta noche")
    assert dying.sending.wait(10)
    first.stop()  # its alert thread is stuck in the send: the claim is neither sent nor released
    assert alert_status(backend, alert_id)[0] == "claimed"
    try:
        started = time.monotonic()
        second = make_bridge(SimulatorTransport(), backend_url=backend.url, **FAST)
        assert wait_for_replies(second.transport, PHONE, 1, kind="alert", timeout_s=10) == ["Helada esta noche"]
        assert time.monotonic() - started < 10  # not the 60 s lease
        deadline = time.monotonic() + 5
        while alert_status(backend, alert_id)[0] != "sent" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert alert_status(backend, alert_id)[:2] == ("sent", 1)  # handed back: the dead claim is no attempt
        assert second.bridge.alerts.released == 1 and claims_left(second) == []
    finally:
        dying.released.set()


def test_an_alert_the_provider_accepted_is_reported_sent_after_a_restart_not_sent_again(make_bridge, backend):
    first = make_bridge(SimulatorTransport(), backend_url=backend.url, **FAST)
    onboard(first, PHONE)

    def report_lost(*args):
        raise BackendUnavailable("POST /alerts/sent: ConnectionError")
    first.bridge.alerts.backend.alert_sent = report_lost  # the bridge dies before the backend hears of it
    alert_id = create_alert(backend, "Plaga en su zona")
    assert wait_for_replies(first.transport, PHONE, 1, kind="alert", timeout_s=10) == ["Plaga en su zona"]
    deadline = time.monotonic() + 5
    while not claims_left(first) and time.monotonic() < deadline:
        time.sleep(0.05)
    (held_id, provider_id), = claims_left(first)
    assert held_id == alert_id and provider_id
    first.stop()
    assert alert_status(backend, alert_id)[0] == "claimed"

    second = make_bridge(SimulatorTransport(), backend_url=backend.url, **FAST)
    deadline = time.monotonic() + 10
    while alert_status(backend, alert_id)[0] != "sent" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert alert_status(backend, alert_id)[:2] == ("sent", 1)
    time.sleep(0.6)  # a few polls: nothing is sent again
    assert wait_for_replies(second.transport, PHONE, 0, kind="alert") == []
    assert second.bridge.alerts.recovered == 1 and claims_left(second) == []


@pytest.fixture
def short_lease_backend(tmp_path, model):
    yield from backend_with_lease(tmp_path, model, 1)


def test_an_alert_handed_out_again_while_its_report_fails_is_reported_not_sent_twice(make_bridge,
                                                                                     short_lease_backend):
    backend = short_lease_backend
    bridge = make_bridge(SimulatorTransport(), backend_url=backend.url, **FAST)
    onboard(bridge, PHONE)
    real_report, failing = bridge.bridge.alerts.backend.alert_sent, threading.Event()
    failing.set()

    def report(*args):
        if failing.is_set():
            raise BackendUnavailable("POST /alerts/sent: ConnectionError")
        return real_report(*args)
    bridge.bridge.alerts.backend.alert_sent = report  # the backend misses every report for a while
    alert_id = create_alert(backend, "Helada esta noche")
    assert wait_for_replies(bridge.transport, PHONE, 1, kind="alert", timeout_s=10) == ["Helada esta noche"]
    deadline = time.monotonic() + 10
    while alert_status(backend, alert_id)[1] < 2 and time.monotonic() < deadline:
        time.sleep(0.05)  # the 1 s lease ran out and the backend handed the alert out again
    assert alert_status(backend, alert_id)[1] >= 2
    failing.clear()
    deadline = time.monotonic() + 10
    while alert_status(backend, alert_id)[0] != "sent" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert alert_status(backend, alert_id)[0] == "sent"
    assert len(wait_for_replies(bridge.transport, PHONE, 1, kind="alert")) == 1  # once on the phone
