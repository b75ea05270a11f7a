"""POST /agent through the orchestrator, with a scripted model over real HTTP and a real SQLite file."""
import json
import time

import pytest

from backend.agent import answering
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


def test_a_fact_question_is_answered_by_code_without_a_model_call(backend, model):
    backend.onboard(PHONE)
    reply = backend.say(PHONE, "cuantas notas tengo?")
    assert reply["source"] == "code" and reply["model_output"]["respuesta_chat"] == "Tienes 0 notas guardadas."
    assert reply["model_output"]["estado"] == {"intencion": "contar_notas", "via": "matcher"}
    assert model.requests == [] and model.classify_requests == []


def test_an_open_question_gets_a_budgeted_prompt_with_profile_facts_and_no_history_to_copy(backend, model):
    backend.onboard(PHONE)
    model.answer("Cajamarca es linda en noviembre.")
    reply = backend.say(PHONE, "¿Qué opinas de Cajamarca en noviembre?")
    assert reply["model_output"] == {"role": "consulta", "respuesta_chat": "Cajamarca es linda en noviembre.",
                                     "acciones": {}, "estado": {"intencion": "pregunta_abierta", "via": "matcher"}}
    assert reply["source"] == "model" and reply["timings"]["orchestration_ms"] > 0
    sent = model.requests[-1]
    assert sent["system"].startswith("Eres Chasqui")
    assert set(sent["schema"]["properties"]) == {"respuesta_chat"}  # an answer only: no actions to invent
    context = sent["context"]
    assert context.startswith("Usuario: Rosa, ciudad Cajamarca. hora_local: ") and "notas_guardadas: 0" in context
    assert "Listo, Rosa" not in context  # the small model copies earlier turns into its answer
    assert context.endswith("Pregunta: ¿Qué opinas de Cajamarca en noviembre?")
    assert len(context) <= 820 + 40  # the user part's budget, labels included (backend/agent/answering.py)


def test_an_unclear_message_is_classified_by_the_model_among_the_matchers_candidates(backend, model):
    backend.onboard(PHONE)
    model.classify_as("contar_notas")
    reply = backend.say(PHONE, "brr notitas xyz qwe")  # scores under the matcher's guess threshold
    assert reply["source"] == "code" and reply["model_output"]["estado"] == {"intencion": "contar_notas", "via": "model"}
    asked = model.classify_requests[-1]
    options = asked["schema"]["properties"]["intencion"]["enum"]
    assert sorted(options) == ["contar_notas", "guardar_nota", "pregunta_abierta"]  # no core intent among them
    assert asked["max_tokens"] <= 16 and asked["context"].endswith("Mensaje: «brr notitas xyz qwe»")
    assert "- contar_notas: cuántas notas tiene guardadas" in asked["context"]  # each option described
    assert model.requests == []  # no answer call: code answered


def test_recall_of_older_messages_reaches_an_open_question(backend, model):
    backend.onboard(PHONE)
    contact_id = backend.db.execute("SELECT id FROM contacts").fetchone()[0]
    two_days_ago = time.time() - 2 * 86400
    backend.db.execute("INSERT INTO messages (contact_id, direction, body, created_at) VALUES (?, 'in', ?, ?)",
                       [contact_id, "Me duele la rodilla izquierda al bajar cuestas", two_days_ago])
    model.answer("Me dijiste que te duele la rodilla al bajar.")
    backend.say(PHONE, "¿Qué te dije de mi rodilla?")
    assert "Me duele la rodilla izquierda al bajar cuestas" in model.requests[-1]["context"]


def test_a_knowledge_passage_reaches_an_open_question(backend, model):
    backend.onboard(PHONE)
    backend.db.execute("INSERT INTO knowledge (domain, title, body, updated_at) VALUES (NULL, ?, ?, 0)",
                       ["Gusano cogollero", "Larva que come el cogollo del maíz; revisar 20 plantas por lote."])
    model.answer("Revisa 20 plantas por lote.")
    reply = backend.say(PHONE, "que opinas del gusano cogollero en mi maíz?")
    assert "Guía «Gusano cogollero»: Larva que come el cogollo" in model.requests[-1]["context"]
    assert reply["model_output"]["respuesta_chat"] == "Revisa 20 plantas por lote."


def test_an_answer_that_drifts_from_the_passage_is_replaced_by_the_passage(backend, model):
    backend.onboard(PHONE)
    backend.db.execute("INSERT INTO knowledge (domain, title, body, updated_at) VALUES (NULL, ?, ?, 0)",
                       ["Zapatillas", "## En breve\nCambia las zapatillas cada 550 a 800 km, o antes si ya no amortiguan."])
    model.answer("Cuando cambias las zapatillas, se inclina hacia un lado.")
    reply = backend.say(PHONE, "cada cuanto cambio las zapatillas?")
    assert reply["source"] == "knowledge"
    assert reply["model_output"]["respuesta_chat"] == ("Según mi guía (Zapatillas): Cambia las zapatillas cada 550 a "
                                                       "800 km, o antes si ya no amortiguan.")


