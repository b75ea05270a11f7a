"""The officer's desk through the real backend (Flask client, a real store, scripted model):
asking for a person, takeover and the bot's silence, officers' replies on the alert queue,
ratings by reaction and by text, «MIS DATOS» and «BORRAR MIS DATOS»."""
import json
import time

import pytest

from backend import takeovers
from backend.alerts import repository as alerts
from backend.store.database import transaction
from tests.backend.conftest import AUTH

PHONE = "+51987654321"
OTHER = "+51911111111"


def contact_id(backend, phone=PHONE) -> int:
    return backend.db.execute("SELECT id FROM contacts WHERE phone = ?", [phone]).fetchone()[0]


def open_takeover(backend, phone=PHONE):
    return takeovers.open_takeover(backend.db, contact_id(backend, phone))


def claim(backend) -> list[dict]:
    return backend.client.get("/alerts/pending?limit=50", headers=AUTH).json["alerts"]


def react(backend, emoji, reacted_to="wamid.unknown", reply_to=None, phone=PHONE, reaction_id="wamid.r1"):
    body = {"phone": phone, "message_id": reaction_id, "reacted_to": reacted_to, "emoji": emoji}
    if reply_to:
        body["reply_to"] = reply_to
    return backend.client.post("/agent/reaction", json=body, headers=AUTH)


@pytest.mark.parametrize("words", ["quiero hablar con una persona", "ASESOR", "pasame con un humano porfa",
                                   "necesito un tecnico q me ayude", "kiero ablar con alguien de verdad"])
def test_asking_for_a_person_puts_the_conversation_in_the_inbox_once(backend, words):
    backend.onboard(PHONE)
    first = backend.say(PHONE, words)["model_output"]["respuesta_chat"]
    assert "persona del equipo" in first
    takeover = open_takeover(backend)
    assert takeover["status"] == "waiting" and takeover["reason"] == "asked"
    again = backend.say(PHONE, "quiero hablar con una persona")["model_output"]["respuesta_chat"]
    assert "Ya le avisé" in again and backend.count("takeovers") == 1


def test_two_replies_not_understood_in_a_row_ask_for_a_person(backend, model):
    backend.onboard(PHONE)
    model.default = (500, {"error": {"code": "down", "message": "scripted"}}, {})  # down: the honest menu
    first = backend.say(PHONE, "¿qué opinas del clima de la sierra en agosto?")
    assert first["source"] == "apology" and open_takeover(backend) is None
    second = backend.say(PHONE, "¿y de la costa norte en invierno?")
    assert second["source"] == "apology" and "persona del equipo" in second["model_output"]["respuesta_chat"]
    assert open_takeover(backend)["reason"] == "not_understood"


def test_takeover_silences_the_bot_queues_the_officers_words_and_hands_back(backend):
    backend.onboard(PHONE)
    backend.say(PHONE, "asesor")
    db = backend.db
    takeover_id = open_takeover(backend)["id"]
    with transaction(db) as connection:
        takeovers.take(connection, takeover_id, "ana")
    notice = claim(backend)
    assert [(a["kind"], a["phone"]) for a in notice] == [("notice", PHONE)]
    assert "persona del equipo te está atendiendo" in notice[0]["message"]

    silent = backend.say(PHONE, "hola? mi maiz tiene hojas amarillas", message_id="wamid.in1")
    assert silent["silencio"] is True and silent["model_output"]["respuesta_chat"] == ""
    assert silent["source"] == "officer"
    assert db.execute("SELECT body FROM messages WHERE wa_message_id = 'wamid.in1'").fetchone()[0].startswith("hola?")
    assert backend.say(PHONE, "hola? mi maiz tiene hojas amarillas", message_id="wamid.in1")["silencio"] is True

    with transaction(db) as connection:
        with pytest.raises(takeovers.HeldByAnother, match="ana"):
            takeovers.take(connection, takeover_id, "beto")
        with pytest.raises(takeovers.HeldByAnother):
            takeovers.reply(connection, takeover_id, "beto", "hola")
        message_id = takeovers.reply(connection, takeover_id, "ana", "Hola Rosa, ¿desde cuándo las ves amarillas?")
    reply = claim(backend)
    assert [(a["kind"], a["message"]) for a in reply] == [("reply", "Hola Rosa, ¿desde cuándo las ves amarillas?")]
    alerts.mark_sent(db, reply[0]["id"], reply[0]["lease_token"], "wamid.out-officer")
    alerts.record_delivery(db, "wamid.out-officer", "read")
    row = db.execute("SELECT m.source, m.officer, a.delivery_status FROM messages m JOIN alerts a ON a.message_id = m.id "
                     "WHERE m.id = ?", [message_id]).fetchone()
    assert row == ("officer", "ana", "read")
    # The officer's words are memory: the short-term window holds them.
    from backend import conversation
    last = db.execute("SELECT MAX(id) FROM messages").fetchone()[0] + 1
    window = conversation.recent_messages(db, contact_id(backend), before_id=last)
    assert any(m["texto"].startswith("Hola Rosa, ¿desde") and m["de"] == "chasqui" for m in window)

    with transaction(db) as connection:
        takeovers.hand_back(connection, takeover_id, "ana")
    assert "asistente automático" in claim(backend)[0]["message"]
    assert backend.say(PHONE, "cuantas notas tengo")["source"] == "code"  # the bot answers again
    actions = [r[0] for r in db.execute("SELECT action FROM audit_log WHERE officer = 'ana' ORDER BY id")]
    assert actions == ["take_over", "reply", "hand_back"]


