"""Two real model API processes (SmolLM2 GGUF) as one pool behind a real backend process, spoken to
with the OpenAI protocol at their /v1: the load is shared, and when one is killed in the middle
of an answer nothing is lost: the other answers that message and every later one."""
from __future__ import annotations

import threading
import time

import pytest
import requests

from model_api.catalog import TEST_MODEL
from tests.servers import metric_sum, start_backend, start_model_api

TOKEN = "pool-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
QUESTIONS = [f"¿Qué opinas de {topic}?" for topic in ("Cajamarca", "la sierra", "la lluvia", "las montañas",
                                                      "el frío de junio", "el río", "los mercados", "el viento")]
MODEL_ENV = {"MODEL_N_THREADS": "1", "MODEL_API_WARM_UP": "0", "SPEECH_MODEL": "none"}


def metric(backend_url: str, name: str, **labels: str) -> float:
    return metric_sum(backend_url, name, TOKEN, **labels)


def onboard(backend_url: str, phone: str) -> None:
    for text in ("Hola", "Rosa", "Cajamarca"):
        answer = requests.post(f"{backend_url}/agent", headers=AUTH, timeout=60, json={"phone": phone, "message": text})
        assert answer.status_code == 200, answer.text


@pytest.fixture(scope="module")
def two_model_apis(tmp_path_factory, test_model_path):
    directory = tmp_path_factory.mktemp("pool")
    first = start_model_api(directory, TEST_MODEL, **MODEL_ENV)
    try:
        second = start_model_api(directory, TEST_MODEL, **MODEL_ENV)
    except Exception:
        first.stop()
        raise
    yield directory, first, second
    first.stop()
    second.stop()


def test_two_model_apis_share_the_load_and_one_killed_mid_answer_loses_nothing(two_model_apis):
    directory, first, second = two_model_apis
    backend = start_backend(directory, f"{first.url}/v1,{second.url}/v1", BACKEND_TOKEN=TOKEN,
                            BACKEND_MODEL_HEALTH_INTERVAL="1")
    try:
        phones = [f"5195000{n:04d}" for n in range(len(QUESTIONS))]
        for phone in phones:
            onboard(backend.url, phone)
        replies: dict[str, requests.Response] = {}

        def ask(phone: str, question: str) -> None:
            replies[phone] = requests.post(f"{backend.url}/agent", headers=AUTH, timeout=180,
                                           json={"phone": phone, "message": question})
        threads = [threading.Thread(target=ask, args=pair) for pair in zip(phones, QUESTIONS)]
        for thread in threads:
            thread.start()
        name_first, name_second = first.url.removeprefix("http://") + "/v1", second.url.removeprefix("http://") + "/v1"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # kill the first while it is answering, after it answered once
            if metric(backend.url, "chasqui_model_calls_total", endpoint=name_first, outcome="ok") >= 1 and \
                    metric(backend.url, "chasqui_model_outstanding", endpoint=name_first) == 1:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the first model API never answered while others waited")
        first.process.kill()
        for thread in threads:
            thread.join(timeout=240)
        assert sorted(replies) == sorted(phones)
        assert all(r.status_code == 200 for r in replies.values()), [r.text for r in replies.values()]
        answered_first = metric(backend.url, "chasqui_model_calls_total", endpoint=name_first, outcome="ok")
        answered_second = metric(backend.url, "chasqui_model_calls_total", endpoint=name_second, outcome="ok")
        failed_first = metric(backend.url, "chasqui_model_calls_total", endpoint=name_first, outcome="failed")
        assert answered_first >= 1 and answered_second >= 1 and failed_first >= 1  # killed mid-answer
        # every open question got its model answer: the one cut off was answered again by the other
        generated = [r.json()["timings"].get("generate_ms", 0) for r in replies.values()]
        assert all(ms > 0 for ms in generated), [(r.json()["source"], r.json()["timings"], r.json()["model_output"])
                                                 for r in replies.values()]
        assert answered_first + answered_second >= len(QUESTIONS)
        assert metric(backend.url, "chasqui_model_calls_total", outcome="failed") == failed_first
        sources = {r.json()["source"] for r in replies.values()}
        assert "quota" not in sources and all(r.json()["model_output"]["respuesta_chat"] for r in replies.values())
        # streamed: first-token time and tokens per second measured per endpoint
        assert metric(backend.url, "chasqui_model_first_token_seconds_count", endpoint=name_second) >= 1
        assert metric(backend.url, "chasqui_model_tokens_per_second_count", endpoint=name_second) >= 1
        health = requests.get(f"{backend.url}/health", timeout=20).json()
        by_url = {e["url"]: e for e in health["model_endpoints"]}
        assert by_url[name_first]["healthy"] is False and by_url[name_second]["healthy"] is True
        assert by_url[name_second]["engine"] == "chasqui" and by_url[name_second]["slots"] == 1
        assert health["status"] == "ok"
        after = requests.post(f"{backend.url}/agent", headers=AUTH, timeout=120,
                              json={"phone": phones[0], "message": "¿y qué opinas de la luna?"})
        assert after.status_code == 200 and after.json()["timings"].get("generate_ms", 0) > 0
    finally:
        backend.stop()


def test_the_seed_chat_and_v1_protocols_serve_in_one_pool(two_model_apis):
    directory, _, second = two_model_apis
    backend = start_backend(directory, f"{second.url},{second.url}/v1", BACKEND_TOKEN=TOKEN)
    try:
        phones = ["51950009001", "51950009002"]
        for phone in phones:
            onboard(backend.url, phone)
        threads = [threading.Thread(target=requests.post, args=(f"{backend.url}/agent",),
                                    kwargs={"headers": AUTH, "timeout": 120,
                                            "json": {"phone": phone, "message": question}})
                   for phone, question in zip(phones, QUESTIONS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=150)
        name = second.url.removeprefix("http://")
        assert metric(backend.url, "chasqui_model_calls_total", endpoint=name, outcome="ok") >= 1  # /chat
        assert metric(backend.url, "chasqui_model_calls_total", endpoint=f"{name}/v1", outcome="ok") >= 1
    finally:
        backend.stop()
