"""The real backend app with the admin panel mounted, on a throw-away database with a few rows."""
from __future__ import annotations

import json
import re

import pytest

from admin.users import create_user
from backend.app import create_app
from backend.settings import load_settings
from tests.databases import database_url_for

USERNAME = "rosa"
PASSWORD = "una clave bastante larga"
OFFICER = "oscar"  # an officer account, made by the `officer` fixture
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def panel_settings(tmp_path, **overrides):
    """The backend's settings on this test's database (its PostgreSQL stand-in with
    CHASQUI_TEST_DATABASE=postgresql)."""
    path = tmp_path / "chasqui.db"
    return load_settings().with_overrides(**{"db_path": path, "database_url": database_url_for(path), "token": "",
                                             "plugins": ("example",), "model_api_url": "http://127.0.0.1:9",
                                             "secondary_model_api_url": "", **overrides})


def admin_backend(tmp_path):
    """create_app as the backend builds it (empty token = no bearer check; the panel is mounted by it)."""
    settings = panel_settings(tmp_path)
    app = closed_after_the_test(create_app(settings))
    store = app.extensions["chasqui_store"]
    create_user(store.db, USERNAME, PASSWORD)
    seed(store.db)
    return app


_OPEN_APPS: list = []


def closed_after_the_test(app):
    """`app`, whose scheduler stops and whose connections close when the test ends: a PostgreSQL
    server has a few hundred connections for the whole session, and a job must not outlive it."""
    _OPEN_APPS.append(app)
    return app


@pytest.fixture(autouse=True)
def _close_apps():
    yield
    while _OPEN_APPS:
        app = _OPEN_APPS.pop()
        app.extensions["chasqui_scheduler"].stop()
        app.extensions["chasqui_store"].db.close()


def seed(db) -> None:
    """Three contacts: two farmers growing different crops (one opted out) and a runner."""
    rows = [(1, "+51987000001", "Rosa Quispe", "agro", 0, None, {"cultivo": "maíz", "hectareas": 2}, 1_700_000_000),
            (2, "+51987000002", "Juan Mamani", "agro", 0, None, {"cultivo": "papa"}, 1_700_000_100),
            (3, "+51987000003", "Lucía", "running", 0, "ciudad", {}, 1_700_000_200),
            (4, "+51987000004", "Pedro Baja", "agro", 1, None, {"cultivo": "maíz"}, 1_700_000_300)]
    for contact_id, phone, name, domain, opted_out, step, profile, created in rows:
        db.execute("INSERT INTO contacts (id, phone, name, domain, opted_out, onboarding_step, created_at, "
                   "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   [contact_id, phone, name, domain, opted_out, step, created, created])
        db.execute("INSERT INTO profiles (contact_id, domain, data, updated_at) VALUES (?, ?, ?, ?)",
                   [contact_id, domain, json.dumps(profile, ensure_ascii=False), created])
    for body, direction, source, at in [("¿Cuándo riego mi maíz?", "in", None, 1_700_001_000),
                                        ("Riega el jueves: 25 mm.", "out", "model", 1_700_001_005),
                                        ("<script>alert('x')</script> gracias", "in", None, 1_700_001_100)]:
        db.execute("INSERT INTO messages (contact_id, direction, body, source, created_at) VALUES (1, ?, ?, ?, ?)",
                   [direction, body, source, at])
    db.execute("INSERT INTO knowledge (domain, title, body, source, updated_at) VALUES ('agro', 'Riego del maíz', "
               "'El maíz necesita unos 25 mm por semana en floración.', 'seed', 1700000000)")
    db.execute("INSERT INTO alerts (contact_id, message, level, status, attempts, next_attempt_at, last_error, "
               "created_at) VALUES (2, 'Helada esta noche', 'alta', 'failed', 5, 1700000000, "
               "'bridge: number not on WhatsApp', 1700000000)")
    ids_follow(db, "contacts")


def ids_follow(db, table: str) -> None:
    """After rows inserted with their own ids: PostgreSQL's identity column does not see them (the
    next insert without an id would take id 1 again); SQLite already continues after the largest."""
    if db.dialect == "postgresql":
        db.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")


def csrf_token(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


@pytest.fixture
def app(tmp_path):
    return admin_backend(tmp_path)


@pytest.fixture
def db(app):
    return app.extensions["chasqui_store"].db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def signed_in(client):
    """A client whose session is signed in as USERNAME."""
    token = csrf_token(client.get("/admin/login").text)
    response = client.post("/admin/login", data={"username": USERNAME, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.text
    return client


@pytest.fixture
def post_form(signed_in):
    """POST a form the way a browser does: fetch its page for a CSRF token first."""
    def post(page: str, data: dict, action: str | None = None):
        token = csrf_token(signed_in.get(page).text)
        return signed_in.post(action or page, data={**data, "csrf_token": token})
    return post


def sign_in(client, username: str = USERNAME, password: str = PASSWORD):
    token = csrf_token(client.get("/admin/login").text)
    return client.post("/admin/login", data={"username": username, "password": password, "csrf_token": token})


@pytest.fixture
def officer(app, db):
    """Another client, signed in as OFFICER (an officer account)."""
    create_user(db, OFFICER, PASSWORD, role="officer")
    client = app.test_client()
    assert sign_in(client, OFFICER).status_code == 302
    return client


def post_with_token(client, page: str, data: dict, action: str | None = None):
    """POST as a browser does: the CSRF token from `page` (any page of the panel has one)."""
    token = csrf_token(client.get(page).text)
    return client.post(action or page, data={**data, "csrf_token": token})
