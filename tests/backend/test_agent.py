"""POST /agent through the orchestrator, with a scripted model over real HTTP and a real SQLite file."""
import json
import time

import pytest

from tests.backend.conftest import AUTH
from tests.backend.scripted_model import ScriptedModel

PHONE = "+51987654321"


def test_onboarding_is_deterministic_and_needs_no_model(backend, model):
    first = backend.say("51987654321@c.us", "Hola")["model_output"]["respuesta_chat"]
    assert "¿Cómo te llamas?" in first
    assert backend.say(PHONE, "Me llamo Rosa Quispe")["model_output"]["respuesta_chat"] == "¿En qué ciudad vives?"
    assert "ciudad" in backend.say(PHONE, "x")["model_output"]["respuesta_chat"]  # too short: asked again
    done = backend.say(PHONE, "Cajamarca")
    assert done["source"] == "onboarding" and "Listo, Rosa Quispe" in done["model_output"]["respuesta_chat"]
    assert model.requests == []
    row = backend.db.execute("SELECT c.phone, c.name, c.domain, c.onboarding_step, p.data FROM contacts c "
                             "JOIN profiles p ON p.contact_id = c.id").fetchall()
    assert row == [(PHONE, "Rosa Quispe", "example", None, '{"ciudad": "Cajamarca"}')]  # both phone forms: one contact
    assert backend.count("messages") == 8  # every message in and out


def test_context_carries_profile_facts_history_and_mentions(backend, model):
    backend.onboard(PHONE)
    model.answer("Son las 10.")
    reply = backend.say(PHONE, "¿Qué hora es?")
    assert reply["model_output"] == {"role": "consulta", "respuesta_chat": "Son las 10.", "acciones": {},
                                     "estado": {}}
    assert reply["source"] == "model" and reply["timings"]["orchestration_ms"] > 0
    sent = model.requests[-1]
    assert sent["system"].startswith("Eres Chasqui")
    assert sent["context"]["usuario"] == {"nombre": "Rosa", "ciudad": "Cajamarca"}
    assert sent["context"]["hechos"]["notas_guardadas"] == 0
    assert sent["context"]["mensaje"] == "¿Qué hora es?"
    assert [m["texto"] for m in sent["context"]["historial"]][:2] == ["hola", "¡Hola! Soy Chasqui, tu asistente "
                                                                     "por WhatsApp. ¿Cómo te llamas?"]
    assert set(sent["schema"]["properties"]["acciones"]["properties"]) == {"guardar_nota"}


def test_short_term_window_and_recall_of_older_messages(backend, model):
    backend.onboard(PHONE)
    contact_id = backend.db.execute("SELECT id FROM contacts").fetchone()[0]
    two_days_ago = time.time() - 2 * 86400
    backend.db.execute("INSERT INTO messages (contact_id, direction, body, created_at) VALUES (?, 'in', ?, ?)",
                       [contact_id, "Me duele la rodilla izquierda al bajar cuestas", two_days_ago])
    for n in range(30):
        backend.db.execute("INSERT INTO messages (contact_id, direction, body, created_at) VALUES (?, 'in', ?, ?)",
                           [contact_id, f"mensaje {n}", time.time()])
    model.answer("Me dijiste que te duele la rodilla al bajar.")
    backend.say(PHONE, "¿Qué te dije de mi rodilla?")
    context = model.requests[-1]["context"]
    assert len(context["historial"]) == 20 and context["historial"][-1]["texto"] == "mensaje 29"
    assert context["recuerdos"][0]["texto"] == "Me duele la rodilla izquierda al bajar cuestas"
    assert context["recuerdos"][0]["hace_dias"] == 2


def test_knowledge_base_passages_reach_the_context(backend, model):
    backend.onboard(PHONE)
    backend.db.execute("INSERT INTO knowledge (domain, title, body, updated_at) VALUES (NULL, ?, ?, 0)",
                       ["Gusano cogollero", "Larva que come el cogollo del maíz; revisar 20 plantas por lote."])
    model.answer("Revisa 20 plantas por lote.")
    backend.say(PHONE, "vi gusano cogollero en mi maíz")
    assert model.requests[-1]["context"]["conocimiento"][0]["titulo"] == "Gusano cogollero"


