"""Saved system-prompt states (model_api/prefix_states.py), on real models over HTTP: switching
back to a system prompt restores its state instead of evaluating it again, the answers are the
ones a model API without the cache gives, the LRU keeps MODEL_API_PREFIX_STATES states, 0 turns
it off."""
import requests

from model_api.catalog import DEFAULT_MODEL, TEST_MODEL
from tests.servers import start_model_api

# Two plug-ins' fixed prompts, as the backend sends them: a classifier and a generator.
CLASSIFIER = (
    "Eres el clasificador de intenciones del asistente de entrenamiento de Chasqui. Lee el mensaje "
    "de la persona y decide qué quiere. Las intenciones posibles son: registrar_carrera (cuenta una "
    "carrera o un entrenamiento que ya hizo, con distancia, tiempo o ritmo), pedir_plan (quiere saber "
    "qué entrenar hoy, esta semana o para una carrera), consultar_progreso (pregunta cómo va, cuánto "
    "corrió, si mejoró), lesion (cuenta un dolor, una molestia o una lesión), saludo (solo saluda o "
    "agradece) y otro (cualquier otra cosa). Si el mensaje mezcla varias, elige la más urgente: una "
    "lesión va antes que todo lo demás. No inventes datos que el mensaje no dice. Responde solo con "
    "un objeto JSON con la clave intencion y, si corresponde, las claves distancia_km, minutos y "
    "ritmo_min_km como números. Ejemplos: 'corrí 10 km en 55 minutos' es registrar_carrera con "
    "distancia_km 10 y minutos 55; '¿qué hago mañana?' es pedir_plan; 'me duele la rodilla' es lesion."
)
GENERATOR = (
    "Eres Chasqui, un asistente agrícola que habla con productores de la sierra por WhatsApp. Escribe "
    "en español sencillo, con frases cortas y sin tecnicismos. Usa solo los hechos que te da el "
    "sistema: el cultivo, el lote, el suelo, la lámina de riego recomendada en milímetros, el pronóstico "
    "de lluvia y las alertas de plagas cercanas. Si falta un dato, dilo y pide solo ese dato. Nunca "
    "recomiendes agroquímicos por su marca; nombra el principio activo y recuerda leer la etiqueta. "
    "Cuando des una recomendación de riego, di cuándo regar, cuánto tiempo y por qué, en ese orden. "
    "Si hay una alerta de plaga a menos de diez kilómetros, menciónala primero. Termina con una "
    "pregunta corta solo si necesitas algo de la persona. No saludes dos veces en la misma conversación."
)


def chat(api, system: str, question: str, max_tokens: int = 24) -> dict:
    response = requests.post(f"{api.url}/v1/chat/completions", json={
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": question}],
        "max_tokens": max_tokens, "temperature": 0, "seed": 7, "ignore_eos": True,
    }, timeout=300)
    assert response.status_code == 200, response.text
    return response.json()


def seed_chat(api, system: str, message: str) -> dict:
    schema = {"type": "object", "properties": {"intencion": {"enum": ["riego", "plaga", "otro"]}},
              "required": ["intencion"], "additionalProperties": False}
    response = requests.post(f"{api.url}/chat", json={
        "system": system, "context": {"mensaje": message}, "schema": schema, "max_tokens": 40,
        "temperature": 0, "seed": 7,
    }, timeout=300)
    assert response.status_code == 200, response.text
    return response.json()


def cached(body: dict) -> int:
    return body["usage"]["prompt_tokens_details"]["cached_tokens"]


def metrics(api) -> dict[str, float]:
    samples = {}
    for line in requests.get(f"{api.url}/metrics", timeout=10).text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def alternate(api) -> list[dict]:
    """Classifier, generator, classifier again, then the generator through /chat."""
    return [
        chat(api, CLASSIFIER, "corrí 8 km en 45 minutos"),
        chat(api, GENERATOR, "¿Cuándo riego mi maíz del lote 1?"),
        chat(api, CLASSIFIER, "¿qué entreno mañana?"),
        seed_chat(api, GENERATOR, "vi gusano cogollero en el lote 2"),
    ]


