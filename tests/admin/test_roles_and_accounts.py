"""Roles: an officer reads, takes over and sends alerts; an admin also manages accounts, forms, the
knowledge base and contacts. The accounts page, its rules, the CLI, and the audit log of every
action."""
from __future__ import annotations

import json
import re

import pytest

from admin import users
from admin.users import create_user, verify
from backend.store.database import transaction
from chasqui import cli
from tests.admin.conftest import OFFICER, PASSWORD, USERNAME, post_with_token, sign_in
from tests.databases import database_env, store_location


def count(db, table: str, where: str = "1 = 1", params=()) -> int:
    return db.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}", params).fetchone()[0]


def audit_rows(db) -> list[tuple]:
    return db.execute("SELECT officer, action, target, contact_id, detail FROM audit_log ORDER BY id").fetchall()


def user_id(db, username: str) -> int:
    return db.execute("SELECT id FROM admin_users WHERE username = ?", (username,)).fetchone()[0]


# --- officers ------------------------------------------------------------------------------------------

def test_an_officer_cannot_reach_accounts_and_does_not_see_them_in_the_menu(officer, signed_in, db):
    menu = officer.get("/admin/contacts/").text
    assert "/admin/users/" not in menu and "/admin/audit/" in menu and "(extensionista)" in menu
    assert "/admin/users/" in signed_in.get("/admin/contacts/").text
    page = officer.get("/admin/users/")
    assert page.status_code == 403 and "Solo para administradores" in page.text
    for url, data in (("/admin/users/new", {"username": "eve", "password": "x" * 12, "role": "admin"}),
                      (f"/admin/users/{user_id(db, OFFICER)}/role", {"role": "admin"}),
                      (f"/admin/users/{user_id(db, USERNAME)}/password", {"password": "y" * 12}),
                      (f"/admin/users/{user_id(db, USERNAME)}/delete", {})):
        assert post_with_token(officer, "/admin/audit/", data, url).status_code == 403, url
    assert db.execute("SELECT username, role FROM admin_users ORDER BY id").fetchall() == \
        [(USERNAME, "admin"), (OFFICER, "officer")]
    assert verify(db, USERNAME, PASSWORD) and audit_rows(db) == []


def test_an_officer_reads_forms_and_knowledge_but_cannot_change_them(officer, db):
    schema_before = db.execute("SELECT schema FROM form_definitions WHERE id = 1").fetchone()[0]
    knowledge_before = db.execute("SELECT id, title, body FROM knowledge ORDER BY id").fetchall()
    form_page = officer.get("/admin/forms/1")
    assert form_page.status_code == 200 and "minLength" in form_page.text and 'id="read-only"' in form_page.text
    assert ">Save</button>" not in form_page.text
    assert post_with_token(officer, "/admin/forms/1", {"schema": '{"type": "object"}'}).status_code == 403
    knowledge = officer.get("/admin/knowledge/").text
    assert "Riego del maíz" in knowledge and "Nueva entrada" not in knowledge and "/delete" not in knowledge
    assert officer.get("/admin/knowledge/1").status_code == 200
    assert officer.get("/admin/knowledge/new").status_code == 403
    for url, data in (("/admin/knowledge/new", {"title": "T", "body": "B"}),
                      ("/admin/knowledge/1", {"title": "Cambiado", "body": "B"}),
                      ("/admin/knowledge/1/delete", {}),
                      ("/admin/contacts/1", {"name": "Cambiado", "domain": "agro"})):
        response = post_with_token(officer, "/admin/audit/", data, url)
        assert response.status_code == 403 and "Solo para administradores" in response.text, url
    assert db.execute("SELECT schema FROM form_definitions WHERE id = 1").fetchone()[0] == schema_before
    assert db.execute("SELECT id, title, body FROM knowledge ORDER BY id").fetchall() == knowledge_before
    assert db.execute("SELECT name FROM contacts WHERE id = 1").fetchone()[0] == "Rosa Quispe"
    assert audit_rows(db) == []


def test_an_officer_reads_every_list_and_sends_alerts_which_are_audited(officer, db):
    for url in ("/admin/contacts/", "/admin/contacts/1", "/admin/conversations/", "/admin/conversations/?contact=1",
                "/admin/conversations/search?q=maiz", "/admin/alerts/", "/admin/voice-notes/", "/admin/failures/",
                "/admin/forms/", "/admin/audit/"):
        assert officer.get(url).status_code == 200, url
    sent = post_with_token(officer, "/admin/alerts/new", {"target": "contact", "phone": "+51987000002",
                                                          "message": "Helada", "level": "alta"})
    assert sent.status_code == 302
    alert_id = db.execute("SELECT id FROM alerts WHERE message = 'Helada'").fetchone()[0]
    assert audit_rows(db) == [(OFFICER, "alert", f"alert {alert_id}", 2, "level alta")]


