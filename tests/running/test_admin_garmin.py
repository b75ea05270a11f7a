"""The admin panel's Garmin import page: login required, CSRF checked, the same import as the
endpoint with its report shown."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from admin.users import create_user
from backend.app import create_app
from backend.settings import load_settings
from tests.admin.conftest import PASSWORD, USERNAME, csrf_token
from tests.databases import database_url_for

PAGE = "/admin/running/garmin/"
CSV = (Path(__file__).parent / "data" / "activities_en.csv").read_bytes()


@pytest.fixture
def panel(tmp_path):
    settings = load_settings().with_overrides(db_path=tmp_path / "chasqui.db", token="", plugins=("running",),
                                              database_url=database_url_for(tmp_path / "chasqui.db"),
                                              model_api_url="http://127.0.0.1:9", secondary_model_api_url="")
    app = create_app(settings)
    app.extensions["chasqui_scheduler"].stop()  # no weekly refresh in the middle of an import test
    db = app.extensions["chasqui_store"].db
    create_user(db, USERNAME, PASSWORD)
    db.execute("INSERT INTO contacts (phone, name, domain, created_at, updated_at) "
               "VALUES ('+51987000003', 'Lucía', 'running', 0, 0)")
    client = app.test_client()
    return client, db


def sign_in(client) -> None:
    token = csrf_token(client.get("/admin/login").text)
    client.post("/admin/login", data={"username": USERNAME, "password": PASSWORD, "csrf_token": token})


def upload(client, phone: str, data: bytes, token: str | None = None):
    token = token or csrf_token(client.get(PAGE).text)
    return client.post(PAGE, data={"phone": phone, "csrf_token": token, "file": (io.BytesIO(data), "export.csv")},
                       content_type="multipart/form-data")


def test_the_page_needs_a_signed_in_admin(panel):
    client, _ = panel
    assert client.get(PAGE).status_code == 302


def test_an_admin_imports_a_runners_export_and_reads_the_report(panel):
    client, db = panel
    sign_in(client)
    first = upload(client, "+51 987 000 003", CSV)
    assert first.status_code == 200 and "carreras importadas" in first.text and "no es una carrera" in first.text
    imported = db.execute("SELECT COUNT(*) FROM running_runs").fetchone()[0]
    assert imported >= 3
    again = upload(client, "+51987000003", CSV)
    assert "ya estaban registradas" in again.text
    assert db.execute("SELECT COUNT(*) FROM running_runs").fetchone()[0] == imported


def test_bad_uploads_are_refused_and_save_nothing(panel):
    client, db = panel
    sign_in(client)
    assert upload(client, "+51911111111", CSV).status_code == 404
    assert upload(client, "+51987000003", b"no,es,garmin\n1,2,3\n").status_code == 400
    assert upload(client, "+51987000003", CSV, token="forged").status_code == 400
    assert db.execute("SELECT COUNT(*) FROM running_runs").fetchone()[0] == 0
