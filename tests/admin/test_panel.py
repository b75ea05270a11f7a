"""The admin panel through Flask's test client: login, CSRF, every view, every write."""
from __future__ import annotations

import json
import re

import pytest

from admin.users import create_user, verify
from backend import conversation
from tests.admin.conftest import PASSWORD, USERNAME, csrf_token


def count(db, table: str, where: str = "1 = 1", params=()) -> int:
    return db.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}", params).fetchone()[0]


def admin_routes(app):
    """Every (url, method) the panel serves, ids filled in, except its static files and the login page."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or rule.endpoint.endswith(".static") or rule.endpoint == "admin.login":
            continue
        url = re.sub(r"<int:\w+>", "1", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield url, method


# --- logged out ---------------------------------------------------------------------------------

def test_every_admin_page_redirects_to_the_login_page_when_logged_out(app, client, db):
    routes = list(admin_routes(app))
    assert len(routes) >= 15, routes  # the enumeration found the panel's views
    knowledge_before = count(db, "knowledge")
    for url, method in routes:
        response = client.open(url, method=method, data={"title": "x", "body": "y", "message": "z"})
        assert response.status_code == 302, (method, url, response.status_code)
        assert response.headers["Location"].startswith("/admin/login?next="), (method, url)
    assert count(db, "knowledge") == knowledge_before
    assert count(db, "alerts") == 1


def test_the_login_page_and_the_static_files_are_public(client):
    page = client.get("/admin/login")
    assert page.status_code == 200 and "Iniciar sesión" in page.text
    assert client.get("/admin/static/bootstrap/bootstrap4/css/bootstrap.min.css").status_code == 200


# --- login ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("username, password", [(USERNAME, "wrong password!!"), ("nadie", PASSWORD),
                                                (USERNAME, "")])
def test_a_wrong_password_or_unknown_user_is_refused(client, db, username, password):
    token = csrf_token(client.get("/admin/login").text)
    response = client.post("/admin/login", data={"username": username, "password": password, "csrf_token": token})
    assert response.status_code in (400, 401)
    assert "Usuario o contraseña incorrectos" in response.text or "Ingrese un usuario y una contraseña" in response.text
    assert client.get("/admin/").status_code == 302  # still not signed in
    assert db.execute("SELECT last_login_at FROM admin_users").fetchone()[0] is None


def test_repeated_wrong_passwords_lock_that_username_from_that_address_only(app, client, db):
    def attempt(password: str, address: str = "127.0.0.1"):
        token = csrf_token(client.get("/admin/login").text)
        return client.post("/admin/login", data={"username": USERNAME, "password": password, "csrf_token": token},
                           environ_base={"REMOTE_ADDR": address})

    for _ in range(5):
        assert attempt("wrong password!!").status_code == 401
    locked = attempt(PASSWORD)  # even the right password waits: the guesser must not learn it
    assert locked.status_code == 429 and "Demasiadas contraseñas incorrectas" in locked.text
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    assert client.get("/admin/").status_code == 302
    assert attempt(PASSWORD, address="127.0.0.2").status_code == 302  # the real admin elsewhere gets in


def test_login_works_and_returns_to_the_page_asked_for(client, db):
    asked = client.get("/admin/alerts/?status=failed")
    login_url = asked.headers["Location"]
    token = csrf_token(client.get(login_url).text)
    response = client.post(login_url, data={"username": USERNAME, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/alerts/?status=failed"
    home = client.get("/admin/")
    assert home.status_code == 200 and USERNAME in home.text and "Cerrar sesión" in home.text
    assert db.execute("SELECT last_login_at FROM admin_users").fetchone()[0] is not None


def test_login_never_redirects_to_another_site(client):
    for target in ("https://evil.example/admin", "//evil.example/admin", "/agent", "/admin\\@evil.example"):
        token = csrf_token(client.get("/admin/login").text)
        response = client.post("/admin/login", query_string={"next": target},
                               data={"username": USERNAME, "password": PASSWORD, "csrf_token": token})
        assert response.headers["Location"] == "/admin/", target


def test_the_session_cookie_is_httponly_samesite_lax_and_scoped_to_admin(client):
    token = csrf_token(client.get("/admin/login").text)
    response = client.post("/admin/login", data={"username": USERNAME, "password": PASSWORD, "csrf_token": token})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/admin" in cookie
    assert response.headers["X-Frame-Options"] == "DENY"


def test_logout_needs_its_csrf_token_and_ends_the_session(signed_in):
    assert signed_in.post("/admin/logout").status_code == 302
    assert signed_in.get("/admin/").status_code == 200  # a logout without a token did nothing
    token = csrf_token(signed_in.get("/admin/").text)
    response = signed_in.post("/admin/logout", data={"csrf_token": token})
    assert response.headers["Location"] == "/admin/login"
    assert signed_in.get("/admin/").status_code == 302


# --- CSRF -------------------------------------------------------------------------------------------

def test_posts_without_a_valid_csrf_token_are_refused_and_write_nothing(signed_in, db):
    knowledge_before = count(db, "knowledge")  # the seed's entry, and any a plug-in brings
    for token in (None, "", "20991231000000##0000", "garbage"):
        data = {} if token is None else {"csrf_token": token}
        created = signed_in.post("/admin/knowledge/new", data={**data, "title": "T", "body": "B"})
        assert created.status_code == 400 and "recargue la página" in created.text
        edited = signed_in.post("/admin/contacts/1", data={**data, "name": "Hacked", "domain": "agro"})
        assert edited.status_code == 400
        alert = signed_in.post("/admin/alerts/new", data={**data, "target": "contact", "phone": "+51987000001",
                                                          "message": "hola", "level": "baja"})
        assert alert.status_code == 400
        deleted = signed_in.post("/admin/knowledge/1/delete", data=data)
        assert deleted.status_code == 400
        schema = signed_in.post("/admin/forms/1", data={**data, "schema": '{"type": "object"}'})
        assert schema.status_code == 400
    assert count(db, "knowledge") == knowledge_before
    assert db.execute("SELECT name FROM contacts WHERE id = 1").fetchone()[0] == "Rosa Quispe"
    assert count(db, "alerts") == 1
    assert '"texto"' in db.execute("SELECT schema FROM form_definitions WHERE id = 1").fetchone()[0]


def test_the_login_form_needs_its_csrf_token(client):
    client.get("/admin/login")
    response = client.post("/admin/login", data={"username": USERNAME, "password": PASSWORD})
    assert response.status_code == 400 and "recargue la página" in response.text
    assert client.get("/admin/").status_code == 302


def test_a_token_from_another_session_is_refused(app, signed_in):
    stranger = app.test_client()
    foreign_token = csrf_token(stranger.get("/admin/login").text)
    response = signed_in.post("/admin/knowledge/new", data={"title": "T", "body": "B", "csrf_token": foreign_token})
    assert response.status_code == 400


# --- the views list what is in the database -------------------------------------------------------

def test_home_counts_what_is_stored(signed_in):
    page = signed_in.get("/admin/").text
    assert re.search(r">4</div><div class=\"text-muted\">contactos", page)
    assert "fallida: 1" in page


def test_contacts_are_listed_and_searchable(signed_in):
    page = signed_in.get("/admin/contacts/").text
    for shown in ("+51987000001", "Rosa Quispe", "Juan Mamani", "running", "ciudad", "2023-11-14"):
        assert shown in page
    found = signed_in.get("/admin/contacts/?q=mamani").text
    assert "Juan Mamani" in found and "Rosa Quispe" not in found
    assert "+51987000003" in signed_in.get("/admin/contacts/?q=000003").text
    assert "Ningún contacto coincide" in signed_in.get("/admin/contacts/?q=%25").text  # % is literal, not a wildcard


def test_a_contact_shows_its_profile_and_saves_edits(signed_in, post_form, db):
    page = signed_in.get("/admin/contacts/1").text
    assert "&#34;cultivo&#34;: &#34;maíz&#34;" in page or '"cultivo": "maíz"' in page.replace("&#34;", '"')
    response = post_form("/admin/contacts/1", {"name": "Rosa Q.", "domain": "running", "opted_out": "y"})
    assert response.status_code == 302
    row = db.execute("SELECT name, domain, opted_out FROM contacts WHERE id = 1").fetchone()
    assert row == ("Rosa Q.", "running", 1)


def test_a_contact_edit_with_a_bad_domain_writes_nothing(post_form, db):
    response = post_form("/admin/contacts/1", {"name": "Rosa", "domain": "Not A Domain!"})
    assert response.status_code == 400 and "No se guardó nada" in response.text
    assert db.execute("SELECT name, domain FROM contacts WHERE id = 1").fetchone() == ("Rosa Quispe", "agro")


def test_a_conversation_reads_oldest_to_newest_and_escapes_html(signed_in):
    page = signed_in.get("/admin/conversations/?contact=1").text
    first, second = page.index("¿Cuándo riego mi maíz?"), page.index("Riega el jueves: 25 mm.")
    assert first < second
    assert "model" in page
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "+51987000002" in signed_in.get("/admin/conversations/").text  # every contact can be picked


def test_alerts_show_their_delivery_state_and_filter_by_status(signed_in):
    page = signed_in.get("/admin/alerts/").text
    for shown in ("Helada esta noche", "failed", "bridge: number not on WhatsApp", "alta"):
        assert shown in page
    assert "Helada esta noche" in signed_in.get("/admin/alerts/?status=failed").text
    assert "Helada esta noche" not in signed_in.get("/admin/alerts/?status=pending").text


def test_form_definitions_and_knowledge_are_listed(signed_in):
    forms = signed_in.get("/admin/forms/").text
    assert "nota" in forms and "example" in forms
    assert "minLength" in signed_in.get("/admin/forms/1").text
    knowledge = signed_in.get("/admin/knowledge/").text
    assert "Riego del maíz" in knowledge and "25 mm por semana" in knowledge


# --- creating alerts --------------------------------------------------------------------------------

def test_an_alert_for_one_contact_is_written_pending(post_form, db):
    response = post_form("/admin/alerts/new", {"target": "contact", "phone": "51 987 000 001",
                                               "message": "Lluvia fuerte mañana", "level": "alta"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/alerts/?status=pending"
    row = db.execute("SELECT contact_id, message, level, status, attempts, broadcast FROM alerts "
                     "WHERE message = 'Lluvia fuerte mañana'").fetchone()
    assert row == (1, "Lluvia fuerte mañana", "alta", "pending", 0, None)


def test_an_alert_for_a_group_matches_domain_and_profile_and_skips_opted_out(post_form, db):
    response = post_form("/admin/alerts/new", {"target": "group", "domain": "agro", "profile_filters": "cultivo=MAÍZ",
                                               "message": "Plaga de cogollero", "level": "media"})
    assert response.status_code == 302
    rows = db.execute("SELECT contact_id, status, broadcast FROM alerts "
                      "WHERE message = 'Plaga de cogollero'").fetchall()
    assert [r[0] for r in rows] == [1]  # Juan grows papa; Pedro opted out
    assert rows[0][1] == "pending" and rows[0][2]
    post_form("/admin/alerts/new", {"target": "group", "domain": "agro", "message": "Todos", "level": "baja"})
    assert count(db, "alerts", "message = 'Todos'") == 2


@pytest.mark.parametrize("data, problem", [
    ({"target": "contact", "phone": "+51999999999"}, "ningún contacto con el teléfono"),
    ({"target": "contact", "phone": "hola"}, "not a phone number"),
    ({"target": "contact", "phone": ""}, "ingrese el número de teléfono del contacto"),
    ({"target": "contact", "phone": "+51987000004"}, "se dio de baja"),
    ({"target": "group", "domain": ""}, "un grupo necesita un dominio"),
    ({"target": "group", "domain": "agro", "profile_filters": "no equals sign"}, "escriba clave=valor"),
    ({"target": "group", "domain": "agro", "profile_filters": "cultivo=quinua"}, "ningún contacto"),
    ({"target": "contact", "phone": "+51987000001", "level": "urgente"}, "Opción inválida"),
    ({"target": "contact", "phone": "+51987000001", "message": "   "}, "Este campo es obligatorio"),
])
def test_a_bad_alert_is_refused_with_a_message_and_writes_nothing(post_form, db, data, problem):
    response = post_form("/admin/alerts/new", {"message": "Aviso", "level": "baja", **data})
    assert response.status_code == 400
    assert problem in response.text
    assert count(db, "alerts") == 1


# --- form schemas -------------------------------------------------------------------------------------

@pytest.mark.parametrize("schema, problem", [
    ("{not json", "no es JSON válido"),
    ("[1, 2]", "debe ser un objeto JSON"),
    ('{"type": "objeto"}', "no es un esquema JSON válido"),
    ('{"type": "object", "properties": {"texto": {"minLength": -1}}}', "no es un esquema JSON válido en properties/texto"),
])
def test_an_invalid_form_schema_is_refused_and_nothing_written(post_form, db, schema, problem):
    before = db.execute("SELECT schema, updated_at FROM form_definitions WHERE id = 1").fetchone()
    response = post_form("/admin/forms/1", {"schema": schema})
    assert response.status_code == 400
    assert problem in response.text and "No se guardó nada" in response.text
    assert db.execute("SELECT schema, updated_at FROM form_definitions WHERE id = 1").fetchone() == before


def test_a_valid_form_schema_is_saved(post_form, db):
    schema = {"type": "object", "properties": {"texto": {"type": "string", "maxLength": 500}}, "required": ["texto"]}
    response = post_form("/admin/forms/1", {"schema": json.dumps(schema)})
    assert response.status_code == 302
    assert json.loads(db.execute("SELECT schema FROM form_definitions WHERE id = 1").fetchone()[0]) == schema


# --- knowledge base -----------------------------------------------------------------------------------

def test_knowledge_entries_are_created_edited_and_deleted(post_form, db):
    created = post_form("/admin/knowledge/new", {"title": "Helada", "domain": "", "body": "Cubre las plantas."})
    assert created.status_code == 302
    entry_id, domain, source = db.execute("SELECT id, domain, source FROM knowledge WHERE title = 'Helada'").fetchone()
    assert domain is None and source == "admin"
    # The full-text index follows (FTS5's triggers; PostgreSQL's expression index).
    assert [k["titulo"] for k in conversation.search_knowledge(db, None, "plantas")] == ["Helada"]

    edited = post_form(f"/admin/knowledge/{entry_id}", {"title": "Heladas", "domain": "agro", "body": "Riega antes."})
    assert edited.status_code == 302
    assert db.execute("SELECT title, domain, body FROM knowledge WHERE id = ?", [entry_id]).fetchone() == \
        ("Heladas", "agro", "Riega antes.")
    assert conversation.search_knowledge(db, "agro", "plantas") == []  # the index follows the edit
    assert "Heladas" in [k["titulo"] for k in conversation.search_knowledge(db, "agro", "riega")]

    deleted = post_form("/admin/knowledge/", {}, action=f"/admin/knowledge/{entry_id}/delete")
    assert deleted.status_code == 302
    assert count(db, "knowledge", "id = ?", [entry_id]) == 0


def test_a_knowledge_entry_without_a_title_is_refused(post_form, db):
    before = count(db, "knowledge")
    response = post_form("/admin/knowledge/new", {"title": "  ", "body": "texto"})
    assert response.status_code == 400 and "No se guardó nada" in response.text
    assert count(db, "knowledge") == before


def test_unknown_ids_say_so(signed_in):
    for url in ("/admin/contacts/99", "/admin/forms/99", "/admin/knowledge/99"):
        response = signed_in.get(url, follow_redirects=True)
        assert response.status_code == 200 and "No hay" in response.text, url


# --- accounts -----------------------------------------------------------------------------------------

def test_accounts_store_a_scrypt_hash_and_refuse_bad_input(db):
    create_user(db, "carla", "diez letras")
    stored = db.execute("SELECT password_hash FROM admin_users WHERE username = 'carla'").fetchone()[0]
    assert stored.startswith("scrypt:") and "diez letras" not in stored
    assert verify(db, "carla", "diez letras") and not verify(db, "carla", "diez letraS")
    for username, password in (("", "long enough pw"), ("   ", "long enough pw"), ("dora", "short")):
        with pytest.raises(ValueError):
            create_user(db, username, password)
    with pytest.raises(ValueError, match="already exists"):
        create_user(db, "carla", "otra clave larga")