def test_a_changed_role_applies_from_the_next_request(officer, db):
    assert officer.get("/admin/users/").status_code == 403
    with transaction(db) as connection:
        users.set_role(connection, user_id(db, OFFICER), "admin")
    assert officer.get("/admin/users/").status_code == 200


# --- the accounts page ------------------------------------------------------------------------------------

def test_an_admin_creates_an_account_changes_its_role_resets_its_password_and_deletes_it(signed_in, post_form, app, db):
    created = post_form("/admin/users/", {"username": "  carla ", "password": "diez letras!", "role": "officer"},
                        action="/admin/users/new")
    assert created.status_code == 302
    carla = user_id(db, "carla")
    page = signed_in.get("/admin/users/").text
    assert "carla" in page and f'id="account-{carla}"' in page
    assert sign_in(app.test_client(), "carla", "diez letras!").status_code == 302

    assert post_form("/admin/users/", {"role": "admin"}, action=f"/admin/users/{carla}/role").status_code == 302
    assert db.execute("SELECT role FROM admin_users WHERE id = ?", (carla,)).fetchone()[0] == "admin"
    assert post_form("/admin/users/", {"password": "otra clave larga"},
                     action=f"/admin/users/{carla}/password").status_code == 302
    assert verify(db, "carla", "otra clave larga") and not verify(db, "carla", "diez letras!")
    assert post_form("/admin/users/", {}, action=f"/admin/users/{carla}/delete").status_code == 302
    assert count(db, "admin_users", "username = 'carla'") == 0

    target = f"account {carla}"
    assert audit_rows(db) == [(USERNAME, "create_account", target, None, "carla: officer"),
                              (USERNAME, "change_role", target, None, "carla: officer -> admin"),
                              (USERNAME, "reset_password", target, None, "carla"),
                              (USERNAME, "delete_account", target, None, "carla (admin)")]
    assert "otra clave" not in json.dumps(audit_rows(db))  # never a password


@pytest.mark.parametrize("data, problem", [
    ({"username": USERNAME, "password": "long enough pw", "role": "officer"}, "ya existe"),
    ({"username": "dora", "password": "short", "role": "officer"}, "entre 10"),
    ({"username": "", "password": "long enough pw", "role": "officer"}, "Este campo es obligatorio"),
    ({"username": "dora", "password": "long enough pw", "role": "root"}, "Opción inválida"),
])
def test_a_bad_account_is_refused_and_nothing_written(post_form, db, data, problem):
    response = post_form("/admin/users/", data, action="/admin/users/new")
    assert response.status_code == 400 and problem in response.text
    assert count(db, "admin_users") == 1 and audit_rows(db) == []


def test_you_cannot_delete_yourself_nor_demote_the_last_admin(signed_in, post_form, officer, db):
    me = user_id(db, USERNAME)
    refused = post_form("/admin/users/", {}, action=f"/admin/users/{me}/delete")
    assert refused.status_code == 400 and "su propia cuenta" in refused.text
    demoted = post_form("/admin/users/", {"role": "officer"}, action=f"/admin/users/{me}/role")
    assert demoted.status_code == 400 and "la única cuenta de administrador" in demoted.text
    assert db.execute("SELECT role FROM admin_users WHERE id = ?", (me,)).fetchone()[0] == "admin"
    with pytest.raises(users.LastAdmin), transaction(db) as connection:  # no page can: the last admin is you
        users.delete_user(connection, me)
    # With a second admin, one may become an officer.
    with transaction(db) as connection:
        users.set_role(connection, user_id(db, OFFICER), "admin")
    assert post_form("/admin/users/", {"role": "officer"}, action=f"/admin/users/{me}/role").status_code == 302
    assert signed_in.get("/admin/users/").status_code == 403  # and is one at once
    assert post_form("/admin/audit/", {}, action="/admin/users/999/delete").status_code == 403


def test_account_changes_need_their_csrf_token(signed_in, db):
    carla = create_user(db, "carla", "diez letras!", role="officer")
    for url, data in (("/admin/users/new", {"username": "eve", "password": "long enough pw", "role": "admin"}),
                      (f"/admin/users/{carla}/role", {"role": "admin"}),
                      (f"/admin/users/{carla}/password", {"password": "long enough pw"}),
                      (f"/admin/users/{carla}/delete", {})):
        for token in ({}, {"csrf_token": "garbage"}):
            response = signed_in.post(url, data={**data, **token})
            assert response.status_code == 400 and "recargue la página" in response.text, url
    assert db.execute("SELECT username, role FROM admin_users ORDER BY id").fetchall() == \
        [(USERNAME, "admin"), ("carla", "officer")]
    assert verify(db, "carla", "diez letras!") and audit_rows(db) == []


