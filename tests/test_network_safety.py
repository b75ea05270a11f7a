"""Safe on a network by default (issue 12): a service that listens where other machines reach it
refuses to start without its token, the simulator refuses such an address unless allowed, and the
panel's and the simulator's pages send the security headers (CSP with a nonce, no framing,
nosniff, referrer policy, a Secure session cookie behind TLS)."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest
import requests

from chasqui.env import SettingError, env_bool
from chasqui.network import ExposedService, is_loopback, require_loopback_unless_allowed, require_token_off_loopback
from model_api.catalog import TEST_MODEL
from tests.admin.conftest import PASSWORD, USERNAME, admin_backend, csrf_token
from tests.servers import CHASQUI, REPO, RunningService, free_port, service_env, start_backend, start_model_api

pytestmark = pytest.mark.timeout(180)
REFUSAL_TIMEOUT_S = 60  # a refusal comes before anything heavy loads; generous for a busy machine
GUNICORN = [sys.executable, "-m", "gunicorn"]


# -- the address check ------------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "127.255.255.254", "::1", "[::1]", "localhost",
                                  "LOCALHOST", "localhost.", " 127.0.0.1 ", "::ffff:127.0.0.1",
                                  "0:0:0:0:0:0:0:1"])
def test_loopback_addresses(host):
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "[::]", "", "192.168.1.20", "10.0.0.5", "172.16.0.1",
                                  "8.8.8.8", "fe80::1", "fe80::1%eth0", "2001:db8::1", "::ffff:192.168.1.1",
                                  "128.0.0.1", "chasqui.example.org", "my-laptop", "localhost.example.org",
                                  "notlocalhost", "127.0.0.1.example.org", "127.1"])
def test_addresses_other_machines_may_reach(host):
    assert not is_loopback(host)


def test_a_token_is_required_off_loopback_only():
    require_token_off_loopback("the backend", "127.0.0.1", "", "BACKEND_TOKEN")
    require_token_off_loopback("the backend", "0.0.0.0", "s3cret", "BACKEND_TOKEN")
    with pytest.raises(ExposedService) as refused:
        require_token_off_loopback("the backend", "0.0.0.0", "", "BACKEND_TOKEN")
    message = str(refused.value)
    assert "BACKEND_TOKEN" in message and "0.0.0.0" in message and "\n" not in message
    assert isinstance(refused.value, SettingError)  # every start path already reports setting errors


def test_the_simulator_needs_an_explicit_allowance_off_loopback():
    require_loopback_unless_allowed("the simulator", "::1", False, "BRIDGE_SIMULATOR_ALLOW_NETWORK", "no login")
    require_loopback_unless_allowed("the simulator", "0.0.0.0", True, "BRIDGE_SIMULATOR_ALLOW_NETWORK", "no login")
    with pytest.raises(ExposedService, match="BRIDGE_SIMULATOR_ALLOW_NETWORK=1"):
        require_loopback_unless_allowed("the simulator", "::", False, "BRIDGE_SIMULATOR_ALLOW_NETWORK", "no login")


def test_each_service_checks_its_own_settings(monkeypatch):
    from backend.settings import check_network_safety as check_backend, load_settings as backend_settings
    from model_api.settings import check_network_safety as check_model_api, load_settings as model_api_settings
    from whatsapp_bridge.settings import check_network_safety as check_bridge, load_settings as bridge_settings

    for name in ("BACKEND_TOKEN", "MODEL_API_TOKEN", "BRIDGE_SIMULATOR_ALLOW_NETWORK", "BRIDGE_TRANSPORT"):
        monkeypatch.delenv(name, raising=False)
    for host in ("BACKEND_HOST", "MODEL_API_HOST", "BRIDGE_HOST"):
        monkeypatch.setenv(host, "0.0.0.0")
    with pytest.raises(ExposedService, match="BACKEND_TOKEN"):
        check_backend(backend_settings())
    with pytest.raises(ExposedService, match="MODEL_API_TOKEN"):
        check_model_api(model_api_settings())
    with pytest.raises(ExposedService, match="BRIDGE_SIMULATOR_ALLOW_NETWORK"):
        check_bridge(bridge_settings())
    with pytest.raises(ExposedService, match="/web/qr"):  # the pairing page has no login either
        check_bridge(bridge_settings().with_overrides(transport="web"))
    # The cloud transport's webhook is signature-checked: its address is not this check's business.
    check_bridge(bridge_settings().with_overrides(transport="cloud"))

    monkeypatch.setenv("BACKEND_TOKEN", "t1")
    monkeypatch.setenv("MODEL_API_TOKEN", "t2")
    monkeypatch.setenv("BRIDGE_SIMULATOR_ALLOW_NETWORK", "1")
    check_backend(backend_settings())
    check_model_api(model_api_settings())
    check_bridge(bridge_settings())


@pytest.mark.parametrize("raw, expected", [("1", True), ("true", True), ("YES", True), ("0", False),
                                           ("off", False), ("", False)])
def test_switches_read_as_booleans(monkeypatch, raw, expected):
    monkeypatch.setenv("CHASQUI_TEST_SWITCH", raw)
    assert env_bool("CHASQUI_TEST_SWITCH") is expected


def test_a_mistyped_switch_is_refused_not_read_as_off(monkeypatch):
    monkeypatch.setenv("BRIDGE_SIMULATOR_ALLOW_NETWORK", "sí")
    from whatsapp_bridge.settings import load_settings

    with pytest.raises(SettingError, match="BRIDGE_SIMULATOR_ALLOW_NETWORK"):
        load_settings()


# -- the services really refuse (subprocesses) ----------------------------------------------------

def run_refused(command: list[str], **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, env=service_env(**env), cwd=REPO, capture_output=True, text=True,
                          timeout=REFUSAL_TIMEOUT_S)


def assert_refused(result: subprocess.CompletedProcess, variable: str, exit_code: int = 2) -> None:
    assert result.returncode == exit_code, result.stderr
    assert "Traceback" not in result.stderr
    paragraph = [line for line in result.stderr.splitlines() if line.startswith("chasqui: ")]
    assert len(paragraph) == 1, result.stderr
    assert "will not start" in paragraph[0] and variable in paragraph[0], result.stderr


def test_the_backend_refuses_a_network_address_without_its_token(tmp_path):
    result = run_refused(CHASQUI + ["backend", "--host", "0.0.0.0", "--port", str(free_port())],
                         BACKEND_TOKEN="", BACKEND_DB_PATH=str(tmp_path / "backend.db"))
    assert_refused(result, "BACKEND_TOKEN")
    assert not (tmp_path / "backend.db").exists()  # refused before anything was created


def test_the_backend_serves_a_network_address_with_its_token(tmp_path):
    backend = start_backend(tmp_path, "http://127.0.0.1:9", BACKEND_HOST="0.0.0.0", BACKEND_TOKEN="network-token")
    try:
        assert "0.0.0.0" in backend.log()  # it listens on every interface; the test connects through loopback
        assert requests.get(f"{backend.url}/health", timeout=5).status_code == 200
        anonymous = requests.post(f"{backend.url}/agent", json={"phone": "+51987654321", "message": "Hola"}, timeout=5)
        assert anonymous.status_code == 401
    finally:
        backend.stop()


def test_the_model_api_refuses_a_network_address_without_its_token():
    result = run_refused(CHASQUI + ["model-api", "--host", "0.0.0.0", "--port", str(free_port())],
                         MODEL_API_TOKEN="", CHASQUI_MODEL=TEST_MODEL)
    assert_refused(result, "MODEL_API_TOKEN")


def test_the_model_api_serves_a_network_address_with_its_token(tmp_path, test_model_path):
    service = start_model_api(tmp_path, TEST_MODEL, MODEL_API_HOST="0.0.0.0", MODEL_API_TOKEN="model-token")
    try:
        assert requests.get(f"{service.url}/v1/models", timeout=10).status_code == 401
        allowed = requests.get(f"{service.url}/v1/models", headers={"Authorization": "Bearer model-token"}, timeout=10)
        assert allowed.status_code == 200
    finally:
        service.stop()


def test_the_simulator_refuses_a_network_address_unless_allowed(tmp_path):
    port = free_port()
    env = {"BRIDGE_TRANSPORT": "simulator", "BRIDGE_STATE_PATH": str(tmp_path / "bridge.db"),
           "BACKEND_URL": "http://127.0.0.1:9", "BRIDGE_SIMULATOR_ALLOW_NETWORK": ""}
    result = run_refused(CHASQUI + ["bridge", "--host", "0.0.0.0", "--port", str(port)], **env)
    assert_refused(result, "BRIDGE_SIMULATOR_ALLOW_NETWORK=1")
    assert "any phone" in result.stderr

    bridge = RunningService(CHASQUI + ["bridge", "--host", "0.0.0.0", "--port", str(port)],
                            service_env(**{**env, "BRIDGE_SIMULATOR_ALLOW_NETWORK": "1"}), port,
                            tmp_path / "bridge.log")
    try:
        bridge.wait_ready(timeout_s=60)
        assert requests.get(f"{bridge.url}/simulator/", timeout=5).status_code == 200
    finally:
        bridge.stop()


@pytest.mark.parametrize("exposed, variable", [({"BACKEND_HOST": "0.0.0.0"}, "BACKEND_TOKEN"),
                                               ({"BRIDGE_HOST": "::"}, "BRIDGE_SIMULATOR_ALLOW_NETWORK"),
                                               ({"MODEL_API_HOST": "192.168.1.20"}, "MODEL_API_TOKEN")])
def test_chasqui_up_checks_all_three_addresses_before_starting(tmp_path, exposed, variable):
    result = run_refused(CHASQUI + ["up", "--once"], BACKEND_TOKEN="", MODEL_API_TOKEN="", BRIDGE_TRANSPORT="simulator",
                         BRIDGE_SIMULATOR_ALLOW_NETWORK="", CHASQUI_MODEL=TEST_MODEL,
                         BACKEND_DB_PATH=str(tmp_path / "backend.db"), **exposed)
    assert_refused(result, variable)
    assert "starting the model API" not in result.stdout  # nothing started


# -- under gunicorn ---------------------------------------------------------------------------------

def test_gunicorn_refuses_what_it_really_binds_even_through_a_command_line_bind(tmp_path):
    """BACKEND_HOST says loopback, but --bind 0.0.0.0 wins: the config's check sees the real socket."""
    result = run_refused(GUNICORN + ["-c", "deploy/gunicorn/backend.py", "-b", f"0.0.0.0:{free_port()}",
                                     "backend.wsgi:app"],
                         BACKEND_HOST="127.0.0.1", BACKEND_TOKEN="", BACKEND_WORKERS="1",
                         BACKEND_DB_PATH=str(tmp_path / "backend.db"))
    assert_refused(result, "BACKEND_TOKEN")
    assert "Booting worker" not in result.stderr  # the master stopped before any worker
    assert not (tmp_path / "backend.db").exists()


