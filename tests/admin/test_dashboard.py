"""The dashboard page (/admin), its JSON (/admin/dashboard.json), GET /stats and the gauges in
/metrics, through Flask's test client on the real backend app."""
from __future__ import annotations

import html
import json
import re
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from admin.users import create_user
from backend.app import create_app
from tests.admin.conftest import (PASSWORD, USERNAME, closed_after_the_test, csrf_token, ids_follow, panel_settings,
                                  seed)

TOKEN = "stats-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LIMA = ZoneInfo("America/Lima")


def recent(db) -> None:
    """Today's and yesterday's activity (Lima), on top of the panel's usual seed."""
    today = datetime.now(LIMA).replace(hour=0, minute=0, second=0, microsecond=0)
    for contact_id, days_ago, step in ((5, 0, None), (6, 1, "nombre"), (7, 1, "later:cultivo")):
        created = (today - timedelta(days=days_ago) + timedelta(hours=3)).timestamp()
        db.execute("INSERT INTO contacts (id, phone, domain, onboarding_step, created_at, updated_at) "
                   "VALUES (?, ?, 'agro', ?, ?, ?)", [contact_id, f"+5198700001{contact_id}", step, created, created])
    ids_follow(db, "contacts")
    for days_ago, contact_id, wait_s, source in ((0, 1, 3, "model"), (0, 3, 5, "code"), (1, 2, 9, "cache"),
                                                 (1, 1, 2, "apology")):
        asked = (today - timedelta(days=days_ago) + timedelta(hours=1)).timestamp()
        question = db.insert("INSERT INTO messages (contact_id, direction, body, created_at) VALUES (?, 'in', 'hola', ?)",
                             [contact_id, asked])
        reply = db.insert("INSERT INTO messages (contact_id, direction, body, source, in_reply_to, created_at) "
                          "VALUES (?, 'out', 'ok', ?, ?, ?)", [contact_id, source, question, asked + wait_s])
        db.execute("INSERT INTO ratings (contact_id, message_id, value, via, created_at) VALUES (?, ?, ?, 'reaction', ?)",
                   [contact_id, reply, 1 if source != "apology" else -1, asked + 60])
    db.execute("INSERT INTO alerts (contact_id, message, level, status, delivery_status, next_attempt_at, created_at) "
               "VALUES (2, 'Lluvia', 'media', 'sent', 'read', 0, ?)", [today.timestamp() + 7200])
    db.execute("INSERT INTO takeovers (contact_id, reason, status, requested_at, last_activity_at) "
               "VALUES (3, 'asked', 'waiting', 0, 0)")


@pytest.fixture
def app(tmp_path, monkeypatch):
    """The backend with a bearer token (so /stats and /metrics need it), the panel mounted on it."""
    monkeypatch.setenv("CHASQUI_TIMEZONE", "America/Lima")
    settings = panel_settings(tmp_path, token=TOKEN, warm_up=False)
    application = closed_after_the_test(create_app(settings))
    application.extensions["chasqui_scheduler"].stop()
    db = application.extensions["chasqui_store"].db
    create_user(db, USERNAME, PASSWORD)
    seed(db)
    recent(db)
    return application


@pytest.fixture
def signed_in(app):
    client = app.test_client()
    token = csrf_token(client.get("/admin/login").text)
    assert client.post("/admin/login", data={"username": USERNAME, "password": PASSWORD,
                                             "csrf_token": token}).status_code == 302
    return client