def test_unknown_accounts_say_so(post_form):
    response = post_form("/admin/users/", {"role": "admin"}, action="/admin/users/999/role")
    assert response.status_code == 400 and "ninguna cuenta con id 999" in response.text


# --- the audit log ----------------------------------------------------------------------------------------

def test_every_write_of_the_panel_is_audited_with_its_officer_and_shown(post_form, signed_in, db):
    post_form("/admin/contacts/1", {"name": "Rosa Q.", "domain": "agro"})
    post_form("/admin/alerts/new", {"target": "group", "domain": "agro", "profile_filters": "cultivo=maíz",
                                    "message": "Plaga", "level": "media"})
    post_form("/admin/forms/1", {"schema": '{"type": "object"}'})
    post_form("/admin/knowledge/new", {"title": "Helada", "body": "Cubre las plantas."})
    entry = db.execute("SELECT id FROM knowledge WHERE title = 'Helada'").fetchone()[0]
    post_form(f"/admin/knowledge/{entry}", {"title": "Heladas", "body": "Riega antes."})
    post_form("/admin/knowledge/", {}, action=f"/admin/knowledge/{entry}/delete")
    post_form("/admin/alerts/new", {"target": "contact", "phone": "+51999999999", "message": "x", "level": "baja"})
    rows = audit_rows(db)
    assert [(r[0], r[1]) for r in rows] == [(USERNAME, a) for a in (
        "edit_contact", "broadcast", "edit_form", "create_knowledge", "edit_knowledge", "delete_knowledge")]
    assert rows[0][2:] == ("contact 1", 1, "changed: name")
    assert rows[1][4].startswith("1 alerts, level media, domain agro") and rows[1][2].startswith("broadcast ")
    assert rows[2][2] == "form 1" and rows[3][2] == rows[5][2] == f"knowledge {entry}"
    assert not any("+51" in str(value) for row in rows for value in row)  # never a phone

    page = signed_in.get("/admin/audit/").text.split('id="audit"')[1]
    assert page.index("delete_knowledge") < page.index("edit_contact")  # newest first
    assert "/admin/conversations/?contact=1" in page and "+51987000001" not in page
    only_forms = signed_in.get("/admin/audit/?action=edit_form").text
    assert "form 1" in only_forms and "contact 1<" not in only_forms
    assert "No hay registros" in signed_in.get("/admin/audit/?officer=nadie").text
    assert "edit_contact" in signed_in.get(f"/admin/audit/?officer={USERNAME}&contact=1").text


def test_the_audit_log_pages_and_both_roles_read_it(officer, signed_in, db):
    db.executemany("INSERT INTO audit_log (officer, action, target, created_at) VALUES (?, 'reply', ?, ?)",
                        [(OFFICER, f"takeover {n}", 1_700_000_000 + n) for n in range(60)])
    first = officer.get("/admin/audit/").text
    assert "takeover 59" in first and "takeover 9<" not in first
    older = re.search(r'href="([^"]*before=\d+)"', first).group(1).replace("&amp;", "&")
    assert "takeover 9<" in officer.get(older).text
    assert "takeover 59" in signed_in.get(f"/admin/audit/?officer={OFFICER}").text


# --- the CLI ------------------------------------------------------------------------------------------------

def test_the_cli_creates_officers_and_admins_and_changes_roles(tmp_path, monkeypatch, capsys):
    for name, value in database_env(tmp_path / "cli.db").items():  # its PostgreSQL stand-in too
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CHASQUI_ADMIN_PASSWORD", "una clave larga")
    assert cli.main(["admin", "create-user", "ana", "--role", "officer"]) == 0
    assert cli.main(["admin", "create-user", "beto"]) == 0
    assert "officer user 'ana' created" in capsys.readouterr().out
    from backend.store.database import open_database
    db = open_database(store_location(tmp_path / "cli.db"))
    assert db.execute("SELECT username, role FROM admin_users ORDER BY id").fetchall() == [("ana", "officer"),
                                                                                            ("beto", "admin")]
    assert cli.main(["admin", "set-role", "ana", "admin"]) == 0
    assert cli.main(["admin", "set-role", "beto", "officer"]) == 0
    assert cli.main(["admin", "set-role", "ana", "officer"]) == 2  # the last admin
    assert "only admin" in capsys.readouterr().err
    assert cli.main(["admin", "set-role", "nadie", "admin"]) == 2
    assert cli.main(["admin", "create-user", "ana"]) == 2
    assert [r[0:2] for r in audit_rows(db)] == [("cli", "create_account"), ("cli", "create_account"),
                                                ("cli", "change_role"), ("cli", "change_role")]
    with pytest.raises(SystemExit):
        cli.main(["admin", "create-user", "eve", "--role", "root"])
