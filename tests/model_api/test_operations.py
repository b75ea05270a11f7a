"""What an operator relies on: the token, JSON logs, Prometheus metrics, `chasqui up`."""
import json
import subprocess

import pytest
import requests

from model_api.catalog import TEST_MODEL
from tests.servers import CHASQUI, REPO, free_port, service_env, start_model_api

TOKEN = "s3cret-token-for-tests"


@pytest.fixture(scope="module")
def guarded_api(tmp_path_factory, test_model_path):
    api = start_model_api(tmp_path_factory.mktemp("guarded"), TEST_MODEL, MODEL_API_TOKEN=TOKEN)
    yield api
    api.stop()


def test_token_is_required_except_for_health(guarded_api):
    body = {"system": "JSON", "context": "hola", "seed": 2}
    assert requests.post(f"{guarded_api.url}/chat", json=body, timeout=30).status_code == 401
    wrong = requests.post(f"{guarded_api.url}/chat", json=body, headers={"Authorization": "Bearer nope"}, timeout=30)
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthorized"
    assert requests.get(f"{guarded_api.url}/v1/models", timeout=10).status_code == 401
    assert requests.get(f"{guarded_api.url}/metrics", timeout=10).status_code == 401
    assert requests.get(f"{guarded_api.url}/health", timeout=10).status_code == 200
    tiny = {"messages": [{"role": "user", "content": "hola"}], "max_tokens": 3}
    right = requests.post(f"{guarded_api.url}/v1/chat/completions", json=tiny,
                          headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    assert right.status_code == 200, right.text


def test_logs_are_one_json_object_per_line(guarded_api):
    requests.get(f"{guarded_api.url}/health", timeout=10)
    lines = [line for line in guarded_api.log().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    assert {r["service"] for r in records} == {"model_api"}
    assert any(r["message"] == "model ready" for r in records)
    assert any(r["message"] == "request" and r["path"] == "/health" and r["status"] == 200 for r in records)


def test_metrics_count_requests_tokens_and_speed(small_api):
    requests.post(f"{small_api.url}/v1/chat/completions",
                  json={"messages": [{"role": "user", "content": "hi"}], "max_tokens": 8, "ignore_eos": True},
                  timeout=60)
    text = requests.get(f"{small_api.url}/metrics", timeout=10).text
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    assert samples['chasqui_model_requests_total{endpoint="/v1/chat/completions",status="200"}'] >= 1
    assert samples["chasqui_model_completion_tokens_total"] >= 8
    assert samples["chasqui_model_generation_tokens_per_second_count"] >= 1
    assert samples["chasqui_model_queue_depth"] == 0
    assert samples["chasqui_model_ready"] == 1


def test_chasqui_up_runs_the_stack_and_a_sample_conversation(tmp_path, test_model_path):
    result = subprocess.run(CHASQUI + ["up", "--once", "--port", str(free_port())],
                            env=service_env(CHASQUI_MODEL=TEST_MODEL, MODEL_N_CTX="2048", BACKEND_PORT="0",
                                            BACKEND_DB_PATH=str(tmp_path / "up.db"), BRIDGE_PORT="0",
                                            BRIDGE_STATE_PATH=str(tmp_path / "bridge.db")),
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    replies = [line for line in lines if line.startswith("  < ")]
    assert len(replies) == 4, result.stdout
    assert "¿Cómo te llamas?" in replies[0]
    assert "Listo, Rosa" in replies[2]
    assert len(replies[3]) > len("  < ") + 10  # SmolLM may fail the schema (an apology); never a crash
    assert "WhatsApp bridge (simulator)" in result.stdout


def test_chasqui_up_as_dev_up_runs_it_plays_a_producer_asking_when_to_irrigate(tmp_path, test_model_path):
    def up() -> tuple[subprocess.CompletedProcess, list[str]]:
        result = subprocess.run(CHASQUI + ["up", "--once", "--port", str(free_port())],
                                env=service_env(CHASQUI_MODEL=TEST_MODEL, MODEL_N_CTX="2048", BACKEND_PORT="0",
                                                BACKEND_DB_PATH=str(tmp_path / "up.db"), BRIDGE_PORT="0",
                                                BRIDGE_STATE_PATH=str(tmp_path / "bridge.db"),
                                                BACKEND_PLUGINS="agro,running,example",
                                                # loopback only: the weather service is "down", the advice an estimate
                                                AGRO_OPEN_METEO_URL="http://127.0.0.1:9",
                                                AGRO_GEOCODING_URL="http://127.0.0.1:9"),
                                cwd=REPO, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        # each reply as printed: from its "  < " to the next message (a reply may span lines)
        turns = result.stdout.split("\n  > ")[1:]
        return result, [turn.split("  < ", 1)[1].split("\n\nReady.")[0] for turn in turns if "  < " in turn]

    result, replies = up()
    assert len(replies) == 4, result.stdout
    assert "Anoté: maíz y Huaral" in replies[0] and "¿Cuándo sembraste?" in replies[0]  # the first message counts
    assert "¡Listo!" in replies[1] and "tu maíz" in replies[1] and " mm" in replies[1]  # its question, answered
    assert "cómo riegas" in replies[1]  # soil and irrigation asked once, after the first answer
    assert replies[2].startswith("Anoté: riego por goteo") and " mm, unas " in replies[2]  # now in hours too
    assert "tu maíz" in replies[3] and " mm, unas " in replies[3]  # the FAO-56 balance, from code
    # A second run on the same database: Rosa is known, so only her question is asked again.
    result, replies = up()
    assert len(replies) == 1 and "tu maíz" in replies[0] and " mm, unas " in replies[0], result.stdout
