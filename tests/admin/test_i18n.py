"""The panel in Spanish by default, English on request (admin/i18n.py); our catalog complete and
compiled; flask-admin's and WTForms' own Spanish kept; times in the deployment's zone."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from babel.messages.mofile import read_mo

from tests.admin.conftest import USERNAME, post_with_token, sign_in

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("chasqui_admin_translations", ROOT / "admin/translations/update.py")
update = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(update)


def navbar(html: str) -> str:
    return re.sub(r"\s+", " ", html[html.find("<nav"):html.find("</nav>")])


# -- the catalog -------------------------------------------------------------------------------

def test_every_string_of_the_panel_has_its_spanish_translation():
    """Extracted with babel.cfg (admin/ and the plug-ins' admin pages, Python and Jinja) and merged
    as update.py does: a string marked with _() but missing from the .po, or with an empty or
    fuzzy msgstr, is listed here."""
    catalog = update.merged(update.extract())
    missing = update.untranslated(catalog)
    assert not missing, (f"{len(missing)} strings lack a Spanish translation: run "
                         "`.venv/bin/python admin/translations/update.py`, fill their msgstr in "
                         f"{update.po_path().relative_to(ROOT)} and run it again:\n"
                         + "\n".join(f"  {msgid!r}" for msgid in missing))
    stored = update.read_catalog()
    extracted = {m.id if isinstance(m.id, str) else m.id[0] for m in update.extract() if m.id}
    in_po = {m.id if isinstance(m.id, str) else m.id[0] for m in stored if m.id}
    assert not extracted - in_po, "not in the .po yet (run update.py): " + ", ".join(map(repr, extracted - in_po))


def test_the_committed_mo_is_compiled_from_the_po():
    with update.mo_path().open("rb") as handle:
        compiled = read_mo(handle)
    stored = update.read_catalog()
    def entries(catalog):
        return {_key(m.id): _key(m.string) for m in catalog  # pybabel compile leaves out the untranslated
                if m.id and not m.fuzzy and all(_key(m.string) if not isinstance(m.string, str) else [m.string])}

    expected, found = entries(stored), entries(compiled)
    stale = sorted(str(k) for k in set(expected) ^ set(found)) + sorted(
        str(k) for k in expected if k in found and found[k] != expected[k])
    assert not stale, ("messages.mo is not the compilation of messages.po: run "
                       "`.venv/bin/python admin/translations/update.py`. Differs: " + ", ".join(stale[:20]))


def _key(value):
    return value if isinstance(value, str) else tuple(value)


def test_spanish_plurals_with_ngettext(app):
    from flask_babel import ngettext

    with app.test_request_context("/admin/"):
        assert ngettext("Too many wrong passwords. Try again in %(num)d minute.",
                        "Too many wrong passwords. Try again in %(num)d minutes.", 1) \
            == "Demasiadas contraseñas incorrectas. Vuelva a intentarlo en 1 minuto."
        assert ngettext("Too many wrong passwords. Try again in %(num)d minute.",
                        "Too many wrong passwords. Try again in %(num)d minutes.", 15).endswith("en 15 minutos.")


# -- Spanish by default ------------------------------------------------------------------------

def test_the_login_page_is_in_spanish(client):
    page = client.get("/admin/login")
    assert '<html lang="es">' in page.text
    assert "<title>Iniciar sesión - Chasqui</title>" in page.text
    assert ">Usuario</label>" in page.text and ">Contraseña</label>" in page.text
    refused = sign_in(client, USERNAME, "not the password")
    assert refused.status_code == 401 and "Usuario o contraseña incorrectos." in refused.text


def test_the_navbar_and_flask_admins_own_texts_are_in_spanish(signed_in):
    nav = navbar(signed_in.get("/admin/").text)
    for menu in ("Inicio", "Contactos", "Conversaciones", "Alertas", "Formularios", "Conocimiento", "Notas de voz",
                 "Fallos", "Registro de acciones", "Cuentas", "Cerrar sesión"):
        assert f"> {menu}</a>" in nav or f">{menu}<" in nav, menu
    assert "Contacts" not in nav and "Log out" not in nav
    assert 'hreflang="en"' in nav  # the switch


def test_the_dashboard_and_contacts_are_in_spanish(signed_in):
    home = signed_in.get("/admin/").text
    assert "Mensajes por día" in home and "Alertas por estado de entrega" in home
    contacts = signed_in.get("/admin/contacts/").text
    assert "<th>Teléfono</th><th>Nombre</th>" in contacts and "conversación</a>" in contacts


def test_the_alert_form_and_wtforms_messages_are_in_spanish(signed_in):
    form = signed_in.get("/admin/alerts/new").text
    assert "Nueva alerta" in form and "Un contacto" in form and "Enviar a" in form
    refused = post_with_token(signed_in, "/admin/alerts/new",
                              {"target": "contact", "phone": "", "message": "", "level": "nope"})
    assert refused.status_code == 400
    assert "Este campo es obligatorio." in refused.text  # WTForms' own catalog (DataRequired)
    assert "Opción inválida" in refused.text  # WTForms' SelectField
    assert "ingrese el número de teléfono del contacto" in refused.text  # ours
    assert "No se guardó nada: corrija los campos marcados abajo." in refused.text


def test_audit_actions_are_shown_translated_but_filtered_by_their_code(signed_in, post_form):
    post_form("/admin/contacts/1", {"name": "Rosa Q.", "domain": "agro"})
    page = signed_in.get("/admin/audit/").text
    assert 'title="edit_contact">contacto editado</a>' in page
    assert "/admin/audit/?action=edit_contact" in page


# -- English on request ------------------------------------------------------------------------

def test_lang_en_switches_to_english_and_sticks_for_the_session(signed_in):
    english = signed_in.get("/admin/contacts/?lang=en").text
    assert '<html lang="en">' in english and "<th>Phone</th><th>Name</th>" in english
    assert "Log out" in navbar(english)
    later = signed_in.get("/admin/alerts/").text  # no ?lang=: the session remembers
    assert '<html lang="en">' in later and "New alert" in later and "> Alerts</a>" in navbar(later)
    assert "Hora de" not in later
    back = signed_in.get("/admin/alerts/?lang=es").text
    assert "Nueva alerta" in back


def test_the_language_survives_signing_in_and_out(client):
    client.get("/admin/login?lang=en")
    assert sign_in(client).status_code == 302
    assert "Log out" in client.get("/admin/").text
    post_with_token(client, "/admin/", {}, action="/admin/logout")
    assert "Sign in to Chasqui" in client.get("/admin/login").text


def test_an_unknown_language_is_ignored(signed_in):
    for lang in ("fr", "xx", "", "es_PE'\"<", "ES%00", "e" * 300):
        page = signed_in.get("/admin/contacts/", query_string={"lang": lang})
        assert page.status_code == 200, lang
        assert '<html lang="es">' in page.text, lang


def test_admin_language_sets_the_deployment_default(tmp_path, monkeypatch):
    from tests.admin.conftest import admin_backend

    monkeypatch.setenv("ADMIN_LANGUAGE", "en")
    client = admin_backend(tmp_path).test_client()
    assert "Sign in to Chasqui" in client.get("/admin/login").text
    assert "Iniciar sesión en Chasqui" in client.get("/admin/login?lang=es").text
    monkeypatch.setenv("ADMIN_LANGUAGE", "klingon")  # not supported: Spanish
    assert "Iniciar sesión en Chasqui" in admin_backend(tmp_path / "b").test_client().get("/admin/login").text


# -- times in the deployment's zone ------------------------------------------------------------

# 2024-05-02 03:30:00 UTC is 2024-05-01 22:30 in Lima (UTC−5, no summer time).
AT_0330_UTC = 1714620600


def test_times_are_shown_in_lima_with_the_zone_named_once(signed_in, db, monkeypatch):
    monkeypatch.delenv("CHASQUI_TIMEZONE", raising=False)
    db.execute("UPDATE contacts SET created_at = ? WHERE id = 1", [AT_0330_UTC])
    page = signed_in.get("/admin/contacts/").text
    assert "2024-05-01 22:30:00" in page and "2024-05-02 03:30" not in page
    assert page.count("Hora de Lima (UTC−5)") == 1
    assert re.search(r'id="time-zone">[^<]*Hora de Lima \(UTC−5\)', page)


def test_chasqui_timezone_moves_the_times(signed_in, db, monkeypatch):
    monkeypatch.setenv("CHASQUI_TIMEZONE", "Asia/Kolkata")
    db.execute("UPDATE contacts SET created_at = ? WHERE id = 1", [AT_0330_UTC])
    page = signed_in.get("/admin/contacts/?lang=en").text
    assert "2024-05-02 09:00:00" in page and "Time in Kolkata (UTC+5:30)" in page


def test_a_page_without_times_names_no_zone(client):
    assert 'id="time-zone"' not in client.get("/admin/login").text
