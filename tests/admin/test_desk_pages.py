"""The officer's desk in the panel (Flask client, real backend app, real SQLite file): the inbox,
taking over, replying, handing back, one officer at a time, ratings to review with the right
answer into the knowledge base, and a contact's data downloaded or deleted from the panel."""
from __future__ import annotations

import json

from backend import ratings, takeovers
from backend.store.database import transaction
from tests.admin.conftest import OFFICER, USERNAME, post_with_token


def ask_for_person(db, contact_id: int = 1, reason: str = "asked") -> int:
    with transaction(db) as connection:
        return takeovers.request(connection, contact_id, reason)


def test_the_inbox_lists_who_waits_with_the_reason_and_last_messages(signed_in, db):
    ask_for_person(db, 1)
    ask_for_person(db, 2, "not_understood")
    page = signed_in.get("/admin/inbox/?lang=en")
    assert page.status_code == 200
    html = page.text
    assert html.index("+51987000002") < html.index("+51987000001")  # newest first
    assert "not understood twice" in html and "asked for a person" in html
    assert "Riega el jueves: 25 mm." in html and "&lt;script&gt;" in html  # the last messages, escaped


def test_take_reply_and_hand_back_from_the_panel(signed_in, db):
    takeover_id = ask_for_person(db)
    page = f"/admin/inbox/{takeover_id}"
    assert post_with_token(signed_in, page, {}, f"{page}/take").status_code == 302
    assert db.execute("SELECT status, officer FROM takeovers").fetchone() == ("taken", USERNAME)
    assert post_with_token(signed_in, page, {"text": "Hola Rosa, te ayudo yo."}, f"{page}/reply").status_code == 302
    row = db.execute("SELECT m.body, m.officer, a.kind, a.status FROM messages m JOIN alerts a ON a.message_id = m.id "
                     "WHERE m.source = 'officer'").fetchone()
    assert row == ("Hola Rosa, te ayudo yo.", USERNAME, "reply", "pending")
    db.execute("UPDATE alerts SET status = 'sent', delivery_status = 'delivered' WHERE kind = 'reply'")
    shown = signed_in.get(page + "?lang=en").text
    assert "Hola Rosa, te ayudo yo." in shown and "delivered" in shown
    assert post_with_token(signed_in, page, {}, f"{page}/hand-back").status_code == 302
    assert db.execute("SELECT status, returned_by FROM takeovers").fetchone() == ("returned", USERNAME)
    kinds = [r[0] for r in db.execute("SELECT kind FROM alerts WHERE contact_id = 1 ORDER BY id")]
    assert kinds == ["notice", "reply", "notice"]
    audit = signed_in.get("/admin/audit/?lang=en").text
    assert "conversation taken over" in audit and "officer&#39;s reply" in audit and "handed back" in audit


def test_only_one_officer_holds_a_conversation_and_another_sees_who(signed_in, officer, db):
    takeover_id = ask_for_person(db)
    page = f"/admin/inbox/{takeover_id}"
    post_with_token(signed_in, page, {}, f"{page}/take")
    seen = officer.get(page + "?lang=en").text
    assert f"{USERNAME} is attending this conversation" in seen and 'id="reply"' not in seen
    refused = post_with_token(officer, page, {"text": "yo también"}, f"{page}/reply")
    assert refused.status_code == 409 and f"{USERNAME} is attending" in refused.text
    assert db.execute("SELECT COUNT(*) FROM messages WHERE source = 'officer'").fetchone()[0] == 0
    assert f"{USERNAME} is attending" in officer.get(page + "?lang=en").text
    post_with_token(officer, page, {}, f"{page}/hand-back")
    assert db.execute("SELECT status FROM takeovers").fetchone()[0] == "taken"


def test_an_officer_takes_over_a_conversation_nobody_asked_for(officer, db):
    response = post_with_token(officer, "/admin/inbox/", {"contact": "3"}, "/admin/inbox/start")
    assert response.status_code == 302 and "/admin/inbox/" in response.headers["Location"]
    assert db.execute("SELECT contact_id, reason, officer FROM takeovers").fetchone() == (3, "officer", OFFICER)