def page_figures(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="dashboard-figures">(.*?)</script>', page, re.S)
    assert match, "the page carries no figures"
    return json.loads(match.group(1))


def test_the_first_page_shows_the_figures_and_what_is_stored(signed_in):
    response = signed_in.get("/admin/")
    assert response.status_code == 200
    page = response.text
    for canvas in ("chart-messages", "chart-new-users", "chart-sources", "chart-reply-time", "chart-ratings",
                   "chart-alerts"):
        assert f'id="{canvas}"' in page and f'id="{canvas}-table"' in page  # a chart, and its numbers as a table
    assert re.search(r">7</div><div class=\"text-muted\">contactos", page)  # the counts the page showed before
    assert "fallida: 1" in page
    figures = page_figures(page)
    assert len(figures["days"]) == 30 and figures["period"]["timezone"] == "America/Lima"
    assert figures["replies_by_source"]["groups"]["model"] == 1 and figures["replies_by_source"]["total"] == 4
    assert figures["reply_seconds"]["p50"][-2:] == [2, 3] and figures["reply_seconds"]["p95"][-1] == 5
    assert figures["ratings"]["total_good"] == 3 and figures["ratings"]["total_bad"] == 1
    assert figures["alerts"]["total"]["read"] == 1 and figures["open_takeovers"] == {"waiting": 1, "taken": 0}
    assert figures["active_users"] == {"7d": 3, "30d": 3}
    assert figures["new_users"]["new"][-2:] == [2, 1] and figures["new_users"]["onboarded"][-2:] == [1, 1]
    assert '<details class="chasqui-figures" open data-table-for="chart-messages">' in page  # open without scripts
    assert 'id="active-7d">3<' in page and 'id="takeovers-waiting">1<' in page
    labels = json.loads(re.search(r'id="dashboard-labels">(.*?)</script>', page, re.S).group(1))
    assert labels["groups"]["officer"] == "extensionista" and labels["p95"] == "p95"
    # The scripts carry this response's nonce, and are served by the panel itself.
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    for src in ("/admin/static/chasqui/vendor/chart.umd.min.js", "/admin/static/chasqui/dashboard.js"):
        assert f'<script nonce="{nonce}" src="{src}"></script>' in page
        served = signed_in.get(src)
        assert served.status_code == 200 and served.headers["X-Content-Type-Options"] == "nosniff"
        assert "javascript" in served.headers["Content-Type"]
    assert "unsafe-eval" not in response.headers["Content-Security-Policy"]


def test_the_filters_narrow_the_figures(signed_in):
    today = datetime.now(LIMA).date()
    yesterday = (today - timedelta(1)).isoformat()
    page = signed_in.get("/admin/", query_string={"from": yesterday, "to": yesterday, "domain": "agro"}).text
    figures = page_figures(page)
    assert figures["days"] == [yesterday] and figures["period"]["domain"] == "agro"
    assert figures["replies_by_source"]["sources"] == {"apology": 1, "cache": 1}  # contacts 1 and 2
    assert figures["messages_per_day"] == {"by_domain": {"agro": [4]}, "total": [4]}
    assert f'value="{yesterday}"' in page and '<option value="agro" selected>' in page
    assert '<option value="running"' in page  # the select lists the contacts' domains
    old = page_figures(signed_in.get("/admin/?from=2023-11-14&to=2023-11-14").text)
    assert old["messages_per_day"]["total"] == [3]  # the usual seed's conversation, 2023-11-14 in Lima


@pytest.mark.parametrize("query, says", [
    ("from=yesterday", "&#39;from&#39; must be a date"),
    ("from=2024-05-10&to=2024-05-01", "is after"),
    ("from=2020-01-01&to=2024-01-01", "at most 366"),
    ("domain=medicina", "&#39;domain&#39; must be one of"),
    ("to=2024-13-01", "&#39;to&#39; must be a date"),
])
def test_bad_parameters_show_a_message_and_the_last_30_days(signed_in, query, says):
    response = signed_in.get(f"/admin/?{query}")
    assert response.status_code == 200
    problem = re.search(r'id="dashboard-problem">(.*?)</div>', response.text, re.S)
    assert problem and says in problem.group(1) and "últimos 30 días" in problem.group(1)
    figures = page_figures(response.text)
    assert len(figures["days"]) == 30 and figures["period"]["domain"] is None


def test_the_json_is_the_pages_figures_behind_the_login(app, signed_in):
    query = {"domain": "agro"}
    answer = signed_in.get("/admin/dashboard.json", query_string=query)
    assert answer.status_code == 200 and answer.is_json
    assert answer.json == page_figures(signed_in.get("/admin/", query_string=query).text)
    refused = signed_in.get("/admin/dashboard.json?from=2024-05-10&to=2024-05-01")
    assert refused.status_code == 400 and refused.json["error"]["param"] == "from"
    assert "is after" in refused.json["error"]["message"]
    anonymous = app.test_client().get("/admin/dashboard.json")
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/admin/login")


def test_stats_needs_the_token_and_gives_the_same_figures(app, signed_in):
    client = app.test_client()
    assert client.get("/stats").status_code == 401
    assert client.get("/stats", headers={"Authorization": "Bearer wrong"}).status_code == 401
    today = datetime.now(LIMA).date()
    query = {"from": (today - timedelta(300)).isoformat(), "to": today.isoformat(), "domain": "running"}
    answer = client.get("/stats", query_string=query, headers=AUTH)
    assert answer.status_code == 200
    assert answer.json == signed_in.get("/admin/dashboard.json", query_string=query).json
    assert answer.json["replies_by_source"]["sources"] == {"code": 1}
    for bad, param in (({"from": "2024-02-30"}, "from"), ({"to": "x"}, "to"), ({"domain": "nadie"}, "domain"),
                       ({"from": "2020-01-01", "to": "2024-01-01"}, "from")):
        refused = client.get("/stats", query_string=bad, headers=AUTH)
        assert refused.status_code == 400, bad
        assert refused.json["error"]["type"] == "invalid_request_error" and refused.json["error"]["param"] == param


def test_the_gauges_are_in_metrics(app):
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    started = time.perf_counter()
    text = client.get("/metrics", headers=AUTH).text
    assert time.perf_counter() - started < 2
    for line in ('chasqui_active_users{window="7d"} 3.0', 'chasqui_active_users{window="30d"} 3.0',
                 'chasqui_open_takeovers{status="waiting"} 1.0', 'chasqui_open_takeovers{status="taken"} 0.0',
                 'chasqui_ratings{value="good"} 3.0', 'chasqui_ratings{value="bad"} 1.0',
                 'chasqui_alerts{delivery_status="none",status="failed"} 1.0',
                 'chasqui_alerts{delivery_status="read",status="sent"} 1.0',
                 'chasqui_replies_today{group="model",source="model"} 1.0',
                 'chasqui_replies_today{group="code",source="code"} 1.0'):
        assert line in text, line
    assert "chasqui_stats_collect_seconds " in text
    assert "# TYPE chasqui_active_users gauge" in text


def test_the_page_escapes_what_it_shows(app, signed_in):
    """A domain comes from the database: it is shown as text, and the JSON block cannot be closed early."""
    db = app.extensions["chasqui_store"].db
    db.execute("UPDATE contacts SET domain = '</script><b>x' WHERE id = 4")
    page = signed_in.get("/admin/").text
    assert "</script><b>x" not in page
    assert html.escape("</script><b>x") in page or "\\u003c/script\\u003e" in page