def test_switching_back_restores_the_system_prompt_with_the_same_answers(tmp_path):
    # No warm-up: the first two requests really meet their system prompts for the first time.
    api = start_model_api(tmp_path, DEFAULT_MODEL, MODEL_API_WARM_UP="0")
    try:
        with_cache = alternate(api)
        counts = metrics(api)
    finally:
        api.stop()
    baseline_api = start_model_api(tmp_path, DEFAULT_MODEL, MODEL_API_WARM_UP="0", MODEL_API_PREFIX_STATES="0")
    try:
        without_cache = alternate(baseline_api)
    finally:
        baseline_api.stop()

    first, second, third, fourth = with_cache
    assert cached(first) < 10 and cached(second) < 10  # only the template's first tokens are shared
    for body in (third, fourth):  # the whole system prompt comes back; only the user turn is evaluated
        prompt = body["usage"]["prompt_tokens"]
        assert cached(body) >= 0.8 * prompt and prompt - cached(body) < 40, body["usage"]
    assert cached(without_cache[2]) < 10 and cached(without_cache[3]) < 10
    assert counts["chasqui_model_prefix_state_hits_total"] == 2
    assert counts["chasqui_model_prefix_state_misses_total"] == 2
    assert counts["chasqui_model_prefix_states"] == 2
    assert counts["chasqui_model_prefix_state_restored_tokens_total"] == cached(third) + cached(fourth)
    # ~12.3 KB per token of the two system prompts on this model
    per_token = counts["chasqui_model_prefix_state_bytes"] / (cached(third) + cached(fourth))
    assert 11_000 < per_token < 14_000, per_token
    # Greedy decoding from a restored state gives exactly what evaluating the prompt gives.
    assert [b["choices"][0]["message"]["content"] for b in with_cache[:3]] == \
        [b["choices"][0]["message"]["content"] for b in without_cache[:3]]
    assert fourth["content"] == without_cache[3]["content"]


def system_prompt(topic: str) -> str:
    # the topic first, so that two of these prompts share only the template's first tokens
    return (f"{topic.capitalize()}: es el único tema del que hablas. Responde en español, en una o dos "
            f"frases, sin inventar datos. Si la pregunta no trata de {topic}, dilo con amabilidad y "
            f"ofrece ayuda con {topic}. No uses listas ni emojis. Trata a la persona de tú.")


def test_the_lru_keeps_the_configured_number_of_states(tmp_path, test_model_path):
    api = start_model_api(tmp_path, TEST_MODEL, MODEL_API_WARM_UP="0", MODEL_API_PREFIX_STATES="2")
    try:
        a, b, c = (system_prompt(topic) for topic in ("riego", "plagas del maíz", "carreras de montaña"))
        for system in (a, b, c):  # c evicts a, the least recently used
            assert cached(chat(api, system, "hola", max_tokens=2)) < 10
        after_three = metrics(api)
        assert after_three["chasqui_model_prefix_states"] == 2
        assert after_three["chasqui_model_prefix_state_evictions_total"] == 1
        assert cached(chat(api, b, "hola", max_tokens=2)) > 40  # b is still saved: restored
        assert cached(chat(api, a, "hola", max_tokens=2)) < 10  # a was evicted: evaluated, evicts c
        assert cached(chat(api, b, "hola", max_tokens=2)) > 40  # b was used recently: kept
        assert cached(chat(api, c, "hola", max_tokens=2)) < 10  # c was evicted
        final = metrics(api)
        assert final["chasqui_model_prefix_states"] == 2
        assert final["chasqui_model_prefix_state_evictions_total"] == 3
        assert final["chasqui_model_prefix_state_hits_total"] == 2
        assert final["chasqui_model_prefix_state_misses_total"] == 5
        assert 0 < final["chasqui_model_prefix_state_bytes"] < after_three["chasqui_model_prefix_state_bytes"] * 1.5
    finally:
        api.stop()


def test_zero_states_disables_the_cache(tmp_path, test_model_path):
    api = start_model_api(tmp_path, TEST_MODEL, MODEL_API_PREFIX_STATES="0")
    try:
        a, b = system_prompt("riego"), system_prompt("carreras de montaña")
        bodies = [chat(api, system, "hola", max_tokens=2) for system in (a, b, a)]
        assert cached(bodies[2]) < 10
        repeat = chat(api, a, "¿y mañana?", max_tokens=2)  # the live KV cache still works as before
        assert cached(repeat) > 40
        counts = metrics(api)
        assert counts["chasqui_model_prefix_states"] == 0
        assert counts["chasqui_model_prefix_state_bytes"] == 0
        assert counts["chasqui_model_prefix_state_hits_total"] == 0
        assert counts["chasqui_model_prefix_state_misses_total"] == 0
    finally:
        api.stop()
