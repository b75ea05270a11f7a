"""The answers a reply offers ("opciones" from /agent) reach the phone as reply buttons (up to
three) or a list (more), in the format Meta documents (checked by the fake Graph API's own
validator); transports without them show numbered options, and a typed answer always works."""
from __future__ import annotations

from tests.whatsapp_bridge.conftest import say, wait_for_replies
from tests.whatsapp_bridge.fake_graph_api import validate
from tests.whatsapp_bridge.test_relay import PHONE, stand_in_backend
from whatsapp_bridge.messages import Outbound, choice_buttons
from whatsapp_bridge.transports.cloud_api import message_body
from whatsapp_bridge.transports.web.convert import render_buttons

CROPS = ["papa", "maíz", "quinua", "arroz", "café", "palta", "frijol", "cebolla", "trigo", "alfalfa", "olluco"]


def test_three_options_are_reply_buttons_and_more_are_a_list_in_metas_format():
    buttons = message_body(Outbound(PHONE, "¿En qué te puedo ayudar?", buttons=choice_buttons(["agricultura", "running", "notas"])))
    assert validate(buttons) == "message" and buttons["interactive"]["type"] == "button"
    assert [b["reply"]["title"] for b in buttons["interactive"]["action"]["buttons"]] == ["agricultura", "running", "notas"]
    listed = message_body(Outbound(PHONE, "¿Qué cultivo tienes?", buttons=choice_buttons(CROPS)))
    assert validate(listed) == "message" and listed["interactive"]["type"] == "list"
    rows = listed["interactive"]["action"]["sections"][0]["rows"]
    assert [r["title"] for r in rows] == CROPS[:10]  # WhatsApp's list holds ten rows


def test_without_buttons_the_options_are_numbered_once():
    assert render_buttons("¿Tu nivel?", choice_buttons(["principiante", "intermedio"])) == \
        "¿Tu nivel?\n\n1. principiante\n2. intermedio"
    numbered = "¿En qué te ayudo?\n1. agricultura\n2. running"
    assert render_buttons(numbered, choice_buttons(["agricultura", "running"])) == numbered


def test_the_relay_puts_the_backends_options_on_the_reply(make_bridge):
    with stand_in_backend(200, {}, options=["agricultura", "running", "notas"]) as (url, tries):
        bridge = make_bridge(backend_url=url)
        say(bridge, PHONE, "hola")
        assert wait_for_replies(bridge.transport, PHONE, 1) == ["Respuesta normal."]
        assert [b["title"] for b in bridge.transport.conversation(PHONE)[-1]["buttons"]] == \
            ["agricultura", "running", "notas"]
