"""A simulator or WhatsApp Web bridge names its number with BRIDGE_CHANNEL, as a cloud bridge names
its phone_number_id: two such bridges on one real backend each answer, and send alerts to, only
the people who wrote to their own number."""
from __future__ import annotations

import time

import pytest
import requests

from chasqui.env import SettingError
from tests.databases import opened
from tests.whatsapp_bridge.conftest import TOKEN, onboard, wait_for_replies
from whatsapp_bridge.settings import load_settings
from whatsapp_bridge.transports.simulator import SimulatorTransport

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.parametrize("transport", ["simulator", "web"])
def test_a_simulator_or_web_bridge_names_its_number(monkeypatch, transport):
    monkeypatch.setenv("BRIDGE_TRANSPORT", transport)
    monkeypatch.setenv("BRIDGE_CHANNEL", " 51911111111 ")
    assert load_settings().channel == "51911111111"
    monkeypatch.setenv("BRIDGE_CHANNEL", "")
    assert load_settings().channel == ""  # one bridge for every contact


@pytest.mark.parametrize("value, why", [("x" * 65, "64 characters"), ("uno\ndos", "printable")])
def test_a_channel_that_cannot_name_a_number_is_refused(monkeypatch, value, why):
    monkeypatch.setenv("BRIDGE_TRANSPORT", "simulator")
    monkeypatch.setenv("BRIDGE_CHANNEL", value)
    with pytest.raises(SettingError, match=why):
        load_settings()


def test_a_cloud_bridge_takes_its_number_from_meta_not_from_bridge_channel(monkeypatch):
    monkeypatch.setenv("BRIDGE_TRANSPORT", "cloud")
    monkeypatch.setenv("BRIDGE_CHANNEL", "51911111111")
    with pytest.raises(SettingError, match="WHATSAPP_PHONE_NUMBER_ID"):
        load_settings()


def test_two_simulator_bridges_on_one_backend_keep_to_their_own_people(make_bridge, backend, tmp_path):
    bridges = {}
    for label, phone in (("A", "+51987650011"), ("B", "+51987650012")):
        bridge = make_bridge(SimulatorTransport(), backend_url=backend.url, bridge_channel=f"numero-{label}",
                             state_path=tmp_path / f"bridge-{label}.db", alert_poll_s=0.3, alert_long_poll_s=2.0)
        onboard(bridge, phone)
        bridges[label] = (bridge, phone)
    channels = dict(opened(backend.database).execute("SELECT phone, channel FROM contacts"))
    assert channels == {"+51987650011": "numero-A", "+51987650012": "numero-B"}

    for label, (_bridge, phone) in bridges.items():
        response = requests.post(f"{backend.url}/alert", headers=AUTH, timeout=5,
                                 json={"phone": phone, "message": f"Helada esta noche ({label}).", "level": "alta"})
        assert response.status_code == 201, response.text
    for label, (bridge, phone) in bridges.items():
        assert wait_for_replies(bridge.transport, phone, 1, kind="alert") == [f"Helada esta noche ({label})."]
    time.sleep(1.0)  # a few more claims by both bridges: time for an alert to leave from the wrong one
    for label, (bridge, phone) in bridges.items():
        other = next(p for other_label, (_b, p) in bridges.items() if other_label != label)
        assert bridge.transport.conversation(other) == [], f"bridge {label} wrote to the other number's contact"
