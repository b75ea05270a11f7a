"""Starting real Chasqui services for tests: subprocesses on loopback ports, bounded in time,
always stopped at teardown."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from werkzeug.serving import make_server

from tests.databases import database_env

REPO = Path(__file__).resolve().parents[1]
CHASQUI = [sys.executable, "-m", "chasqui.cli"]


@contextmanager
def served_in_thread(app, name: str) -> Iterator[str]:
    """A Flask app served by werkzeug on a loopback port in this process (for a browser to reach
    it); yields its URL and stops it on leaving."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RunningService:
    def __init__(self, command: list[str], env: dict[str, str], port: int, log_path: Path):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(command, env=env, cwd=REPO, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"service exited with {self.process.returncode}:\n{self.log()}")
            try:
                if requests.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"service not ready after {timeout_s} s:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._log.close()


def agent_caller(backend_url: str, token: str, phone: str):
    """say(text) -> the backend's /agent answer for this phone, over HTTP, asserting a 200."""
    def say(text: str) -> dict:
        response = requests.post(f"{backend_url}/agent", json={"phone": phone, "message": text},
                                 headers={"Authorization": f"Bearer {token}"}, timeout=120)
        assert response.status_code == 200, response.text
        return response.json()
    return say


def metric_sum(url: str, name: str, token: str = "", **labels: str) -> float:
    """The sum of one series of a service's /metrics (a sample name: `…_total`, `…_count`, `…_sum`)
    over every label set that has these labels."""
    from prometheus_client.parser import text_string_to_metric_families

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    text = requests.get(f"{url}/metrics", headers=headers, timeout=10).text
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()))


def service_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODEL_", "CHASQUI_MODEL"))}
    env.update(overrides)
    return env


def start_model_api(tmp_path: Path, model: str, command: list[str] | None = None,
                    **env_overrides: str) -> RunningService:
    port = free_port()
    env = service_env(**{"CHASQUI_MODEL": model, "MODEL_API_PORT": str(port), "MODEL_N_CTX": "2048", **env_overrides})
    service = RunningService(command or CHASQUI + ["model-api"], env, port, tmp_path / f"model-api-{port}.log")
    return _ready(service)


def wait_for_speech(model_api_url: str, timeout_s: float = 120) -> None:
    """Until the model API's speech engine (which loads after the LLM) says it is ready; at once an
    error when it says it never will be (failed, missing, disabled)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        speech = requests.get(f"{model_api_url}/health", timeout=5).json().get("speech", {})
        if speech.get("status") == "ready":
            return
        if speech.get("status") in ("failed", "missing", "disabled"):
            raise RuntimeError(f"the model API has no speech engine: {speech}")
        time.sleep(0.2)
    raise TimeoutError("the speech engine did not load")


def start_backend(tmp_path: Path, model_url: str, port: int | None = None, **env_overrides: str) -> RunningService:
    port = port or free_port()
    # No warm-up requests unless asked: a scripted model would count them as the test's own.
    env = service_env(**{"BACKEND_PORT": str(port), "MODEL_API_URL": model_url, "BACKEND_WARM_UP": "0",
                         **database_env(tmp_path / "backend.db"), **env_overrides})
    # the backend's /health answers 200 unless its database is down
    service = _ready(RunningService(CHASQUI + ["backend"], env, port, tmp_path / f"backend-{port}.log"))
    service.database = env.get("BACKEND_DATABASE_URL") or env["BACKEND_DB_PATH"]  # what a test opens to look
    return service


def _ready(service: RunningService) -> RunningService:
    """The service once it answers /health with 200; stopped, never left running, if it does not."""
    try:
        service.wait_ready()
    except Exception:
        service.stop()
        raise
    return service
