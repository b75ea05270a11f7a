"""The model URL settings: one or more URLs, the protocol from the path, a token per URL."""
import pytest

from backend.agent.model_endpoints import EndpointSettingError, parse_endpoints
from backend.settings import load_settings, model_endpoint_specs


def test_a_v1_url_speaks_openai_and_any_other_the_seed_chat():
    specs = parse_endpoints("http://127.0.0.1:8001, http://gpu1:8000/v1/ ,https://api.example.org/v1", "", "model",
                            "MODEL_API_URL")
    assert [(s.url, s.protocol) for s in specs] == [("http://127.0.0.1:8001", "chasqui"), ("http://gpu1:8000/v1", "openai"),
                                                    ("https://api.example.org/v1", "openai")]
    assert [s.name for s in specs] == ["127.0.0.1:8001", "gpu1:8000/v1", "api.example.org/v1"]


def test_one_token_serves_every_url_or_one_per_url_in_order():
    assert {s.token for s in parse_endpoints("http://a:1,http://b:2", "secret", "model", "X")} == {"secret"}
    assert [s.token for s in parse_endpoints("http://a:1,http://b:2/v1", "one, two", "model", "X")] == ["one", "two"]
    with pytest.raises(EndpointSettingError, match="2 URLs but its token setting 3"):
        parse_endpoints("http://a:1,http://b:2", "x,y,z", "model", "MODEL_API_URL")


def test_a_fragment_states_slots_engine_and_model():
    spec, = parse_endpoints("http://gpu1:8000/v1#slots=16&engine=vllm&model=Qwen/Qwen2.5-7B-Instruct", "", "model", "X")
    assert (spec.slots, spec.engine, spec.model, spec.url) == (16, "vllm", "Qwen/Qwen2.5-7B-Instruct", "http://gpu1:8000/v1")


@pytest.mark.parametrize("raw, message", [
    ("gpu1:8000/v1", "not an http"), ("ftp://gpu1/v1", "not an http"), ("http://user:pw@gpu1/v1", "token setting"),
    ("http://gpu1/v1#slots=0", "slots"), ("http://gpu1/v1#slots=many", "slots"), ("http://gpu1/v1#slots=999", "slots"),
    ("http://gpu1/v1#engine=tgi", "engine must be one of"), ("http://gpu1/v1#colour=red", "unknown option 'colour'"),
])
def test_a_url_that_cannot_be_used_is_refused_with_the_reason(raw, message):
    with pytest.raises(EndpointSettingError, match=message):
        parse_endpoints(raw, "", "model", "MODEL_API_URL")


def test_the_settings_name_every_tier_and_refuse_a_bad_url_at_start(monkeypatch):
    monkeypatch.setenv("MODEL_API_URL", "http://127.0.0.1:8001,http://127.0.0.1:8003")
    monkeypatch.setenv("SECONDARY_MODEL_API_URL", "http://small:8080/v1")
    monkeypatch.setenv("CLASSIFY_MODEL_API_URL", "http://tiny:8080/v1#slots=4")
    monkeypatch.setenv("MODEL_API_TOKEN", "big")
    monkeypatch.setenv("CLASSIFY_MODEL_API_TOKEN", "tiny")
    settings = load_settings()
    specs = model_endpoint_specs(settings)
    assert [(s.tier, s.name, s.token) for s in specs] == [
        ("classify", "tiny:8080/v1", "tiny"), ("model", "127.0.0.1:8001", "big"), ("model", "127.0.0.1:8003", "big"),
        ("secondary", "small:8080/v1", "big")]
    assert settings.speech_api_url == "http://127.0.0.1:8001"  # the first model API serves speech too
    monkeypatch.setenv("MODEL_API_URL", "http://127.0.0.1:8001#slot=2")
    with pytest.raises(EndpointSettingError, match="MODEL_API_URL: unknown option 'slot'"):
        load_settings()
