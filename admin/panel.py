"""Mounting the admin panel on the backend's Flask app at /admin."""
from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from datetime import timedelta

from flask import Blueprint, Flask, Response, request
from flask_admin import Admin
from flask_babel import lazy_gettext
from flask_admin.theme import Bootstrap4Theme

from admin.auth import HomeView
from admin.formatting import FILTERS
from admin.i18n import init_i18n
from admin.views.alerts import AlertsView
from admin.views.audit import AuditView
from admin.views.contacts import ContactsView
from admin.views.conversations import ConversationsView
from admin.views.dashboard import DashboardJsonView
from admin.views.failures import FailuresView
from admin.views.voice_notes import VoiceNotesView
from admin.views.form_definitions import FormDefinitionsView
from admin.views.knowledge import KnowledgeView
from admin.views.users import UsersView
from admin.views.personal_data import PersonalDataView
from admin.views.ratings import RatingsView
from admin.views.takeovers import TakeoversView
from backend.store.database import Store, database_folder
from chasqui.env import env_str
from chasqui.security_headers import NONCE, add_nosniff, add_page_headers, csp_nonce, page_policy

log = logging.getLogger("admin")

ADMIN_URL = "/admin"
SESSION_HOURS = 8
# flask-admin puts this response's nonce on its scripts and styles (csp_nonce_generator below) and
# so does layout.html on its <style> and its confirm.js; Bootstrap draws some icons with data: SVGs.
# No inline handler: a delete button's question (translated) is its form's data-confirm, asked by
# admin/static/confirm.js, so no script runs but the nonce'd files.
ADMIN_POLICY = page_policy(script_src=(NONCE,))


def admin_secret_key(key_file: Path) -> str:
    """ADMIN_SECRET_KEY signs the session cookie and the CSRF tokens. Without it, a key is made
    once and kept next to the database (owner-only): every gunicorn worker and every restart
    then signs with the same key. Backends on several machines need the setting (one key)."""
    key = env_str("ADMIN_SECRET_KEY")
    if key:
        return key
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)  # CHASQUI_HOME, on PostgreSQL, may be new
        scratch = key_file.with_name(f"{key_file.name}.{os.getpid()}.tmp")
        descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
        try:
            os.link(scratch, key_file)  # atomic: when workers race, the first key wins for all
        except FileExistsError:
            pass
        finally:
            scratch.unlink()
        log.warning("ADMIN_SECRET_KEY is not set: generated one in %s", key_file)
    return key_file.read_text().strip()


def init_admin(app: Flask, store: Store, secret_key: str | None = None, extra_views=(),
               secure_cookies: bool = False) -> Admin:
    """The panel on `app` at /admin, signed in through /admin/login. `secret_key` defaults to
    ADMIN_SECRET_KEY, else to a key kept next to the database. `extra_views` are the domain
    plug-ins' own pages (made with the store). `secure_cookies` (ADMIN_SECURE_COOKIES, for a
    panel behind TLS) keeps the session cookie off plain http."""
    app.secret_key = secret_key or admin_secret_key(database_folder(store.db) / "admin_secret_key")
    app.config.update(
        SESSION_COOKIE_NAME="chasqui_admin",
        SESSION_COOKIE_PATH=ADMIN_URL,  # the API routes never see the admin's cookie
        SESSION_COOKIE_HTTPONLY=True,  # no script can read it
        SESSION_COOKIE_SAMESITE="Lax",  # not sent on other sites' posts: a second guard beside CSRF tokens
        SESSION_COOKIE_SECURE=secure_cookies,  # the panel's only cookie (CSRF tokens live in the session)
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
    )
    # Our templates (admin/templates/chasqui/...) next to flask-admin's, found through a route-less blueprint.
    # ...and our static files (Chart.js, dashboard.js) at /admin/static/chasqui/: inside the panel's
    # static path (nosniff, cacheable) and apart from flask-admin's own files there.
    app.register_blueprint(Blueprint("chasqui_admin_templates", __name__, template_folder="templates",
                                     static_folder="static", static_url_path=ADMIN_URL + "/static/chasqui"))
    for name, function in FILTERS.items():
        app.add_template_filter(function, name)
    app.after_request(_harden_admin_pages)
    init_i18n(app)  # Spanish by default, English on request (admin/i18n.py); `_()` in every template

    panel = Admin(app, name="Chasqui", url=ADMIN_URL, index_view=HomeView(store, url=ADMIN_URL),
                  theme=Bootstrap4Theme(fluid=True), csp_nonce_generator=csp_nonce)
    # Endpoints are prefixed: the backend already has blueprints named "alerts" and "forms".
    panel.add_views(
        ContactsView(store, name=lazy_gettext("Contacts"), endpoint="admin_contacts", url="contacts"),
        TakeoversView(store, name=lazy_gettext("Inbox"), endpoint="admin_takeovers", url="inbox"),
        RatingsView(store, name=lazy_gettext("Ratings"), endpoint="admin_ratings", url="ratings"),
        PersonalDataView(store, name=lazy_gettext("Personal data"), endpoint="personal_data", url="personal-data"),
        ConversationsView(store, name=lazy_gettext("Conversations"), endpoint="admin_conversations", url="conversations"),
        AlertsView(store, name=lazy_gettext("Alerts"), endpoint="admin_alerts", url="alerts"),
        FormDefinitionsView(store, name=lazy_gettext("Forms"), endpoint="admin_forms", url="forms"),
        KnowledgeView(store, name=lazy_gettext("Knowledge"), endpoint="admin_knowledge", url="knowledge"),
        VoiceNotesView(store, name=lazy_gettext("Voice notes"), endpoint="admin_voice_notes", url="voice-notes"),
        FailuresView(store, name=lazy_gettext("Failures"), endpoint="admin_failures", url="failures"),
        DashboardJsonView(store, name=lazy_gettext("Dashboard JSON"), endpoint="admin_dashboard_json", url="dashboard.json"),
        AuditView(store, name=lazy_gettext("Audit log"), endpoint="admin_audit", url="audit"),
        UsersView(store, name=lazy_gettext("Accounts"), endpoint="admin_users", url="users"),
    )
    for make_view in extra_views:
        panel.add_view(make_view(store))
    return panel


def _harden_admin_pages(response: Response) -> Response:
    """CSP, no framing, nosniff and a referrer policy on the panel's pages (chasqui/security_headers.py);
    nosniff on its static files."""
    if request.path == ADMIN_URL or request.path.startswith(ADMIN_URL + "/"):
        if request.path.startswith(ADMIN_URL + "/static/"):
            return add_nosniff(response)
        response.headers.setdefault("Cache-Control", "no-store")  # contacts' data stays out of caches
        add_page_headers(response, ADMIN_POLICY)
    return response