def test_an_officers_silence_hands_the_conversation_back(make_backend):
    backend = make_backend(takeover_idle_s=0.2)
    backend.onboard(PHONE)
    backend.say(PHONE, "asesor")
    with transaction(backend.db) as connection:
        takeovers.take(connection, open_takeover(backend)["id"], "ana")
    assert backend.say(PHONE, "hola")["silencio"] is True
    time.sleep(0.3)
    assert "silencio" not in backend.say(PHONE, "cuantas notas tengo")
    returned = backend.db.execute("SELECT status, returned_by FROM takeovers").fetchone()
    assert returned == ("returned", "silence")


def test_the_silence_job_returns_idle_takeovers_without_a_new_message(make_backend):
    backend = make_backend(takeover_idle_s=0.1)
    backend.app.extensions["chasqui_scheduler"].stop()
    backend.onboard(PHONE)
    backend.say(PHONE, "asesor")
    with transaction(backend.db) as connection:
        takeovers.take(connection, open_takeover(backend)["id"], "ana")
    claim(backend)
    time.sleep(0.2)
    assert "core.return_idle_takeovers" in backend.app.extensions["chasqui_scheduler"].run_due()
    assert open_takeover(backend) is None
    assert [a["kind"] for a in claim(backend)] == ["notice"]


def test_officer_actions_refuse_what_cannot_be_done(backend):
    backend.onboard(PHONE)
    with transaction(backend.db) as connection:
        with pytest.raises(takeovers.TakeoverProblem, match="no takeover"):
            takeovers.take(connection, 999, "ana")
        taken = takeovers.start(connection, contact_id(backend), "ana")
        assert taken["reason"] == "officer" and taken["status"] == "taken"
        with pytest.raises(takeovers.TakeoverProblem, match="write a message"):
            takeovers.reply(connection, taken["id"], "ana", "   ")
        with pytest.raises(takeovers.TakeoverProblem, match="4096"):
            takeovers.reply(connection, taken["id"], "ana", "x" * 5000)
        takeovers.hand_back(connection, taken["id"], "ana")
        with pytest.raises(takeovers.TakeoverProblem, match="take the conversation over first"):
            takeovers.reply(connection, taken["id"], "ana", "hola")


# -- ratings ---------------------------------------------------------------------------------------

def answered(backend, text, message_id):
    backend.say(PHONE, text, message_id=message_id)
    return backend.db.execute("SELECT r.id FROM messages q JOIN messages r ON r.in_reply_to = q.id "
                              "WHERE q.wa_message_id = ?", [message_id]).fetchone()[0]


@pytest.mark.parametrize("emoji, value", [("👍", 1), ("👍🏽", 1), ("❤️", 1), ("🙏", 1), ("👎", -1), ("😡", -1),
                                          ("👎🏿", -1)])
