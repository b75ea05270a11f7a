"""Bad input gets a 4xx JSON error that names the problem; the service keeps serving."""
import requests


def post(api, path, data=None, json_body=None, headers=None):
    return requests.post(f"{api.url}{path}", data=data, json=json_body, headers=headers, timeout=60)


def assert_error(response, status, code, mentions=None):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code, error
    if mentions:
        assert mentions in error["message"], error


def test_malformed_json(small_api):
    assert_error(post(small_api, "/chat", data=b'{"system": "x", "context": '), 400, "invalid_json", "malformed JSON")
    assert_error(post(small_api, "/chat", data=b"\xff\xfe not utf-8"), 400, "invalid_json")
    assert_error(post(small_api, "/chat", data=b""), 400, "invalid_json", "empty")
    assert_error(post(small_api, "/v1/chat/completions", data=b"[1, 2"), 400, "invalid_json")


def test_json_that_python_parses_but_nothing_can_use_is_400(small_api):
    for body, mentions in [(b'{"system": "x", "context": "c", "max_tokens": 1' + b"0" * 5000 + b"}", "digits"),
                           (b"[" * 1500 + b"]" * 1500, "nested"),
                           (b'{"system": "x", "context": "c", "temperature": NaN}', "NaN"),
                           (b'{"system": "x", "context": "c", "temperature": 1e999}', "too large"),
                           (b'{"system": "x", "context": "\\ud800"}', "surrogate")]:
        assert_error(post(small_api, "/chat", data=body), 400, "invalid_json", mentions)
        assert_error(post(small_api, "/v1/chat/completions", data=body), 400, "invalid_json", mentions)


def test_missing_and_wrong_typed_fields(small_api):
    assert_error(post(small_api, "/chat", json_body=[1, 2]), 400, "invalid_request", "JSON object")
    assert_error(post(small_api, "/chat", json_body={"context": {}}), 400, "invalid_request", "'system'")
    assert_error(post(small_api, "/chat", json_body={"system": "s"}), 400, "invalid_request", "'context'")
    assert_error(post(small_api, "/chat", json_body={"system": "s", "context": 5}), 400, "invalid_request", "'context'")
    assert_error(post(small_api, "/chat", json_body={"system": 3, "context": "c"}), 400, "invalid_request", "'system'")
    assert_error(post(small_api, "/chat", json_body={"system": "s", "context": "c", "temperature": "hot"}),
                 400, "invalid_request", "'temperature'")
    assert_error(post(small_api, "/chat", json_body={"system": "s", "context": "c", "schema": "nope"}),
                 400, "invalid_request", "'schema'")
    assert_error(post(small_api, "/v1/chat/completions", json_body={"messages": [{"role": "robot", "content": "x"}]}),
                 400, "invalid_request", "messages[0].role")
    assert_error(post(small_api, "/v1/chat/completions", json_body={"messages": [{"role": "user", "content": 7}]}),
                 400, "invalid_request", "messages[0].content")
    assert_error(post(small_api, "/v1/chat/completions",
                      json_body={"messages": [{"role": "user", "content": "x"}], "n": 2}), 400, "invalid_request", "n=1")
    assert_error(post(small_api, "/v1/chat/completions",
                      json_body={"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "xml"}}),
                 400, "invalid_request", "response_format")


def test_max_tokens_out_of_range(small_api):
    for bad in (0, -5, 10**6):
        assert_error(post(small_api, "/chat", json_body={"system": "s", "context": "c", "max_tokens": bad}),
                     400, "max_tokens_out_of_range", "between 1 and 1024")
    assert_error(post(small_api, "/chat", json_body={"system": "s", "context": "c", "max_tokens": "300"}),
                 400, "invalid_request", "whole number")
    assert_error(post(small_api, "/v1/chat/completions",
                      json_body={"messages": [{"role": "user", "content": "x"}], "max_tokens": 5000}),
                 400, "max_tokens_out_of_range")


def test_context_longer_than_the_window_is_413(small_api):
    long_context = "la chacra necesita agua " * 600  # ~3,000 tokens; the test server's window is 2,048
    response = post(small_api, "/chat", json_body={"system": "s", "context": long_context})
    assert_error(response, 413, "context_length_exceeded", "context window is 2048 tokens")
    response = post(small_api, "/v1/chat/completions",
                    json_body={"messages": [{"role": "user", "content": long_context}], "stream": True})
    assert_error(response, 413, "context_length_exceeded")


def test_body_over_the_size_limit_is_413(small_api):
    response = post(small_api, "/chat", data=b'{"system": "' + b"a" * 1_100_000 + b'"}')
    assert_error(response, 413, "body_too_large", "MODEL_API_MAX_BODY_BYTES")


def test_unknown_routes_and_methods_answer_json(small_api):
    assert_error(requests.get(f"{small_api.url}/nope", timeout=10), 404, "not_found")
    assert_error(requests.get(f"{small_api.url}/chat", timeout=10), 405, "method_not_allowed")


def test_service_still_answers_after_bad_input(small_api):
    response = post(small_api, "/v1/chat/completions",
                    json_body={"messages": [{"role": "user", "content": "hola"}], "max_tokens": 3})
    assert response.status_code == 200, response.text
