"""Busy and slow: a full queue answers 503 with Retry-After at once; a request over its time limit
answers 504 and frees the model; a client that hangs up mid-stream stops its generation."""
import threading
import time

import requests

from model_api.catalog import TEST_MODEL
from tests.servers import start_model_api

LONG = {"messages": [{"role": "user", "content": "Tell a long story."}], "max_tokens": 300, "ignore_eos": True}


def queue_depth(api) -> int:
    return requests.get(f"{api.url}/health", timeout=10).json()["queue_depth"]


def wait_for_depth(api, depth: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while queue_depth(api) != depth:
        assert time.monotonic() < deadline, f"queue depth never reached {depth}"
        time.sleep(0.05)


def test_full_queue_is_refused_with_retry_after(tmp_path):
    api = start_model_api(tmp_path, TEST_MODEL, MODEL_API_QUEUE_SIZE="1", MODEL_API_REQUEST_TIMEOUT="120")
    answers = []
    try:
        def send():
            answers.append(requests.post(f"{api.url}/v1/chat/completions", json=LONG, timeout=60).status_code)

        running = threading.Thread(target=send)
        running.start()
        wait_for_depth(api, 1)  # being computed
        waiting = threading.Thread(target=send)
        waiting.start()
        wait_for_depth(api, 2)  # one computing, one in the queue: the queue (size 1) is full
        refused = requests.post(f"{api.url}/v1/chat/completions", json=LONG, timeout=10)
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "queue_full"
        assert int(refused.headers["Retry-After"]) >= 1
        running.join(60)
        waiting.join(60)
        assert answers == [200, 200]  # the two admitted requests were both served
    finally:
        api.stop()


def test_request_over_its_time_limit_is_504_and_frees_the_model(tmp_path):
    api = start_model_api(tmp_path, TEST_MODEL, MODEL_API_REQUEST_TIMEOUT="1.5")
    try:
        started = time.monotonic()
        response = requests.post(f"{api.url}/v1/chat/completions", json={**LONG, "max_tokens": 1024}, timeout=30)
        assert response.status_code == 504
        assert response.json()["error"]["code"] == "timeout"
        assert time.monotonic() - started < 10
        wait_for_depth(api, 0)
        quick = requests.post(f"{api.url}/v1/chat/completions", json={**LONG, "max_tokens": 3}, timeout=30)
        assert quick.status_code == 200, quick.text
    finally:
        api.stop()


def test_client_hanging_up_mid_stream_stops_generation(small_api):
    with requests.post(f"{small_api.url}/v1/chat/completions", json={**LONG, "max_tokens": 1024, "stream": True},
                       stream=True, timeout=30) as response:
        assert response.status_code == 200
        lines = response.iter_lines()
        for _ in range(5):
            next(lines)
    # 1,024 tokens would take far longer; the worker notices the closed socket at its next write.
    wait_for_depth(small_api, 0, timeout_s=8)