def test_a_reaction_on_a_reply_rates_it_with_its_source_and_question(backend, emoji, value):
    backend.onboard(PHONE)
    reply_id = answered(backend, "cuantas notas tengo?", "wamid.q1")
    response = react(backend, emoji, reacted_to="wamid.bridge-piece", reply_to="wamid.q1")
    assert response.status_code == 200 and response.json["rating"] == value
    row = backend.db.execute("SELECT message_id, value, via, reply_source, question FROM ratings").fetchone()
    assert row == (reply_id, value, "reaction", "code", "cuantas notas tengo?")
    if value < 0:
        assert "persona del equipo" in response.json["respuesta_chat"]
        assert open_takeover(backend)["reason"] == "bad_rating"
    else:
        assert response.json["respuesta_chat"] is None and open_takeover(backend) is None


def test_a_changed_reaction_replaces_the_rating_and_a_removed_one_deletes_it(backend):
    backend.onboard(PHONE)
    answered(backend, "cuantas notas tengo?", "wamid.q1")
    react(backend, "👍", reply_to="wamid.q1")
    react(backend, "👎", reply_to="wamid.q1", reaction_id="wamid.r2")
    assert backend.db.execute("SELECT COUNT(*), MIN(value) FROM ratings").fetchone() == (1, -1)
    assert react(backend, "", reply_to="wamid.q1", reaction_id="wamid.r3").json["rating"] == 0
    assert backend.count("ratings") == 0


def test_a_reaction_on_an_officers_reply_is_found_by_its_provider_id(backend):
    backend.onboard(PHONE)
    with transaction(backend.db) as connection:
        takeover = takeovers.start(connection, contact_id(backend), "ana")
        message_id = takeovers.reply(connection, takeover["id"], "ana", "Riega mañana temprano.")
    for item in claim(backend):
        alerts.mark_sent(backend.db, item["id"], item["lease_token"], f"wamid.out{item['id']}")
    alert_id = backend.db.execute("SELECT id FROM alerts WHERE message_id = ?", [message_id]).fetchone()[0]
    assert react(backend, "🙏", reacted_to=f"wamid.out{alert_id}").json["rating"] == 1
    assert backend.db.execute("SELECT message_id, reply_source FROM ratings").fetchone() == (message_id, "officer")


@pytest.mark.parametrize("body", [{"phone": PHONE, "message_id": "r", "reacted_to": "x", "emoji": "😮"},
                                  {"phone": PHONE, "message_id": "r", "reacted_to": "wamid.nobody", "emoji": "👍"},
                                  {"phone": "+51900000000", "message_id": "r", "reacted_to": "x", "emoji": "👍"}])
def test_reactions_that_rate_nothing_are_answered_without_a_rating(backend, body):
    backend.onboard(PHONE)
    response = backend.client.post("/agent/reaction", json=body, headers=AUTH)
    assert response.status_code == 200 and response.json == {"rating": None, "respuesta_chat": None}
    assert backend.count("ratings") == 0


@pytest.mark.parametrize("body, field", [({"message_id": "r", "reacted_to": "x", "emoji": "👍"}, "phone"),
                                         ({"phone": PHONE, "reacted_to": "x", "emoji": "👍"}, "message_id"),
                                         ({"phone": PHONE, "message_id": "r", "emoji": "👍"}, "reacted_to"),
                                         ({"phone": PHONE, "message_id": "r", "reacted_to": "x", "emoji": 5}, "emoji"),
                                         ({"phone": PHONE, "message_id": "r", "reacted_to": "x", "emoji": "👍" * 20},
                                          "emoji")])
def test_a_bad_reaction_request_is_a_clear_400(backend, body, field):
    response = backend.client.post("/agent/reaction", json=body, headers=AUTH)
    assert response.status_code == 400 and response.json["error"]["param"] == field


def test_reactions_need_the_token(backend):
    response = backend.client.post("/agent/reaction", json={"phone": PHONE, "message_id": "r", "reacted_to": "x"})
    assert response.status_code == 401