def test_gunicorn_refuses_the_simulator_on_a_network_address(tmp_path):
    result = run_refused(GUNICORN + ["-c", "deploy/gunicorn/whatsapp_bridge.py", "whatsapp_bridge.wsgi:app"],
                         BRIDGE_HOST="0.0.0.0", BRIDGE_PORT=str(free_port()), BRIDGE_TRANSPORT="simulator",
                         BRIDGE_SIMULATOR_ALLOW_NETWORK="", BRIDGE_STATE_PATH=str(tmp_path / "bridge.db"))
    assert_refused(result, "BRIDGE_SIMULATOR_ALLOW_NETWORK=1")


def test_the_wsgi_module_checks_the_settings_host_without_the_config(tmp_path):
    """Started without deploy/gunicorn/backend.py, the worker still refuses BACKEND_HOST=0.0.0.0
    (exit code 3: gunicorn halts instead of restarting a worker that cannot boot)."""
    result = run_refused(GUNICORN + ["-b", f"127.0.0.1:{free_port()}", "backend.wsgi:app"],
                         BACKEND_HOST="0.0.0.0", BACKEND_TOKEN="", BACKEND_DB_PATH=str(tmp_path / "backend.db"))
    assert result.returncode == 3, result.stderr
    assert "will not start" in result.stderr and "BACKEND_TOKEN" in result.stderr