def test_bad_desk_posts_change_nothing_and_never_fail(signed_in, db):
    takeover_id = ask_for_person(db)
    page = f"/admin/inbox/{takeover_id}"
    assert signed_in.post(f"{page}/take", data={}).status_code == 400  # no CSRF token
    assert db.execute("SELECT status FROM takeovers").fetchone()[0] == "waiting"
    assert post_with_token(signed_in, page, {"text": "hola"}, f"{page}/reply").status_code == 400  # not taken
    assert post_with_token(signed_in, page, {"text": ""}, f"{page}/reply").status_code == 400
    assert post_with_token(signed_in, page, {"contact": "abc"}, "/admin/inbox/start").status_code == 400
    assert post_with_token(signed_in, page, {"contact": "999"}, "/admin/inbox/start").status_code == 400
    assert signed_in.get("/admin/inbox/999").status_code == 302
    assert signed_in.get("/admin/inbox/?status=nada").status_code == 200
    assert db.execute("SELECT COUNT(*) FROM messages WHERE source = 'officer'").fetchone()[0] == 0


def rated_reply(db, value: int) -> int:
    with transaction(db) as connection:
        reply_id = connection.execute("SELECT id FROM messages WHERE direction = 'out'").fetchone()[0]
        connection.execute("UPDATE messages SET in_reply_to = (SELECT MIN(id) FROM messages) WHERE id = ?", [reply_id])
        ratings.rate(connection, reply_id, value, "reaction", "👎" if value < 0 else "👍")
    return db.execute("SELECT id FROM ratings").fetchone()[0]


def test_bad_answers_to_review_and_the_right_answer_joins_the_knowledge_base(officer, db):
    rating_id = rated_reply(db, -1)
    page = officer.get("/admin/ratings/?lang=en").text
    assert "¿Cuándo riego mi maíz?" in page and "Riega el jueves: 25 mm." in page and "model" in page
    response = post_with_token(officer, "/admin/ratings/", {"title": "Riego del maíz en floración",
                                                            "body": "En floración riega cada 4 días, unos 30 mm."},
                               f"/admin/ratings/{rating_id}/review")
    assert response.status_code == 302
    entry = db.execute("SELECT domain, title, body, source FROM knowledge WHERE title LIKE '%floración'").fetchone()
    assert entry == ("agro", "Riego del maíz en floración", "En floración riega cada 4 días, unos 30 mm.",
                     f"officer {OFFICER}")
    assert db.execute("SELECT reviewed_by, knowledge_id IS NOT NULL FROM ratings").fetchone() == (OFFICER, 1)
    assert "¿Cuándo riego" not in officer.get("/admin/ratings/").text  # reviewed: off the to-review list
    from backend import conversation
    assert conversation.search_knowledge(db, "agro", "riego en floración del maíz")[0]["titulo"] == \
        "Riego del maíz en floración"


def test_a_rating_can_be_marked_reviewed_and_good_ones_are_listed_apart(signed_in, db):
    rating_id = rated_reply(db, 1)
    assert "Riega el jueves" not in signed_in.get("/admin/ratings/").text  # bad ones by default
    assert "Riega el jueves" in signed_in.get("/admin/ratings/?value=good").text
    post_with_token(signed_in, "/admin/ratings/", {}, f"/admin/ratings/{rating_id}/review")
    assert db.execute("SELECT reviewed_by, knowledge_id FROM ratings").fetchone() == (USERNAME, None)
    assert post_with_token(signed_in, "/admin/ratings/", {}, "/admin/ratings/999/review").status_code == 404


def test_a_contacts_data_is_downloaded_and_deleted_from_the_panel(officer, db):
    response = officer.get("/admin/personal-data/1/export")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.data)
    assert data["contacto"]["phone"] == "+51987000001" and len(data["messages"]) == 3
    page = "/admin/personal-data/1/erase"
    assert "+51987000001" in officer.get(page).text
    assert post_with_token(officer, page, {"phone": "+51987000002"}).status_code == 400  # another phone: nothing deleted
    assert db.execute("SELECT COUNT(*) FROM contacts WHERE id = 1").fetchone()[0] == 1
    done = post_with_token(officer, page, {"phone": "51987000001"})
    assert done.status_code == 302
    assert db.execute("SELECT COUNT(*) FROM contacts WHERE id = 1").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM messages WHERE contact_id = 1").fetchone()[0] == 0
    assert db.execute("SELECT requested_via FROM erasures").fetchall() == [("panel",)]
    actions = [r[0] for r in db.execute("SELECT action FROM audit_log WHERE officer = ? ORDER BY id", [OFFICER])]
    assert actions == ["export_data", "erase_contact"]
    assert officer.get(page).status_code == 302 and officer.get("/admin/personal-data/1/export").status_code == 302


def test_desk_pages_need_a_login(client):
    for page in ("/admin/inbox/", "/admin/inbox/1", "/admin/ratings/", "/admin/personal-data/1/export",
                 "/admin/personal-data/1/erase"):
        response = client.get(page)
        assert response.status_code == 302 and "/admin/login" in response.headers["Location"], page