@pytest.mark.parametrize("thanks", ["gracias", "muchas gracias!!", "grasias", "ok gracias pe"])
def test_thanks_right_after_a_reply_rates_it_good(backend, thanks):
    backend.onboard(PHONE)
    reply_id = answered(backend, "cuantas notas tengo?", "wamid.q1")
    backend.say(PHONE, thanks)
    assert backend.db.execute("SELECT message_id, value, via FROM ratings").fetchall() == [(reply_id, 1, "text")]


@pytest.mark.parametrize("complaint", ["no me sirvió", "no me sirvio tu respuesta", "eso no me ayudo para nada",
                                       "q mala respuesta", "no entendiste mi pregunta"])
def test_a_complaint_right_after_a_reply_rates_it_bad_and_asks_for_a_person(backend, complaint):
    backend.onboard(PHONE)
    reply_id = answered(backend, "cuantas notas tengo?", "wamid.q1")
    text = backend.say(PHONE, complaint)["model_output"]["respuesta_chat"]
    assert "persona del equipo" in text
    assert backend.db.execute("SELECT message_id, value FROM ratings").fetchall() == [(reply_id, -1)]
    assert open_takeover(backend)["reason"] == "bad_rating"


def test_thanks_after_onboarding_rates_nothing(backend):
    backend.say(PHONE, "hola")
    backend.say(PHONE, "Rosa")
    backend.say(PHONE, "gracias")  # answers the city question: onboarding, not a rating
    assert backend.count("ratings") == 0


# -- people's own data -------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["MIS DATOS", "mis datos", "Mis datos?", "quiero ver mis datos"])
def test_my_data_answers_a_summary_and_queues_the_file_of_everything(backend, command):
    backend.onboard(PHONE)
    backend.say(PHONE, "anota: regar el jueves")
    reply = backend.say(PHONE, command)["model_output"]["respuesta_chat"]
    assert "Esto es lo que guardo de ti" in reply and "ciudad: Cajamarca" in reply and "mensajes:" in reply
    document = [a for a in claim(backend) if a["kind"] == "document"]
    assert len(document) == 1 and document[0]["document_name"].startswith("mis_datos")
    response = backend.client.get(document[0]["document_url"], headers=AUTH)
    assert response.status_code == 200 and response.mimetype == "text/plain"
    data = json.loads(response.data)
    assert data["contacto"]["phone"] == PHONE and data["profiles"][0]["data"] == {"ciudad": "Cajamarca"}
    assert any("regar el jueves" in json.dumps(row, ensure_ascii=False) for row in data["form_submissions"])
    assert any(m["body"] == command for m in data["messages"])
    assert backend.client.get(document[0]["document_url"]).status_code == 401


def test_my_data_works_before_onboarding_too(backend):
    backend.say(PHONE, "hola")
    assert "Esto es lo que guardo de ti" in backend.say(PHONE, "MIS DATOS")["model_output"]["respuesta_chat"]


def every_reference(backend, phone: str, cid: int) -> list[str]:
    """Every row of every table that names the contact's id (in a column referencing contacts) or
    its phone (in any text column)."""
    db, found = backend.db, []
    digits = phone.lstrip("+")
    for table, keys, text_columns in schema(db):
        for column in keys:
            found += [f"{table}.{column}"] * db.execute(f'SELECT COUNT(*) FROM "{table}" WHERE "{column}" = ?',
                                                        [cid]).fetchone()[0]
        for column in text_columns:
            hits = db.execute(f'SELECT COUNT(*) FROM "{table}" WHERE strpos("{column}", ?) > 0', [digits]) \
                if db.dialect == "postgresql" else \
                db.execute(f'SELECT COUNT(*) FROM "{table}" WHERE typeof("{column}") = \'text\' '
                           f'AND instr("{column}", ?) > 0', [digits])
            found += [f"{table}.{column} (phone)"] * hits.fetchone()[0]
    return found


