"""The fake WhatsApp Cloud API and the webhook builders, tested on their own with `requests`, so the
bridge's tests can trust them: documented requests pass, undocumented ones fail loudly, faults
happen when asked, and signatures match an HMAC computed independently."""
import hashlib
import hmac
import json
import time

import pytest
import requests

from tests.whatsapp_bridge import webhook_payloads as wh
from tests.whatsapp_bridge.fake_graph_api import FakeGraphAPI

PHONE = "+51987654321"
TOKEN = "test-access-token"
VOICE_NOTE = b"OggS\x00\x02" + bytes(range(256)) * 100


@pytest.fixture
def fake():
    server = FakeGraphAPI()
    yield server
    server.stop()


def post(fake, body, token=TOKEN, timeout=2, **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(fake.messages_url, json=body, headers=headers, timeout=timeout, **kwargs)


def text(body="Hola Rosa", to=PHONE, **extra):
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "text",
            "text": {"body": body}, **extra}


def buttons(*titles):
    return {"messaging_product": "whatsapp", "to": PHONE, "type": "interactive",
            "interactive": {"type": "button", "body": {"text": "¿Riego hoy?"},
                            "action": {"buttons": [{"type": "reply", "reply": {"id": f"b{i}", "title": t}}
                                                   for i, t in enumerate(titles)]}}}


def template(to=PHONE):
    return {"messaging_product": "whatsapp", "to": to, "type": "template",
            "template": {"name": "alerta_helada", "language": {"code": "es"},
                         "components": [{"type": "body", "parameters": [{"type": "text", "text": "Rosa"}]}]}}


def error_of(response):
    return response.json()["error"]


# ---- accepted requests ----