def test_gunicorn_serves_a_network_address_with_the_token(tmp_path):
    port = free_port()
    env = service_env(BACKEND_HOST="0.0.0.0", BACKEND_PORT=str(port), BACKEND_TOKEN="gunicorn-token",
                      BACKEND_WORKERS="1", BACKEND_WARM_UP="0", MODEL_API_URL="http://127.0.0.1:9",
                      BACKEND_DB_PATH=str(tmp_path / "backend.db"))
    service = RunningService(GUNICORN + ["-c", "deploy/gunicorn/backend.py", "backend.wsgi:app"], env, port,
                             tmp_path / "gunicorn.log")
    try:
        service.wait_ready(timeout_s=60)
        assert f"Listening at: http://0.0.0.0:{port}" in service.log()
    finally:
        service.stop()


# -- security headers -------------------------------------------------------------------------------

def csp_directives(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    return {name: sources for name, *sources in (part.split() for part in policy.split(";"))}


def assert_page_headers(response) -> str:
    """The headers every page sends; returns the response's CSP nonce."""
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] in ("same-origin", "no-referrer")
    policy = csp_directives(response)
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    for directive in ("default-src", "script-src", "style-src"):
        assert "'unsafe-inline'" not in policy[directive] and "'unsafe-eval'" not in policy[directive]
    nonces = {source for source in policy["script-src"] if source.startswith("'nonce-")}
    assert len(nonces) == 1 and nonces == {s for s in policy["style-src"] if s.startswith("'nonce-")}
    nonce = nonces.pop()[len("'nonce-"):-1]
    assert len(nonce) >= 16
    return nonce