def test_a_passage_sharing_one_generic_word_is_not_quoted(backend, model):
    backend.onboard(PHONE)
    backend.db.execute("INSERT INTO knowledge (domain, title, body, updated_at) VALUES (NULL, ?, ?, 0)",
                       ["Gorgojo", "Rote cultivos: no siembre papa al lado de la chacra del año pasado."])
    model.answer("Cubra las plantas por la noche.")
    backend.say(PHONE, "como protejo mi chacra de la helada?")
    assert "Guía" not in model.requests[-1]["context"]


def test_an_answer_that_says_it_does_not_know_is_not_passed_on(backend, model):
    backend.onboard(PHONE)
    model.answer("No sé qué decirte sobre eso, la verdad.")
    reply = backend.say(PHONE, "que opinas de la vida")
    assert reply["source"] == "apology" and reply["model_output"]["respuesta_chat"].startswith("Eso no lo sé")


def test_an_answer_that_only_repeats_the_question_is_not_passed_on(backend, model):
    backend.onboard(PHONE)
    model.answer("El maíz está medio amarillo y chiquito.")
    reply = backend.say(PHONE, "el maiz esta medio amarillo y chiquito, que opinas")
    assert reply["source"] == "apology" and reply["model_output"]["respuesta_chat"].startswith("Eso no lo sé")


def test_an_answer_with_a_word_or_none_of_its_own_is_not_passed_on(backend, model):
    backend.onboard(PHONE)
    for words in ("¡Por supuesto!", "Sí, puedes correr.", "¡Hola! Soy Chasqui, tu asistente por WhatsApp."):
        model.answer(words)
        model.answer(words)  # the second try is no better: the honest reply
        reply = backend.say(PHONE, "puedo correr con gripe")
        assert reply["source"] == "apology" and len(model.requests) % 2 == 0, words


def test_an_answer_that_copies_the_recalled_older_message_is_not_passed_on(backend, model):
    backend.onboard(PHONE)
    model.answer("Cubra las plantas pequeñas al atardecer y riegue la tarde anterior a la helada.")
    assert backend.say(PHONE, "como protejo mis plantas de la helada")["source"] == "model"
    for n in range(11):  # past the short-term window: the answer is now an older message, recalled
        backend.say(PHONE, f"anota: comprar cosa {n}")
    copy = "Cubra las plantas pequeñas al atardecer y riegue la tarde anterior."
    model.answer(copy)
    model.answer("El viento fuerte tumba las plantas de raíz corta: aporque y siembre cortavientos.")
    reply = backend.say(PHONE, "por que se tumban las plantas con el viento")
    first, second = (request["context"] for request in model.requests[-2:])
    assert "Recuerdo:" in first and reply["model_output"]["respuesta_chat"] != copy
    # asked once more without the message it copied, and the second words are the answer
    assert "Recuerdo:" not in second and second.endswith(answering.ASK_AGAIN)
    assert reply["source"] == "model" and "cortavientos" in reply["model_output"]["respuesta_chat"]


def test_a_figure_the_model_invents_is_dropped(backend, model):
    backend.onboard(PHONE)
    model.answer("Tienes 0 notas. Mañana lloverá 35 mm.")  # 0 is in the facts; 35 is nowhere
    assert backend.say(PHONE, "que opinas de mis notas?")["model_output"]["respuesta_chat"] == "Tienes 0 notas."


def test_a_note_is_saved_from_the_users_words_and_undone(backend, model):
    backend.onboard(PHONE)
    output = backend.say(PHONE, "anota: comprar semillas")["model_output"]
    assert output["acciones"] == {"guardar_nota": {"texto": "comprar semillas"}}
    assert output["respuesta_chat"].startswith("Guardé tu nota: comprar semillas")
    assert "deshacer" in output["respuesta_chat"]
    backend.say(PHONE, "Anota: vender papas")
    undone = backend.say(PHONE, "deshacer")
    assert undone["source"] == "action" and "vender papas" in undone["model_output"]["respuesta_chat"]
    data = [json.loads(r[0]) for r in backend.db.execute("SELECT data FROM form_submissions")]
    assert data == [{"texto": "comprar semillas"}]
    assert "No tengo ningún cambio" in backend.say(PHONE, "deshacer")["model_output"]["respuesta_chat"] or \
        backend.count("form_submissions") == 0  # the second «deshacer» takes back the first note
    assert model.requests == []