def test_registered_action_runs_and_unknown_or_invalid_ones_are_refused(backend, model):
    backend.onboard(PHONE)
    model.answer("¡Hola! ¿Cómo te llamas?", acciones={"guardar_nota": {"texto": "comprar semillas"}})
    output = backend.say(PHONE, "anota: comprar semillas")["model_output"]
    assert output["acciones"] == {"guardar_nota": {"texto": "comprar semillas"}}
    # the model's text did not say what it did: the orchestrator says it plainly
    assert output["respuesta_chat"] == "Guardé tu nota: comprar semillas"
    model.answer("¡Listo! Guardé tu nota: vender papas.", acciones={"guardar_nota": {"texto": "vender papas"}})
    assert backend.say(PHONE, "anota: vender papas")["model_output"]["respuesta_chat"] == \
        "¡Listo! Guardé tu nota: vender papas."
    model.answer("Listo.", acciones={"borrar_todo": {}})  # not registered: the schema check refuses it
    reply = backend.say(PHONE, "borra todo")
    assert reply["source"] == "apology"
    data = [json.loads(r[0]) for r in backend.db.execute("SELECT data FROM form_submissions")]
    assert data == [{"texto": "comprar semillas"}, {"texto": "vender papas"}]


def test_action_the_users_message_does_not_support_is_refused(backend, model):
    backend.onboard(PHONE)
    # A small model copying an earlier turn: "Hola" does not ask to save anything.
    model.answer("Guardé tu nota: regar el maíz", acciones={"guardar_nota": {"texto": "regar el maíz"}})
    output = backend.say(PHONE, "Hola")["model_output"]
    assert output["acciones"] == {}
    assert output["respuesta_chat"] == "No estoy seguro de haberte entendido. ¿Me lo dices de otra forma?"
    assert backend.count("form_submissions") == 0


def test_503_with_retry_after_is_retried(backend, model):
    backend.onboard(PHONE)
    model.fail(503, retry_after="0")
    model.answer("Hola de nuevo.")
    assert backend.say(PHONE, "hola otra vez")["source"] == "model"
    assert len(model.requests) == 2


def test_retry_after_longer_than_the_budget_falls_back_at_once(backend, model):
    backend.onboard(PHONE)
    model.fail(503, retry_after="3600")
    started = time.monotonic()
    reply = backend.say(PHONE, "¿hay alguien?")
    assert reply["source"] == "apology" and time.monotonic() - started < 3


def test_model_down_gives_an_apology_keeps_the_message_and_opens_the_circuit(make_backend, model):
    backend = make_backend(model_api_url="http://127.0.0.1:9", breaker_failures=2)  # nothing listens on port 9
    backend.onboard(PHONE)
    for n in range(3):
        reply = backend.say(PHONE, f"pregunta {n}")
        assert reply["source"] == "apology" and "quedó guardado" in reply["model_output"]["respuesta_chat"]
    stored = [r[0] for r in backend.db.execute("SELECT body FROM messages WHERE direction = 'in' AND body LIKE 'pregunta%'")]
    assert stored == ["pregunta 0", "pregunta 1", "pregunta 2"]
    health = backend.client.get("/health").json
    assert health["model_circuit"] == {"model": "open"} and health["status"] == "degraded"


def test_secondary_endpoint_answers_when_the_primary_fails(make_backend, model):
    backend = make_backend(model_api_url="http://127.0.0.1:9", secondary_model_api_url=model.url)
    backend.onboard(PHONE)
    model.answer("Te respondo desde el modelo secundario.")
    assert backend.say(PHONE, "hola")["source"] == "secondary"


def test_cached_answer_is_reused_only_for_the_same_question_and_facts(backend, model):
    backend.onboard(PHONE)
    model.answer("Tienes 0 notas.")
    backend.say(PHONE, "¿Cuántas notas tengo?")
    model.fail(500)
    cached = backend.say(PHONE, "¿cuántas NOTAS tengo")
    assert cached["source"] == "cache" and cached["model_output"]["respuesta_chat"] == "Tienes 0 notas."
    backend.db.execute("INSERT INTO form_submissions (form_id, contact_id, data, source, created_at) "
                       "VALUES (1, 1, '{}', 'api', 0)")  # the facts change: the cached answer is no longer true
    model.fail(500)
    assert backend.say(PHONE, "¿Cuántas notas tengo?")["source"] == "apology"


def test_answer_that_does_not_fit_the_schema_is_not_passed_on(backend, model):
    backend.onboard(PHONE)
    model.script.append((200, {"content": '{"respuesta_chat": "sin las otras claves"}'}, {}))
    assert backend.say(PHONE, "hola")["source"] == "apology"


