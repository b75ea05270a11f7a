"""`chasqui model servers --ask`: what the backend's settings name, checked against a real model API
by both protocols, and a server that is down named as such (exit code 1); the warm-up, by both too."""
from backend.agent.model_check import SCHEMA, SYSTEM
from backend.agent.model_client import client_for
from chasqui.cli import main


def test_every_model_server_is_listed_checked_and_asked(monkeypatch, capsys, small_api):
    monkeypatch.setenv("MODEL_API_URL", f"{small_api.url},{small_api.url}/v1")
    monkeypatch.setenv("CLASSIFY_MODEL_API_URL", f"{small_api.url}/v1#slots=2")
    monkeypatch.setenv("SECONDARY_MODEL_API_URL", "")
    assert main(["model", "servers", "--ask"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and all("up (" in line and "answered in" in line for line in lines), lines
    classify, seed, openai = lines
    assert classify.startswith("classify") and "slots=2" in classify and "engine=chasqui" in classify
    assert " chasqui " in seed and "slots=1" in seed
    assert " openai " in openai and "engine=chasqui" in openai and "model=smollm2" in openai.lower()


def test_a_server_that_is_down_fails_the_check(monkeypatch, capsys):
    monkeypatch.setenv("MODEL_API_URL", "http://127.0.0.1:9/v1")
    monkeypatch.delenv("CLASSIFY_MODEL_API_URL", raising=False)
    monkeypatch.delenv("SECONDARY_MODEL_API_URL", raising=False)
    assert main(["model", "servers", "--ask"]) == 1
    out = capsys.readouterr().out
    assert "DOWN (ConnectionError)" in out and "answered" not in out


def test_a_bad_url_setting_is_refused_with_its_reason(monkeypatch, capsys):
    monkeypatch.setenv("MODEL_API_URL", "http://127.0.0.1:8001#slots=zero")
    assert main(["model", "servers"]) == 2
    assert "bad setting: MODEL_API_URL: slots must be a whole number" in capsys.readouterr().err


def test_the_warm_up_reaches_every_server_by_its_own_protocol(small_api):
    both = client_for(f"{small_api.url},{small_api.url}/v1")
    assert both.warm_up([(SYSTEM, SCHEMA)]) == 2
    assert client_for("http://127.0.0.1:9/v1").warm_up([(SYSTEM, SCHEMA)], give_up_after_s=0.5) == 0