def test_no_right_after_a_change_undoes_it(backend, model):
    backend.onboard(PHONE)
    backend.say(PHONE, "anota: regar el jueves")
    assert "deshice" in backend.say(PHONE, "no")["model_output"]["respuesta_chat"]
    assert backend.count("form_submissions") == 0


def test_an_action_named_without_its_content_asks_for_it_and_changes_nothing(backend, model):
    backend.onboard(PHONE)
    reply = backend.say(PHONE, "guardame una nota porfa")
    assert reply["model_output"]["respuesta_chat"].startswith("¿Qué nota guardo?")
    assert backend.count("form_submissions") == 0


def test_greetings_thanks_help_and_my_data_are_answered_by_code(backend, model):
    backend.onboard(PHONE)
    hello = backend.say(PHONE, "Hola")
    assert hello["source"] == "code" and "Rosa" in hello["model_output"]["respuesta_chat"]
    assert "guardar una nota" in hello["model_output"]["respuesta_chat"]  # what Chasqui can do here
    assert backend.say(PHONE, "muchas gracias")["model_output"]["estado"]["intencion"] == "gracias"
    assert "deshacer" in backend.say(PHONE, "ayuda")["model_output"]["respuesta_chat"]
    mine = backend.say(PHONE, "que datos tienes de mi?")["model_output"]["respuesta_chat"]
    assert "ciudad: Cajamarca" in mine and PHONE in mine
    assert "No tengo nada pendiente" in backend.say(PHONE, "si")["model_output"]["respuesta_chat"]
    assert model.requests == [] and backend.count("form_submissions") == 0


def test_503_with_retry_after_is_retried(backend, model):
    backend.onboard(PHONE)
    model.fail(503, retry_after="0")
    model.answer("Hola de nuevo.")
    assert backend.say(PHONE, "que opinas de la vida")["source"] == "model"
    assert len(model.requests) == 2


def test_retry_after_longer_than_the_budget_falls_back_at_once(backend, model):
    backend.onboard(PHONE)
    model.fail(503, retry_after="3600")
    started = time.monotonic()
    reply = backend.say(PHONE, "¿que opinas de la vida?")
    assert reply["source"] == "apology" and time.monotonic() - started < 3


def test_model_down_gives_an_apology_keeps_the_message_and_opens_the_circuit(make_backend, model):
    backend = make_backend(model_api_url="http://127.0.0.1:9", breaker_failures=2)  # nothing listens on port 9
    backend.onboard(PHONE)
    for n in range(3):
        reply = backend.say(PHONE, f"pregunta {n}")
        # honest, and it says what Chasqui can do without the model
        assert reply["source"] == "apology" and "guardar una nota" in reply["model_output"]["respuesta_chat"]
    stored = [r[0] for r in backend.db.execute("SELECT body FROM messages WHERE direction = 'in' AND body LIKE 'pregunta%'")]
    assert stored == ["pregunta 0", "pregunta 1", "pregunta 2"]
    health = backend.client.get("/health").json
    assert health["model_circuit"] == {"model": "open"} and health["status"] == "degraded"


def test_secondary_endpoint_answers_when_the_primary_fails(make_backend, model):
    backend = make_backend(model_api_url="http://127.0.0.1:9", secondary_model_api_url=model.url)
    backend.onboard(PHONE)
    model.answer("Te respondo desde el modelo secundario.")
    assert backend.say(PHONE, "que opinas de la vida")["source"] == "secondary"


def test_cached_answer_is_reused_only_for_the_same_question_and_facts(backend, model):
    backend.onboard(PHONE)
    # The example plug-in's facts hold the local time to the minute: both questions in one minute.
    while time.localtime().tm_sec >= 55:
        time.sleep(0.2)
    model.answer("Tus notas son pocas.")
    backend.say(PHONE, "¿Qué opinas de mis notas?")
    model.fail(500)
    cached = backend.say(PHONE, "¿que opinas de mis NOTAS")
    assert cached["source"] == "cache" and cached["model_output"]["respuesta_chat"] == "Tus notas son pocas."
    backend.db.execute("INSERT INTO form_submissions (form_id, contact_id, data, source, created_at) "
                       "VALUES (1, 1, '{}', 'api', 0)")  # the facts change: the cached answer is no longer true
    model.fail(500)
    assert backend.say(PHONE, "¿Qué opinas de mis notas?")["source"] == "apology"


def test_answer_that_does_not_fit_the_schema_is_not_passed_on(backend, model):
    backend.onboard(PHONE)
    model.answer_raw({"respuesta": "otra clave"})
    assert backend.say(PHONE, "que opinas de la vida")["source"] == "apology"