def test_daily_quota(make_backend, model):
    backend = make_backend(daily_model_calls=1)
    backend.onboard(PHONE)
    model.answer("Primera respuesta.")
    assert backend.say(PHONE, "una")["source"] == "model"
    reply = backend.say(PHONE, "dos")
    assert reply["source"] == "quota" and "límite" in reply["model_output"]["respuesta_chat"]
    assert len(model.requests) == 1


def test_small_model_answers_once_the_large_models_quota_is_spent(make_backend, model):
    small = ScriptedModel()
    try:
        backend = make_backend(daily_model_calls=1, secondary_model_api_url=small.url,
                               daily_secondary_model_calls=1)
        backend.onboard(PHONE)
        model.answer("Respuesta del modelo grande.")
        small.answer("Respuesta del modelo pequeño.")
        assert backend.say(PHONE, "una")["source"] == "model"
        assert backend.say(PHONE, "dos")["source"] == "secondary"
        assert backend.say(PHONE, "tres")["source"] == "quota"
        assert (len(model.requests), len(small.requests)) == (1, 1)
        assert backend.db.execute("SELECT endpoint, calls FROM model_calls ORDER BY endpoint").fetchall() == [
            ("model", 1), ("secondary", 1)]
    finally:
        small.stop()


def test_retried_webhook_is_stored_once_and_answered_the_same(backend, model):
    backend.onboard(PHONE)
    model.answer("Una sola vez.")
    first = backend.say(PHONE, "hola", message_id="wamid.ABC")
    again = backend.say(PHONE, "hola", message_id="wamid.ABC")
    assert again["source"] == "duplicate"
    assert again["model_output"]["respuesta_chat"] == first["model_output"]["respuesta_chat"]
    assert backend.db.execute("SELECT COUNT(*) FROM messages WHERE wa_message_id = 'wamid.ABC'").fetchone()[0] == 1
    assert len(model.requests) == 1


def test_opt_out_and_back_in(backend, model):
    backend.onboard(PHONE)
    assert "ya no te enviaré alertas" in backend.say(PHONE, "BAJA")["model_output"]["respuesta_chat"]
    assert backend.db.execute("SELECT opted_out FROM contacts").fetchone()[0] == 1
    backend.say(PHONE, "alta")
    assert backend.db.execute("SELECT opted_out FROM contacts").fetchone()[0] == 0


@pytest.mark.parametrize("body, status, code", [
    ({"phone": "abc", "message": "hola"}, 400, "invalid_phone"),
    ({"phone": "+12", "message": "hola"}, 400, "invalid_phone"),
    ({"message": "hola"}, 400, "invalid_phone"),
    ({"phone": PHONE, "message": ""}, 400, "invalid_request"),
    ({"phone": PHONE, "message": 5}, 400, "invalid_request"),
    ({"phone": PHONE, "message": "a" * 4097}, 400, "message_too_long"),
    ({"phone": PHONE, "message": "hola", "role": 3}, 400, "invalid_request"),
])
def test_bad_input_is_refused_and_nothing_is_written(backend, body, status, code):
    response = backend.client.post("/agent", json=body, headers=AUTH)
    assert response.status_code == status and response.json["error"]["code"] == code
    assert backend.count("contacts") == 0 and backend.count("messages") == 0


def test_malformed_json_and_missing_token(backend):
    bad = backend.client.post("/agent", data=b'{"phone": ', headers=AUTH)
    assert bad.status_code == 400 and bad.json["error"]["code"] == "invalid_json"
    unauthorized = backend.client.post("/agent", json={"phone": PHONE, "message": "hola"})
    assert unauthorized.status_code == 401
    assert backend.count("messages") == 0


def test_contact_whose_plugin_was_switched_off_is_onboarded_again(backend, model):
    backend.onboard(PHONE)
    backend.db.execute("UPDATE contacts SET domain = 'retired'")
    reply = backend.say(PHONE, "hola")
    assert reply["source"] == "onboarding" and "¿Cómo te llamas?" in reply["model_output"]["respuesta_chat"]
    assert backend.say(PHONE, "Rosa")["model_output"]["respuesta_chat"] == "¿En qué ciudad vives?"
    assert "Listo" in backend.say(PHONE, "Cusco")["model_output"]["respuesta_chat"]
    assert backend.db.execute("SELECT domain, onboarding_step FROM contacts").fetchone() == ("example", None)
    assert model.requests == []