def test_text_is_accepted_with_the_documented_answer(fake):
    response = post(fake, text("Mira https://example.org", context={"message_id": "wamid.X"}))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["messaging_product"] == "whatsapp"
    assert answer["contacts"] == [{"input": PHONE, "wa_id": "51987654321"}]
    assert answer["messages"][0]["id"].startswith("wamid.")
    record = fake.accepted[0]
    assert record["message_id"] == answer["messages"][0]["id"] and record["path"] == "/v21.0/123456789012345/messages"
    assert record["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert fake.texts_to("51987654321") == fake.texts_to(PHONE) == ["Mira https://example.org"]


@pytest.mark.parametrize("body", [
    {"messaging_product": "whatsapp", "to": "51987654321", "text": {"body": "sin type", "preview_url": True}},
    buttons("Sí", "No", "Mañana"),
    {"messaging_product": "whatsapp", "to": PHONE, "type": "interactive", "interactive": {
        "type": "list", "body": {"text": "Elige tu cultivo"}, "header": {"type": "text", "text": "Cultivos"},
        "footer": {"text": "Chasqui"}, "action": {"button": "Ver cultivos", "sections": [
            {"title": "Granos", "rows": [{"id": "maiz", "title": "Maíz", "description": "Zea mays"}]},
            {"title": "Tubérculos", "rows": [{"id": "papa", "title": "Papa"}]}]}}},
    {"messaging_product": "whatsapp", "to": PHONE, "type": "image",
     "image": {"link": "https://example.org/helada.png", "caption": "Helada"}},
    {"messaging_product": "whatsapp", "to": PHONE, "type": "image", "image": {"id": "1013859600285441"}},
    template(),
], ids=["text-default-type", "buttons", "list", "image-link", "image-id", "template"])
def test_documented_sends_are_accepted(fake, body):
    fake.media["1013859600285441"] = b"\x89PNG uploaded earlier"  # an image sent by id names an upload
    response = post(fake, body)
    assert response.status_code == 200, response.text
    assert response.json()["messages"][0]["id"].startswith("wamid.")
    assert fake.sent_to(PHONE) == [body]


def test_media_is_uploaded_as_multipart_and_only_known_ids_are_sent(fake):
    url = fake.base_url + fake.media_path
    auth = {"Authorization": f"Bearer {fake.access_token}"}
    uploaded = requests.post(url, headers=auth, data={"messaging_product": "whatsapp", "type": "image/png"},
                             files={"file": ("card.png", b"\x89PNG data", "image/png")}, timeout=5)
    assert uploaded.status_code == 200 and fake.media[uploaded.json()["id"]] == b"\x89PNG data"
    sent = post(fake, {"messaging_product": "whatsapp", "to": PHONE, "type": "image",
                       "image": {"id": uploaded.json()["id"], "caption": "Tu progreso"}})
    assert sent.status_code == 200
    unknown = post(fake, {"messaging_product": "whatsapp", "to": PHONE, "type": "image", "image": {"id": "999"}})
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == 131053
    wrong_type = requests.post(url, headers=auth, data={"messaging_product": "whatsapp", "type": "image/png"},
                               files={"file": ("a.txt", b"hello", "text/plain")}, timeout=5)
    assert wrong_type.status_code == 400


def test_mark_as_read_with_typing_indicator(fake):
    body = {"messaging_product": "whatsapp", "status": "read", "message_id": wh.new_wamid(PHONE),
            "typing_indicator": {"type": "text"}}
    response = post(fake, body)
    assert response.status_code == 200 and response.json() == {"success": True}
    assert fake.reads() == [body] and fake.messages() == []
    assert fake.accepted[0]["kind"] == "read"


def test_each_send_gets_a_new_id_and_texts_to_reads_every_kind(fake):
    ids = {post(fake, body).json()["messages"][0]["id"] for body in (text("uno"), buttons("Sí"), template())}
    assert len(ids) == 3
    assert fake.texts_to(PHONE) == ["uno", "¿Riego hoy?", "alerta_helada"]


# ---- rejected requests ----

@pytest.mark.parametrize("body, problem", [
    (text(messaging_product="facebook"), "messaging_product"),
    (buttons("Uno", "Dos", "Tres", "Cuatro"), "buttons holds 4 items"),
    (buttons("Un título demasiado l"), "title is 21 characters"),
    (buttons("Sí", "Sí"), "titles must be unique"),
    ({"messaging_product": "whatsapp", "to": PHONE, "type": "image",
      "image": {"link": "https://example.org/a.png", "id": "123"}}, "exactly one of id"),
    (text("x" * 4097), "text.body is 4097 characters"),
    (text(to="hola"), "to must be a phone number"),
    (text(recipient_type="group"), "recipient_type"),
    (text(extra_field=1), "unknown parameter(s): extra_field"),
    ({"messaging_product": "whatsapp", "to": PHONE, "type": "audio", "audio": {"id": "1"}}, "type 'audio'"),
    ({"messaging_product": "whatsapp", "to": PHONE, "type": "template", "template": {"name": "x"}},
     "template.language must be an object"),
    ({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.X",
      "typing_indicator": {"type": "audio"}}, "typing_indicator.type"),
])
def test_undocumented_bodies_are_rejected_naming_the_problem(fake, body, problem):
    response = post(fake, body)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == 100 and error["type"] == "OAuthException" and error["fbtrace_id"]
    assert problem in error["message"] and problem in error["error_data"]["details"]
    assert error["error_data"]["messaging_product"] == "whatsapp"
    assert fake.accepted == [] and fake.rejected[0][0] == body and problem in fake.rejected[0][1]


def test_marking_an_invalid_message_id_is_error_131009(fake):
    response = post(fake, {"messaging_product": "whatsapp", "status": "read", "message_id": "12345"})
    assert response.status_code == 400 and error_of(response)["code"] == 131009


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_missing_or_wrong_token_is_401_code_190(fake, token):
    response = post(fake, text(), token=token)
    assert response.status_code == 401
    assert error_of(response)["code"] == 190 and error_of(response)["type"] == "OAuthException"
    assert fake.accepted == [] and "#190" in fake.rejected[0][1]


def test_non_json_requests_and_other_paths_are_rejected(fake):
    headers = {"Authorization": f"Bearer {TOKEN}"}
    form = requests.post(fake.messages_url, data={"to": PHONE}, headers=headers, timeout=2)
    assert form.status_code == 400 and "Content-Type" in error_of(form)["message"]
    broken = requests.post(fake.messages_url, data=b"{not json", timeout=2,
                           headers={**headers, "Content-Type": "application/json"})
    assert broken.status_code == 400 and "not valid JSON" in error_of(broken)["message"]
    wrong_id = requests.post(f"{fake.base_url}/v21.0/999/messages", json=text(), headers=headers, timeout=2)
    get = requests.get(fake.messages_url, headers=headers, timeout=2)
    assert wrong_id.status_code == get.status_code == 404 and "error" in get.json()
    assert len(fake.rejected) == 4 and fake.accepted == []


# ---- injected faults ----

def test_fail_next_429_with_retry_after_then_recovers(fake):
    fake.fail_next(429, count=2, retry_after=3)
    for _ in range(2):
        response = post(fake, text())
        assert response.status_code == 429 and response.headers["Retry-After"] == "3"
        assert error_of(response)["code"] == 130429 and "Rate limit hit" in error_of(response)["message"]
    assert post(fake, text()).status_code == 200
    assert len(fake.rejected) == 2 and len(fake.accepted) == 1


@pytest.mark.parametrize("status, code, expected_code", [(503, None, 131000), (500, None, 131000),
                                                          (400, 131047, 131047), (400, 131026, 131026)])
def test_fail_next_codes(fake, status, code, expected_code):
    fake.fail_next(status, code=code)
    response = post(fake, text())
    assert response.status_code == status and error_of(response)["code"] == expected_code
    assert "Retry-After" not in response.headers


def test_delay_next_makes_the_client_time_out(fake):
    fake.delay_next(2.0)
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        post(fake, text(), timeout=0.2)
    assert time.monotonic() - started < 1.0
    assert post(fake, text("después")).status_code == 200  # only the next request was slow
    fake.stop()  # wakes the sleeping handler: teardown stays fast
    assert fake.texts_to(PHONE) == ["después"]


def test_closed_window_only_lets_templates_through(fake):
    fake.close_window(PHONE)
    response = post(fake, text(to="51987654321"))
    assert response.status_code == 400 and error_of(response)["code"] == 131047
    assert post(fake, buttons("Sí")).status_code == 400
    assert post(fake, template()).status_code == 200
    assert post(fake, text(to="+51911111111")).status_code == 200  # other people are unaffected
    fake.reopen_window("51987654321")
    assert post(fake, text("de nuevo")).status_code == 200
    assert fake.texts_to(PHONE) == ["alerta_helada", "de nuevo"]


def test_max_per_second_throttles_with_130429():
    with FakeGraphAPI(max_per_second=2) as fake:
        statuses = [post(fake, text(str(i))).status_code for i in range(3)]
        assert statuses == [200, 200, 429]
        assert "#130429" in fake.rejected[0][1] and fake.rejected[0][0]["text"]["body"] == "2"
        time.sleep(1.05)  # the window slides: sending is possible again
        assert post(fake, text("3")).status_code == 200


def test_throughput_can_answer_as_meta_documents_it():
    with FakeGraphAPI(max_per_second=1, throttle_status=400) as fake:
        post(fake, text())
        response = post(fake, text())
        assert response.status_code == 400 and error_of(response)["code"] == 130429


# ---- media users sent ----

def test_received_media_is_stated_as_graph_does_and_wants_the_token_for_both_steps(fake):
    media_id = fake.add_received_media(VOICE_NOTE, "audio/ogg")
    auth = {"Authorization": f"Bearer {fake.access_token}"}
    lookup = f"{fake.base_url}/{fake.version}/{media_id}"
    assert requests.get(lookup, timeout=5).json()["error"]["code"] == 190
    info = requests.get(lookup, headers=auth, timeout=5).json()
    assert info == {"messaging_product": "whatsapp", "url": info["url"], "mime_type": "audio/ogg",
                    "sha256": hashlib.sha256(VOICE_NOTE).hexdigest(), "file_size": len(VOICE_NOTE), "id": media_id}
    assert "/whatsapp_business/attachments/?mid=" in info["url"] and "&ext=" in info["url"] and "&hash=" in info["url"]
    assert requests.get(info["url"], timeout=5).status_code == 401
    download = requests.get(info["url"], headers=auth, timeout=5)
    assert download.content == VOICE_NOTE and download.headers["Content-Type"] == "audio/ogg"
    unknown = requests.get(f"{fake.base_url}/{fake.version}/999", headers=auth, timeout=5)
    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == 100 and unknown.json()["error"]["error_subcode"] == 33
    forged = requests.get(info["url"].replace("hash=", "hash=x"), headers=auth, timeout=5)
    assert forged.status_code == 404


def test_media_faults_and_delays_hit_only_what_they_name(fake):
    media_id = fake.add_received_media(VOICE_NOTE)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    lookup = f"{fake.base_url}/{fake.version}/{media_id}"
    fake.fail_next(503, on="download")
    fake.fail_next(500, on="media")
    assert post(fake, text()).status_code == 200  # sends are not touched
    assert requests.get(lookup, headers=auth, timeout=5).status_code == 500
    url = requests.get(lookup, headers=auth, timeout=5).json()["url"]
    assert requests.get(url, headers=auth, timeout=5).status_code == 503
    fake.delay_next(0.3, on="download")
    started = time.monotonic()
    assert requests.get(url, headers=auth, timeout=5).content == VOICE_NOTE
    assert time.monotonic() - started >= 0.3 and fake.downloads_of(media_id) == 1


# ---- waiting and teardown ----

def test_wait_for_count_predicate_and_timeout(fake):
    post(fake, text("uno"))
    assert len(fake.wait_for(1)) == 1
    assert fake.wait_for(lambda got: got[0]["body"]["text"]["body"] == "uno", timeout=0.5)
    post(fake, {"messaging_product": "whatsapp", "to": PHONE, "type": "text", "text": {"body": ""}})
    with pytest.raises(AssertionError) as failure:
        fake.wait_for(2, timeout=0.1)
    assert "'uno'" in str(failure.value) and "text.body must be a non-empty string" in str(failure.value)
    assert len(fake.wait_for(0, kind="read")) == 0


def test_context_manager_stops_the_server_even_for_kept_alive_connections():
    session = requests.Session()  # pools connections, as the bridge's client will
    with FakeGraphAPI(access_token="otro", phone_number_id="42", version="v23.0") as fake:
        assert fake.messages_url.endswith("/v23.0/42/messages")
        assert session.post(fake.messages_url, json=text(), headers={"Authorization": "Bearer otro"},
                            timeout=2).status_code == 200
    with pytest.raises(requests.ConnectionError):
        session.post(fake.messages_url, json=text(), headers={"Authorization": "Bearer otro"}, timeout=0.5)
    session.close()
    assert len(fake.accepted) == 1


# ---- webhook payloads ----

def test_signature_matches_an_independent_hmac():
    payload = wh.text_message("+51987654321", "¿Cuándo riego mi maíz?")
    body, headers = wh.signed_post_args(payload, "app-secret")
    expected = "sha256=" + hmac.new(b"app-secret", body, hashlib.sha256).hexdigest()
    assert headers == {"Content-Type": "application/json", "X-Hub-Signature-256": expected}
    assert wh.sign(body, "app-secret") == expected and json.loads(body) == payload
    assert b"\\u00bfCu\\u00e1ndo" in body  # escaped like Meta's bodies: re-serialised JSON would not match
    assert wh.sign(json.dumps(payload, ensure_ascii=False).encode(), "app-secret") != expected


def test_text_message_has_the_documented_envelope():
    payload = wh.text_message("+51987654321", "Hola", name="Rosa Quispe", timestamp=1749416383)
    assert payload["object"] == "whatsapp_business_account"
    entry = payload["entry"][0]
    assert entry["id"] == wh.WABA_ID and entry["changes"][0]["field"] == "messages"
    value = entry["changes"][0]["value"]
    assert value["messaging_product"] == "whatsapp"
    assert value["metadata"] == {"display_phone_number": wh.DISPLAY_PHONE_NUMBER,
                                 "phone_number_id": "123456789012345"}
    assert value["contacts"] == [{"profile": {"name": "Rosa Quispe"}, "wa_id": "51987654321"}]
    message = value["messages"][0]
    assert message["from"] == "51987654321" and message["timestamp"] == "1749416383"
    assert message["type"] == "text" and message["text"] == {"body": "Hola"}
    assert message["id"].startswith("wamid.HBgL") and message["id"] != wh.text_message(PHONE, "Hola")["entry"][0][
        "changes"][0]["value"]["messages"][0]["id"]


def first_message(payload):
    return payload["entry"][0]["changes"][0]["value"]["messages"][0]


def test_message_builders_shape_each_type():
    button = first_message(wh.button_reply(PHONE, "si", "Sí", context_id="wamid.OURS"))
    assert button["type"] == "interactive" and button["context"]["id"] == "wamid.OURS"
    assert button["interactive"] == {"type": "button_reply", "button_reply": {"id": "si", "title": "Sí"}}
    row = first_message(wh.list_reply(PHONE, "maiz", "Maíz", description="Zea mays"))
    assert row["interactive"]["list_reply"] == {"id": "maiz", "title": "Maíz", "description": "Zea mays"}
    place = first_message(wh.location(PHONE, -7.16, -78.51, name="Chacra", address="Cajamarca"))
    assert place["location"] == {"latitude": -7.16, "longitude": -78.51, "name": "Chacra", "address": "Cajamarca"}
    assert first_message(wh.location(PHONE, 1.5, 2.5))["location"] == {"latitude": 1.5, "longitude": 2.5}
    voice = first_message(wh.audio(PHONE, media_id="777"))["audio"]
    assert voice["id"] == "777" and voice["mime_type"] == "audio/ogg; codecs=opus" and voice["voice"] is True
    photo = first_message(wh.image(PHONE, "888", caption="Mi maíz"))
    assert photo["type"] == "image" and photo["image"]["id"] == "888" and photo["image"]["caption"] == "Mi maíz"
    sticker = first_message(wh.unknown_type(PHONE))
    assert sticker["type"] == "sticker" and sticker["sticker"]["mime_type"] == "image/webp"
    odd = first_message(wh.unsupported(PHONE))
    assert odd["type"] == "unsupported" and odd["errors"][0]["code"] == 131051


def test_status_updates_and_batches():
    sent = wh.status_update("wamid.A", "delivered", PHONE)
    status = sent["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert status["id"] == "wamid.A" and status["recipient_id"] == "51987654321" and "messages" not in sent
    assert status["pricing"] == {"billable": False, "pricing_model": "PMP", "category": "service",
                                 "type": "free_customer_service"}
    failed = wh.status_update("wamid.B", "failed", PHONE, errors=[131026])
    error = failed["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"][0]
    assert error["code"] == 131026 and error["title"] == "Message undeliverable" and error["error_data"]["details"]
    both = wh.batch(wh.text_message(PHONE, "uno"), failed)
    assert both["object"] == "whatsapp_business_account"
    values = [entry["changes"][0]["value"] for entry in both["entry"]]
    assert [("messages" in v, "statuses" in v) for v in values] == [(True, False), (False, True)]


# ---- documents, other uploads, reactions ----

def upload(fake, data: bytes, mime_type: str, name: str = "file"):
    return requests.post(fake.base_url + fake.media_path, headers={"Authorization": f"Bearer {fake.access_token}"},
                         data={"messaging_product": "whatsapp", "type": mime_type},
                         files={"file": (name, data, mime_type)}, timeout=10)


def document(**fields):
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": PHONE, "type": "document",
            "document": fields}


def test_documents_of_the_supported_types_upload_and_send_by_id_with_filename_and_caption(fake):
    pdf = upload(fake, b"%PDF-1.7 ...", "application/pdf", "informe.pdf")
    assert pdf.status_code == 200, pdf.text
    assert fake.uploads[pdf.json()["id"]] == {"type": "application/pdf", "filename": "informe.pdf", "bytes": 12}
    assert upload(fake, b"a,b\n", "text/plain", "datos.txt").status_code == 200
    sent = post(fake, document(id=pdf.json()["id"], filename="informe.pdf", caption="Tu informe"))
    assert sent.status_code == 200, sent.text
    assert fake.texts_to(PHONE) == ["Tu informe"]
    assert post(fake, document(link="https://example.org/informe.pdf")).status_code == 200


@pytest.mark.parametrize("fields, problem", [
    ({"filename": "x.pdf"}, "exactly one of id"),
    ({"id": "1", "link": "https://example.org/x.pdf"}, "exactly one of id"),
    ({"link": "https://example.org/x.pdf", "caption": "c" * 1025}, "maximum is 1024"),
    ({"link": "https://example.org/x.pdf", "filename": ""}, "filename must be a non-empty string"),
    ({"link": "https://example.org/x.pdf", "title": "x"}, "unknown parameter"),
    ({"id": "999"}, "no uploaded media"),
])
def test_undocumented_document_sends_are_rejected(fake, fields, problem):
    response = post(fake, document(**fields))
    assert response.status_code == 400 and problem in fake.rejected[-1][1], fake.rejected


def test_uploads_outside_metas_supported_types_or_sizes_are_refused(fake):
    json_file = upload(fake, b'{"a": 1}', "application/json", "mis_datos.json")
    assert json_file.status_code == 400 and error_of(json_file)["code"] == 100
    assert "Received file of type 'application/json'" in error_of(json_file)["message"]
    too_big = upload(fake, b"\x89PNG" + b"\x00" * (5 * 1024 * 1024), "image/png")
    assert too_big.status_code == 400 and "5242880 bytes" in error_of(too_big)["message"]
    assert upload(fake, b"OggS voice", "audio/ogg").status_code == 200


def test_the_reaction_builder_has_metas_shape_and_leaves_emoji_out_when_removed():
    liked = first_message(wh.reaction(PHONE, "wamid.OURS", "👍"))
    assert liked["type"] == "reaction" and liked["reaction"] == {"message_id": "wamid.OURS", "emoji": "👍"}
    assert liked["from"] == "51987654321" and liked["id"].startswith("wamid.")
    removed = first_message(wh.reaction(PHONE, "wamid.OURS", None))
    assert removed["reaction"] == {"message_id": "wamid.OURS"}
