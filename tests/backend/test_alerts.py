"""Alerts on a real database (SQLite files, or PostgreSQL with CHASQUI_TEST_DATABASE=postgresql):
broadcast filters, leases, concurrent bridges, backoff, HTTP contract."""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.exc import DatabaseError

from backend.alerts import repository as alerts
from backend.alerts.routes import create_alerts_blueprint
from backend.settings import load_settings
from backend.store.database import Store, now, open_database
from backend.store.migrations import migrate
from chasqui.http_errors import install_json_errors
from tests.databases import database_url_for, store_location


@pytest.fixture
def db_path(tmp_path) -> Path:
    path = tmp_path / "chasqui.db"
    db = open_database(store_location(path))
    migrate(db)
    db.close()
    return path


@pytest.fixture
def db(db_path):
    db = open_database(store_location(db_path))
    yield db
    db.close()


def add_contact(db, phone: str, domain: str | None = None, profile: dict | None = None,
                opted_out: bool = False) -> int:
    contact_id = db.insert(
        "INSERT INTO contacts (phone, domain, opted_out, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        (phone, domain, int(opted_out), now(), now()))
    if profile is not None:
        db.execute("INSERT INTO profiles (contact_id, domain, data, updated_at) VALUES (?, ?, ?, ?)",
                   (contact_id, domain or "agro", json.dumps(profile), now()))
    return contact_id


def count_alerts(db) -> int:
    return db.execute("SELECT COUNT(*) FROM alerts").fetchone()[0]


# --- creating ---------------------------------------------------------------------------------------

def test_broadcast_filters_by_domain_and_profile_ignoring_case_and_skipping_opted_out(db):
    maize_lima = add_contact(db, "+51900000001", "agro", {"crop": "Maíz", "region": "Cajamarca"})
    maize_upper = add_contact(db, "+51900000002", "agro", {"crop": "MAÍZ", "region": "cajamarca"})
    add_contact(db, "+51900000003", "agro", {"crop": "papa", "region": "Cajamarca"})
    add_contact(db, "+51900000004", "agro", {"crop": "maíz", "region": "Cajamarca"}, opted_out=True)
    add_contact(db, "+51900000005", "running", {"crop": "maíz", "region": "Cajamarca"})
    add_contact(db, "+51900000006", "agro")  # no profile yet

    broadcast, ids = alerts.create_broadcast(db, "Helada esta noche", "alta", "agro",
                                             {"crop": "maíz", "region": "CAJAMARCA"})
    rows = db.execute("SELECT contact_id, broadcast, status FROM alerts ORDER BY id").fetchall()
    assert [row[0] for row in rows] == [maize_lima, maize_upper]
    assert {row[1] for row in rows} == {broadcast} and {row[2] for row in rows} == {"pending"}
    assert len(ids) == 2
    assert len(alerts.create_broadcast(db, "Aviso", "baja", "agro")[1]) == 4  # everyone in agro but opted out


def test_broadcast_matches_numbers_booleans_and_nulls_as_json_values(db):
    five = add_contact(db, "+51900000001", "agro", {"hectares": 5, "irrigated": True, "crop": "papa"})
    five_point_oh = add_contact(db, "+51900000002", "agro", {"hectares": 5.0, "irrigated": False, "crop": None})
    text_five = add_contact(db, "+51900000003", "agro", {"hectares": "5", "irrigated": True, "crop": 5})
    no_profile = add_contact(db, "+51900000004", "agro")

    def matching(filters: dict) -> list[int]:
        _, ids = alerts.create_broadcast(db, "Aviso", "baja", "agro", filters)
        return [db.execute("SELECT contact_id FROM alerts WHERE id = ?", [i]).fetchone()[0] for i in ids]

    assert matching({"hectares": 5}) == [five, five_point_oh]  # a number, not the text "5"
    assert matching({"hectares": "5"}) == [text_five]  # a string, not the number 5
    assert matching({"irrigated": True}) == [five, text_five]
    assert matching({"irrigated": False}) == [five_point_oh]
    assert matching({"crop": None}) == [five_point_oh, no_profile]  # JSON null, or no value at all
    assert matching({"crop": "PAPA", "hectares": 5.0}) == [five]


def test_broadcast_is_all_or_nothing(db):
    ids = [add_contact(db, f"+5190000001{i}", "agro") for i in range(3)]
    if db.dialect == "sqlite":
        db.execute(f"CREATE TRIGGER refuse_last BEFORE INSERT ON alerts WHEN NEW.contact_id = {ids[-1]} "
                   "BEGIN SELECT RAISE(ABORT, 'disk says no'); END")
    else:
        db.execute("CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION 'disk says no'; END $$")
        db.execute(f"CREATE TRIGGER refuse_last BEFORE INSERT ON alerts FOR EACH ROW "
                   f"WHEN (NEW.contact_id = {ids[-1]}) EXECUTE FUNCTION refuse()")
    with pytest.raises(DatabaseError, match="disk says no"):
        alerts.create_broadcast(db, "Aviso", "media", "agro")
    assert count_alerts(db) == 0


@pytest.mark.parametrize("message, level, filters, field", [
    ("", "media", None, "message"),
    ("x" * 4097, "media", None, "message"),
    ("hola", "urgente", None, "level"),
    ("hola", "media", {"crop') OR 1=1 --": "x"}, "crop') OR 1=1 --"),
    ("hola", "media", {"crop": ["maíz"]}, "crop"),
    ("hola", "media", {"hectares": float("nan")}, "hectares"),
])
def test_invalid_alerts_are_refused_naming_the_field(db, message, level, filters, field):
    contact = add_contact(db, "+51900000001", "agro", {"crop": "maíz"})
    with pytest.raises(alerts.InvalidAlert) as refused:
        if filters is None:
            alerts.create_alert(db, contact, message, level)
        else:
            alerts.create_broadcast(db, message, level, profile_filters=filters)
    assert refused.value.field == field and count_alerts(db) == 0


# --- handing out ------------------------------------------------------------------------------------

def test_claim_hands_out_alta_first_then_oldest_and_skips_opted_out(db):
    contact = add_contact(db, "+51900000001")
    quiet = add_contact(db, "+51900000002", opted_out=True)
    low = alerts.create_alert(db, contact, "baja", "baja")
    first_media = alerts.create_alert(db, contact, "media 1", "media")
    high = alerts.create_alert(db, contact, "alta", "alta")
    second_media = alerts.create_alert(db, contact, "media 2", "media")
    alerts.create_alert(db, quiet, "nunca", "alta")

    claimed = alerts.claim_due(db, limit=10, lease_s=60, max_attempts=3)
    assert [alert["id"] for alert in claimed] == [high, first_media, second_media, low]
    assert claimed[0] == {"id": high, "phone": "+51900000001", "message": "alta", "level": "alta",
                          "lease_token": claimed[0]["lease_token"], "attempts": 1, "kind": "alert"}
    assert alerts.claim_due(db, limit=10, lease_s=60, max_attempts=3) == []  # all leased


def test_expired_lease_hands_the_alert_out_again_with_a_new_token(db):
    alert_id = alerts.create_alert(db, add_contact(db, "+51900000001"), "Riego", "media")
    [first] = alerts.claim_due(db, limit=5, lease_s=0.2, max_attempts=3)
    time.sleep(0.3)
    [second] = alerts.claim_due(db, limit=5, lease_s=60, max_attempts=3)
    assert second["id"] == alert_id and second["attempts"] == 2
    assert second["lease_token"] != first["lease_token"]
    with pytest.raises(alerts.LeaseMismatch):
        alerts.mark_sent(db, alert_id, first["lease_token"])  # the first bridge lost its lease
    assert alerts.mark_sent(db, alert_id, second["lease_token"])["status"] == "sent"


def test_expired_lease_on_the_last_attempt_gives_up(db):
    alert_id = alerts.create_alert(db, add_contact(db, "+51900000001"), "Riego", "media")
    alerts.claim_due(db, limit=5, lease_s=0.2, max_attempts=1)
    time.sleep(0.3)
    assert alerts.claim_due(db, limit=5, lease_s=60, max_attempts=1) == []
    state = alerts.alert_state(db, alert_id)
    assert state["status"] == "failed"
    assert state["last_error"] == "gave up after 1 attempts; lease expired"


def test_two_bridges_polling_at_once_never_get_the_same_alert(db, db_path):
    contacts = [add_contact(db, f"+519000{i:05d}") for i in range(20)]
    expected = {alerts.create_alert(db, contacts[i % 20], f"aviso {i}", "media") for i in range(300)}
    start, claimed, problems = threading.Barrier(2), [[], []], []

    def bridge(index: int) -> None:
        own_db = open_database(store_location(db_path))  # a pool of its own, like another process's
        try:
            start.wait()
            while batch := alerts.claim_due(own_db, limit=7, lease_s=60, max_attempts=3):
                claimed[index].extend(alert["id"] for alert in batch)
                time.sleep(0.001)  # "sending": lets the other bridge in, so the polls really interleave
        except Exception as problem:  # reported below: an assertion in a thread would be lost
            problems.append(problem)
        finally:
            own_db.close()

    threads = [threading.Thread(target=bridge, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    everything = claimed[0] + claimed[1]
    assert problems == [] and claimed[0] and claimed[1]
    assert len(everything) == len(set(everything)) and set(everything) == expected


# --- reports from bridges -----------------------------------------------------------------------------

def test_failures_back_off_exponentially_then_give_up(db):
    alert_id = alerts.create_alert(db, add_contact(db, "+51900000001"), "Riego", "media")
    for attempt, delay in ((1, 10), (2, 20)):
        [claimed] = alerts.claim_due(db, limit=1, lease_s=60, max_attempts=3)
        before = now()
        state = alerts.mark_failed(db, alert_id, "timeout", 10, 3, claimed["lease_token"])
        assert (state["status"], state["attempts"], state["lease_token"]) == ("pending", attempt, None)
        assert before + delay - 1 <= state["next_attempt_at"] <= now() + delay
        assert alerts.claim_due(db, limit=1, lease_s=60, max_attempts=3) == []  # not due yet
        db.execute("UPDATE alerts SET next_attempt_at = 0 WHERE id = ?", (alert_id,))  # skip the wait
    alerts.claim_due(db, limit=1, lease_s=60, max_attempts=3)
    state = alerts.mark_failed(db, alert_id, "x" * 600, 10, 3)
    assert (state["status"], state["attempts"], len(state["last_error"])) == ("failed", 3, 500)
    assert alerts.claim_due(db, limit=1, lease_s=60, max_attempts=3) == []


def test_backoff_is_capped_at_an_hour():
    assert [alerts.backoff_delay(30, n) for n in (1, 2, 3)] == [30, 60, 120]
    assert alerts.backoff_delay(30, 12) == 3600


def test_sent_is_idempotent_and_final(db):
    alert_id = alerts.create_alert(db, add_contact(db, "+51900000001"), "Riego", "media")
    alerts.claim_due(db, limit=1, lease_s=60, max_attempts=3)
    first = alerts.mark_sent(db, alert_id)
    assert first["status"] == "sent" and first["lease_token"] is None and first["sent_at"] is not None
    assert alerts.mark_sent(db, alert_id, "any-token") == first
    with pytest.raises(alerts.AlertAlreadySent):
        alerts.mark_failed(db, alert_id, "late", 10, 3)
    with pytest.raises(alerts.AlertNotFound):
        alerts.mark_sent(db, 9999)


# --- HTTP ---------------------------------------------------------------------------------------------

@pytest.fixture
def client(db_path):
    settings = load_settings().with_overrides(db_path=db_path, database_url=database_url_for(db_path),
                                              alert_lease_s=60, alert_max_attempts=3, alert_backoff_s=10)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    store = Store(store_location(db_path))
    app.register_blueprint(create_alerts_blueprint(store, settings))
    install_json_errors(app, "BACKEND_MAX_BODY_BYTES")
    yield app.test_client()
    store.db.close()


def test_http_one_contact_from_creation_to_sent(client, db):
    add_contact(db, "+51987654321")
    created = client.post("/alert", json={"phone": "51 987 654 321@c.us", "message": "Helada"})
    assert created.status_code == 201
    assert created.json == {"alert_ids": [1], "broadcast": None}

    polled = client.get("/alerts/pending").json["alerts"]
    assert polled == [{"id": 1, "phone": "+51987654321", "message": "Helada", "level": "media",
                       "lease_token": polled[0]["lease_token"], "attempts": 1, "kind": "alert"}]
    for _ in range(2):  # the seed bridge sends no body, and may repeat itself
        sent = client.post("/alerts/1/sent")
        assert (sent.status_code, sent.json) == (200, {"id": 1, "status": "sent"})
    assert client.post("/alerts/1/failed", json={"error": "late"}).json["error"]["code"] == "alert_already_sent"


def test_a_provider_message_id_already_used_is_a_409_with_a_reason(client, db):
    add_contact(db, "+51987654321")
    for _ in range(2):
        client.post("/alert", json={"phone": "+51987654321", "message": "Helada"})
    first, second = client.get("/alerts/pending").json["alerts"]
    assert client.post(f"/alerts/{first['id']}/sent", json={"provider_message_id": "wamid.SAME"}).status_code == 200
    again = client.post(f"/alerts/{second['id']}/sent", json={"provider_message_id": "wamid.SAME"})
    assert again.status_code == 409 and again.json["error"]["code"] == "provider_message_id_taken"
    assert db.execute("SELECT status FROM alerts WHERE id = ?", [second["id"]]).fetchone()[0] == "claimed"


def test_http_broadcast_and_failure_reports(client, db):
    add_contact(db, "+51900000001", "agro", {"crop": "maíz", "region": "Cajamarca"})
    add_contact(db, "+51900000002", "agro", {"crop": "Maíz", "region": "Cajamarca"})
    add_contact(db, "+51900000003", "agro", {"crop": "papa", "region": "Cajamarca"})
    created = client.post("/alert", json={"filter": {"domain": "agro", "crop": "MAÍZ", "region": "cajamarca"},
                                          "message": "Plaga", "level": "alta"})
    assert created.status_code == 201
    assert created.json["alert_ids"] == [1, 2] and isinstance(created.json["broadcast"], str)

    first = client.get("/alerts/pending?limit=1").json["alerts"][0]
    wrong = client.post(f"/alerts/{first['id']}/failed", json={"error": "x", "lease_token": "stale"})
    assert (wrong.status_code, wrong.json["error"]["code"]) == (409, "lease_mismatch")
    failed = client.post(f"/alerts/{first['id']}/failed",
                         json={"error": "bridge offline", "lease_token": first["lease_token"]})
    assert failed.status_code == 200
    assert failed.json["status"] == "pending" and failed.json["attempts"] == 1
    assert failed.json["next_attempt_at"] > now() + 5
    missing = client.post("/alerts/999/sent", json={})
    assert (missing.status_code, missing.json["error"]["code"]) == (404, "alert_not_found")


def test_long_poll_hands_out_an_alert_created_while_it_waits(client, db):
    add_contact(db, "+51987654321")
    created_at = []

    def create_soon():
        time.sleep(0.5)
        created_at.append(time.monotonic())
        alerts.create_alert(db, 1, "Helada", "alta")  # as a scheduled job or another worker would

    threading.Thread(target=create_soon).start()
    started = time.monotonic()
    polled = client.get("/alerts/pending?wait=10").json["alerts"]
    returned_at = time.monotonic()
    assert [a["message"] for a in polled] == ["Helada"]
    assert returned_at - created_at[0] < 0.5  # picked up within a few checks, not at the end of the wait
    nothing = time.monotonic()
    assert client.get("/alerts/pending?wait=0.3").json["alerts"] == []
    assert 0.3 <= time.monotonic() - nothing < 2 and returned_at - started >= 0.5


def test_delivery_reports_follow_an_alert_forward_only(client, db):
    add_contact(db, "+51987654321")
    client.post("/alert", json={"phone": "+51987654321", "message": "Helada"})
    lease = client.get("/alerts/pending").json["alerts"][0]["lease_token"]
    client.post("/alerts/1/sent", json={"lease_token": lease, "provider_message_id": "wamid.A1"})
    for status in ("read", "delivered"):  # webhooks may arrive out of order
        reported = client.post("/alerts/delivery", json={"provider_message_id": "wamid.A1", "status": status})
        assert reported.status_code == 200
    assert reported.json == {"id": 1, "delivery_status": "read"}
    client.post("/alerts/delivery", json={"provider_message_id": "wamid.A1", "status": "failed",
                                          "error": "131026 undeliverable"})
    row = db.execute("SELECT status, delivery_status, delivery_error FROM alerts WHERE id = 1").fetchone()
    assert row == ("sent", "failed", "131026 undeliverable")


@pytest.mark.parametrize("method, path, body, status, code, param", [
    ("post", "/alert", "{not json", 400, "invalid_json", None),
    ("post", "/alert", "", 400, "invalid_json", None),
    ("post", "/alert", {"phone": "+51987654321"}, 400, "invalid_request", "message"),
    ("post", "/alert", {"phone": "+51987654321", "message": "hola", "level": "urgente"}, 400,
     "invalid_request", "level"),
    ("post", "/alert", {"phone": "hola", "message": "hola"}, 400, "invalid_phone", "phone"),
    ("post", "/alert", {"phone": "+51911111111", "message": "hola"}, 404, "unknown_contact", "phone"),
    ("post", "/alert", {"message": "hola"}, 400, "invalid_request", "phone"),
    ("post", "/alert", {"filter": "agro", "message": "hola"}, 400, "invalid_request", "filter"),
    ("post", "/alert", {"filter": {"bad key": 1}, "message": "hola"}, 400, "invalid_request", "filter.bad key"),
    ("get", "/alerts/pending?limit=0", None, 400, "invalid_request", "limit"),
    ("get", "/alerts/pending?limit=101", None, 400, "invalid_request", "limit"),
    ("get", "/alerts/pending?limit=many", None, 400, "invalid_request", "limit"),
    ("get", "/alerts/pending?wait=31", None, 400, "invalid_request", "wait"),
    ("get", "/alerts/pending?wait=soon", None, 400, "invalid_request", "wait"),
    ("post", "/alerts/delivery", {"status": "read"}, 400, "invalid_request", "provider_message_id"),
    ("post", "/alerts/delivery", {"provider_message_id": "wamid.X", "status": "lost"}, 400, "invalid_request",
     "status"),
    ("post", "/alerts/delivery", {"provider_message_id": "wamid.none", "status": "read"}, 404,
     "alert_not_found", None),
    ("post", "/alerts/1/sent", "[1]", 400, "invalid_json", None),
    ("post", "/alerts/1/failed", {"error": 5}, 400, "invalid_request", "error"),
    ("post", f"/alerts/{2 ** 63}/sent", None, 404, "alert_not_found", None),  # past SQLite's integers
    ("post", f"/alerts/{10 ** 30}/failed", {"error": "x"}, 404, "alert_not_found", None),
    ("get", f"/alerts/{2 ** 64}/image", None, 404, "alert_not_found", None),
    ("post", f"/alerts/{2 ** 63}/release", None, 404, "alert_not_found", None),
])
def test_http_bad_input_is_a_clear_json_error(client, db, method, path, body, status, code, param):
    add_contact(db, "+51987654321")
    data = json.dumps(body) if isinstance(body, dict) else body
    response = getattr(client, method)(path, data=data, content_type="application/json")
    assert response.status_code == status, response.json
    assert (response.json["error"]["code"], response.json["error"]["param"]) == (code, param)


def test_a_released_alert_is_due_again_at_once_without_counting_an_attempt(client, db):
    add_contact(db, "+51987654321")
    client.post("/alert", json={"phone": "+51987654321", "message": "Helada"})
    first = client.get("/alerts/pending").json["alerts"][0]
    assert client.post("/alerts/1/release", json={"lease_token": "stale"}).status_code == 409
    released = client.post("/alerts/1/release", json={"lease_token": first["lease_token"]})
    assert released.json == {"id": 1, "status": "pending"}
    again = client.get("/alerts/pending").json["alerts"][0]
    assert again["id"] == 1 and again["attempts"] == 1 and again["lease_token"] != first["lease_token"]


# --- several bridges, one per WhatsApp business number, on one backend -------------------------------
# A bridge that names its number claims only the alerts of contacts who last wrote to it, or to no
# number yet.
LEASE_S, ATTEMPTS = 60, 5


def contact_on(db, phone: str, channel: str | None) -> int:
    contact_id = add_contact(db, phone, "agro")
    db.execute("UPDATE contacts SET channel = ? WHERE id = ?", (channel, contact_id))
    return contact_id


def claimed_phones(db, channel: str = "") -> set[str]:
    return {alert["phone"] for alert in alerts.claim_due(db, 100, LEASE_S, ATTEMPTS, channel)}


def test_each_number_claims_its_own_contacts_and_those_of_no_number(db):
    for phone, channel in (("+51900000001", "111"), ("+51900000002", "222"), ("+51900000003", None)):
        alerts.create_alert(db, contact_on(db, phone, channel), f"para {phone}", "media")
    assert claimed_phones(db, "222") == {"+51900000002", "+51900000003"}
    assert claimed_phones(db, "111") == {"+51900000001"}  # the one of no number went to the first asker
    assert claimed_phones(db, "111") == set() and claimed_phones(db, "222") == set()


def test_a_bridge_that_names_no_number_claims_every_alert(db):
    for phone, channel in (("+51900000001", "111"), ("+51900000002", None)):
        alerts.create_alert(db, contact_on(db, phone, channel), "hola", "baja")
    assert claimed_phones(db) == {"+51900000001", "+51900000002"}


def test_an_expired_lease_returns_to_its_own_number_only(db):
    contact_id = contact_on(db, "+51900000001", "111")
    alert_id = alerts.create_alert(db, contact_id, "otra vez", "alta")
    assert [a["id"] for a in alerts.claim_due(db, 10, 0.01, ATTEMPTS, "111")] == [alert_id]
    db.execute("UPDATE alerts SET lease_until = 0 WHERE id = ?", (alert_id,))
    assert claimed_phones(db, "222") == set()
    assert claimed_phones(db, "111") == {"+51900000001"}


def test_the_claim_route_takes_the_bridges_number_and_refuses_a_bad_one(client, db):
    contact_on(db, "+51900000001", "111")
    contact_on(db, "+51900000002", "222")
    for phone in ("+51900000001", "+51900000002"):
        assert client.post("/alert", json={"phone": phone, "message": "Helada"}).status_code == 201
    assert [a["phone"] for a in client.get("/alerts/pending?channel=222").json["alerts"]] == ["+51900000002"]
    for bad in ("a b", "x" * 65, "ñ", "1;DROP"):
        refused = client.get("/alerts/pending", query_string={"channel": bad})
        assert refused.status_code == 400 and refused.json["error"]["param"] == "channel"
    assert [a["phone"] for a in client.get("/alerts/pending?channel=").json["alerts"]] == ["+51900000001"]