def nonces_in(html: str) -> set[str]:
    return set(re.findall(r'nonce="([^"]+)"', html))


@pytest.fixture
def admin_client(tmp_path):
    return admin_backend(tmp_path).test_client()


def sign_in(client, base_url: str = "http://localhost"):
    token = csrf_token(client.get("/admin/login", base_url=base_url).text)
    return client.post("/admin/login", data={"username": USERNAME, "password": PASSWORD, "csrf_token": token},
                       base_url=base_url)


def test_the_login_page_sends_the_security_headers(admin_client):
    first = admin_client.get("/admin/login")
    assert first.status_code == 200
    nonce = assert_page_headers(first)
    assert nonces_in(first.text) == {nonce}  # every nonce'd tag carries this response's nonce
    assert '<style nonce="' in first.text  # layout.html's own <style> too
    second = admin_client.get("/admin/login")
    assert assert_page_headers(second) != nonce  # a fresh nonce for every response


def test_panel_pages_after_sign_in_send_the_security_headers(admin_client):
    assert sign_in(admin_client).status_code == 302
    for path in ("/admin/", "/admin/contacts/", "/admin/knowledge/", "/admin/alerts/new"):
        page = admin_client.get(path)
        assert page.status_code == 200, path
        nonce = assert_page_headers(page)
        assert nonces_in(page.text) == {nonce}, path
        assert page.headers["Cache-Control"] == "no-store"
    # No inline handler is allowed: the delete buttons ask through confirm.js (data-confirm).
    script_src = csp_directives(admin_client.get("/admin/knowledge/"))["script-src"]
    assert "'unsafe-hashes'" not in script_src and not [s for s in script_src if s.startswith("'sha256-")]


def test_the_panel_s_static_files_are_not_sniffed(admin_client):
    script = admin_client.get("/admin/static/vendor/jquery.min.js")
    assert script.status_code == 200
    assert script.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("setting, secure", [("1", True), ("0", False), (None, False)])
def test_the_session_cookie_is_secure_with_admin_secure_cookies(tmp_path, monkeypatch, setting, secure):
    if setting is None:
        monkeypatch.delenv("ADMIN_SECURE_COOKIES", raising=False)
    else:
        monkeypatch.setenv("ADMIN_SECURE_COOKIES", setting)
    client = admin_backend(tmp_path).test_client()
    base_url = "https://localhost" if secure else "http://localhost"  # behind TLS when the setting is on
    signed_in = sign_in(client, base_url)
    assert signed_in.status_code == 302
    cookies = [value for name, value in signed_in.headers.items() if name == "Set-Cookie"]
    assert cookies and all(value.startswith("chasqui_admin=") for value in cookies)
    assert all(("; Secure" in value) is secure for value in cookies), cookies
    assert all("; HttpOnly" in value for value in cookies)
    # The cookie comes back and the panel opens (over https when it is Secure).
    assert client.get("/admin/", base_url=base_url).status_code == 200


@pytest.fixture
def simulator_client(tmp_path):
    from whatsapp_bridge.app import create_app
    from whatsapp_bridge.settings import load_settings
    from whatsapp_bridge.transports.simulator import SimulatorTransport

    settings = load_settings().with_overrides(state_path=tmp_path / "bridge.db", backend_url="http://127.0.0.1:9")
    return create_app(settings, SimulatorTransport(), start=False).test_client()


def test_the_simulator_page_sends_the_security_headers(simulator_client):
    page = simulator_client.get("/simulator/")
    assert page.status_code == 200
    nonce = assert_page_headers(page)
    assert nonces_in(page.text) == {nonce}
    assert '<script nonce="' in page.text and '<style nonce="' in page.text
    policy = csp_directives(page)
    assert policy["default-src"] == ["'none'"] and policy["connect-src"] == ["'self'"]
    assert assert_page_headers(simulator_client.get("/simulator/")) != nonce


def test_the_simulator_api_is_not_sniffed(simulator_client):
    response = simulator_client.get("/simulator/api/phones")
    assert response.status_code == 200 and response.is_json
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_json_apis_mark_every_response_nosniff_errors_included(tmp_path):
    from backend.app import create_app
    from backend.settings import load_settings

    app = create_app(load_settings().with_overrides(db_path=tmp_path / "b.db", token="t", plugins=("example",),
                                                    model_api_url="http://127.0.0.1:9", warm_up=False))
    app.extensions["chasqui_scheduler"].stop()
    client = app.test_client()
    for response in (client.get("/health"), client.post("/agent", json={}), client.get("/nowhere")):
        assert response.headers["X-Content-Type-Options"] == "nosniff", response.status_code