def schema(db) -> list[tuple[str, list[str], list[str]]]:
    """(table, its columns referencing contacts, its columns to look for a phone in), read from the
    engine's own catalog, not from the code under test."""
    if db.dialect == "sqlite":
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                           "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '%fts_%'")]
        return [(table, [k[3] for k in db.execute(f'PRAGMA foreign_key_list("{table}")') if k[2] == "contacts"],
                 [c[1] for c in db.execute(f'PRAGMA table_info("{table}")')]) for table in tables]
    keys = db.execute("SELECT kcu.table_name, kcu.column_name FROM information_schema.referential_constraints rc "
                      "JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = rc.constraint_name "
                      "AND kcu.constraint_schema = rc.constraint_schema "
                      "JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = rc.unique_constraint_name "
                      "AND ccu.constraint_schema = rc.unique_constraint_schema "
                      "WHERE kcu.table_schema = current_schema() AND ccu.table_name = 'contacts'").fetchall()
    texts = db.execute("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = "
                       "current_schema() AND data_type = 'text'").fetchall()
    tables = sorted({table for table, _ in keys} | {table for table, _ in texts})
    return [(table, [c for t, c in keys if t == table], [c for t, c in texts if t == table]) for table in tables]


def test_erase_my_data_asks_first_and_no_cancels(backend):
    backend.onboard(PHONE)
    question = backend.say(PHONE, "BORRAR MIS DATOS")
    assert "¿Seguro" in question["model_output"]["respuesta_chat"] and question["opciones"] == ["sí", "no"]
    assert backend.say(PHONE, "no")["model_output"]["respuesta_chat"] == "Listo, no borré nada."
    assert backend.say(PHONE, "sí")["model_output"]["respuesta_chat"] != "" and backend.count("contacts") == 1


def test_erase_my_data_passes_when_the_user_talks_of_something_else(backend):
    backend.onboard(PHONE)
    backend.say(PHONE, "borrar mis datos")
    assert backend.say(PHONE, "cuantas notas tengo?")["source"] == "code"
    backend.say(PHONE, "sí")
    assert backend.count("contacts") == 1


def test_erase_my_data_deletes_everything_that_refers_to_the_contact(backend):
    backend.onboard(PHONE)
    backend.onboard(OTHER, name="Beto")
    cid = contact_id(backend)
    backend.say(PHONE, "anota: regar el jueves")
    backend.say(PHONE, "sí")
    reply_id = answered(backend, "cuantas notas tengo?", "wamid.q1")
    react(backend, "👎", reply_to="wamid.q1")
    with transaction(backend.db) as connection:
        takeover_id = open_takeover(backend)["id"]
        takeovers.take(connection, takeover_id, "ana")
        takeovers.reply(connection, takeover_id, "ana", "Hola, te llamo luego")
        alerts.add_alert(connection, cid, "Helada esta noche", "alta")
        connection.execute("INSERT INTO voice_notes (wa_message_id, phone, contact_id, message_id, mime_type, audio, "
                           "bytes, created_at) VALUES ('wamid.v1', ?, ?, ?, 'audio/ogg', ?, 1, 0)",
                           [PHONE, cid, reply_id, b"\x00"])
        connection.execute("INSERT INTO failures (kind, source, subject, error, first_at, last_at) VALUES "
                           "('message', '/agent', ?, 'boom', 0, 0)", [f"{PHONE} · hola"])
    backend.say(PHONE, "MIS DATOS")
    assert len(every_reference(backend, PHONE, cid)) > 10
    backend.say(PHONE, "borrar mis datos")
    done = backend.say(PHONE, "si, borralo")
    assert done["olvidar"] is True and "borré todos tus datos" in done["model_output"]["respuesta_chat"]
    assert every_reference(backend, PHONE, cid) == []
    assert backend.db.execute("SELECT domain, requested_via FROM erasures").fetchall() == [("example", "chat")]
    assert backend.db.execute("SELECT COUNT(*) FROM audit_log WHERE officer = 'ana'").fetchone()[0] == 2  # kept, anonymous
    assert backend.db.execute("SELECT COUNT(*) FROM audit_log WHERE contact_id IS NOT NULL").fetchone()[0] == 0
    assert backend.count("contacts") == 1 and contact_id(backend, OTHER)  # the other contact is untouched
    if backend.db.dialect == "sqlite":  # FTS5's own table (PostgreSQL's index is on messages itself)
        assert backend.db.execute("SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH 'jueves'").fetchone()[0] == 0
    again = backend.say(PHONE, "hola")["model_output"]["respuesta_chat"]
    assert "¿Cómo te llamas?" in again  # a new contact, from zero