def test_answers_written_past_the_budget_do_not_shut_a_working_model_out(make_backend, model):
    """A cut-off or off-schema answer is the model's words, not a server down: however many come in
    a row, the circuit stays closed and the next question is the model's again."""
    backend = make_backend(breaker_failures=2)
    backend.onboard(PHONE)
    for n in range(4):
        model.cut_off() if n % 2 else model.answer_raw({"respuesta": "otra clave"})
        assert backend.say(PHONE, f"que opinas de la pregunta {n}")["source"] == "apology"
    assert backend.client.get("/health").json["model_circuit"] == {"model": "closed"}
    model.answer("Ahora sí te respondo.")
    assert backend.say(PHONE, "que opinas de la lluvia de hoy")["source"] == "model"
    assert len(model.requests) == 5  # one call per question: none skipped behind an open circuit


def test_daily_quota(make_backend, model):
    backend = make_backend(daily_model_calls=1)
    backend.onboard(PHONE)
    model.answer("Primera respuesta.")
    assert backend.say(PHONE, "que opinas de la lluvia")["source"] == "model"
    reply = backend.say(PHONE, "que opinas del sol")
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
        assert backend.say(PHONE, "que opinas de la lluvia")["source"] == "model"
        assert backend.say(PHONE, "que opinas del sol")["source"] == "secondary"
        assert backend.say(PHONE, "que opinas del viento")["source"] == "quota"
        assert (len(model.requests), len(small.requests)) == (1, 1)
        assert backend.db.execute("SELECT endpoint, calls FROM model_calls ORDER BY endpoint").fetchall() == [
            ("model", 1), ("secondary", 1)]
    finally:
        small.stop()


def test_retried_webhook_is_stored_once_and_answered_the_same(backend, model):
    backend.onboard(PHONE)
    model.answer("Una sola vez.")
    first = backend.say(PHONE, "que opinas de la vida", message_id="wamid.ABC")
    again = backend.say(PHONE, "que opinas de la vida", message_id="wamid.ABC")
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
    ({"phone": "+５１９８７６５４３２１", "message": "hola"}, 400, "invalid_phone"),  # full-width digits
    ({"phone": "+٥١٩٨٧٦٥٤٣٢١", "message": "hola"}, 400, "invalid_phone"),  # Arabic-Indic digits
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


@pytest.mark.parametrize("raw, mentions", [
    (b'{"phone": "+51987654321", "message": "hola", "n": 1' + b"0" * 5000 + b"}", "digits"),
    (b'{"phone": "+51987654321", "message": ' + b"[" * 1500 + b"]" * 1500 + b"}", "nested"),
    (b'{"phone": "+51987654321", "message": "hola", "n": NaN}', "NaN"),
    (b'{"phone": "+51987654321", "message": "\\ud800 hola"}', "surrogate"),
])
def test_json_nothing_can_use_is_a_400_that_says_why_and_writes_nothing(backend, raw, mentions):
    response = backend.client.post("/agent", data=raw, headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_json"
    assert mentions in response.json["error"]["message"]
    assert backend.count("contacts") == 0 and backend.count("messages") == 0


def test_malformed_json_and_missing_token(backend):
    bad = backend.client.post("/agent", data=b'{"phone": ', headers=AUTH)
    assert bad.status_code == 400 and bad.json["error"]["code"] == "invalid_json"
    unauthorized = backend.client.post("/agent", json={"phone": PHONE, "message": "hola"})
    assert unauthorized.status_code == 401
    assert backend.count("messages") == 0


def test_an_onboarding_answer_in_other_scripts_digits_is_asked_again(make_backend, model):
    backend = make_backend(plugins=("example", "agro"))
    backend.say(PHONE, "hola")
    reply = backend.say(PHONE, "፩")  # str.isdigit() says yes, int() says no
    assert "Responde con el número" in reply["model_output"]["respuesta_chat"]


def test_contact_whose_plugin_was_switched_off_is_onboarded_again(backend, model):
    backend.onboard(PHONE)
    backend.db.execute("UPDATE contacts SET domain = 'retired'")
    backend.db.execute("UPDATE profiles SET data = '{\"parcela\": 3}', sources = '{}'")  # the retired domain's fields
    reply = backend.say(PHONE, "hola")
    assert reply["source"] == "onboarding" and "¿En qué ciudad vives?" in reply["model_output"]["respuesta_chat"]
    assert "¿Cómo te llamas?" not in reply["model_output"]["respuesta_chat"]  # the name is known
    assert "Listo, Rosa" in backend.say(PHONE, "Cusco")["model_output"]["respuesta_chat"]
    assert backend.db.execute("SELECT domain, onboarding_step FROM contacts").fetchone() == ("example", None)
    assert model.requests == []
