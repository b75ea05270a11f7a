"""The panel's language: Spanish by default, English on request.

The locale of a request is, in order: the language chosen in this browser's session (the
navbar's switch, `?lang=es|en` on any panel URL, stored in the signed session cookie: the
panel's only state, kept through signing in and out), else the deployment's default
ADMIN_LANGUAGE (default 'es'). Any other `?lang=` value is ignored.

Three catalogs, three gettext domains, each looked up in the request's locale: ours
('messages', admin/translations: every string of admin/ and of the plug-ins' admin pages),
flask-admin's own ('admin', in flask_admin/translations: "Inicio", its list and form views) and
WTForms' validation messages ('wtforms', through flask_admin.babel.Translations, which every
PanelForm uses). admin/translations/update.py extracts, merges and compiles ours.

Stored codes (an audit entry's action, an alert's status...) stay in English in the database and
are shown translated through `code_label()` at display time."""
from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

from flask import Flask, Response, request, session
from flask_babel import Babel, get_locale, gettext, lazy_gettext

from admin.formatting import shown_time_zone
from chasqui.env import env_str

SUPPORTED = ("es", "en")
LANGUAGE_SETTING = "ADMIN_LANGUAGE"
DEFAULT_LANGUAGE = "es"
SESSION_KEY = "admin_lang"
QUERY_ARG = "lang"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
LANGUAGE_NAMES = {"es": "Español", "en": "English"}  # each in its own language: never translated
_HTML_TAG = re.compile(rb"<html(?=[\s>])(?![^>]*\blang=)", re.IGNORECASE)


def deployment_language() -> str:
    """ADMIN_LANGUAGE when it is a supported language, else Spanish."""
    chosen = (env_str(LANGUAGE_SETTING) or DEFAULT_LANGUAGE).strip().lower()
    return chosen if chosen in SUPPORTED else DEFAULT_LANGUAGE


def select_locale() -> str:
    """Flask-Babel's locale selector: the session's choice, else the deployment's default."""
    if request:
        asked = _asked_language()
        if asked:
            return asked
        chosen = session.get(SESSION_KEY)
        if chosen in SUPPORTED:
            return chosen
    return deployment_language()


def _asked_language() -> str | None:
    asked = request.args.get(QUERY_ARG, "").strip().lower()
    return asked if asked in SUPPORTED else None


def remember_asked_language() -> None:
    """before_request: `?lang=en` on a panel URL becomes this session's language."""
    if not _is_panel_path(request.path):
        return
    asked = _asked_language()
    if asked and session.get(SESSION_KEY) != asked:
        session[SESSION_KEY] = asked


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale is not None and locale.language in SUPPORTED else deployment_language()


def clear_session(store) -> None:
    """session.clear() that keeps the language chosen (signing in or out is no reason to change it)."""
    language = store.get(SESSION_KEY)
    store.clear()
    if language in SUPPORTED:
        store[SESSION_KEY] = language


def language_url(code: str) -> str:
    """This page's URL (its query kept) with ?lang=code: the navbar's switch."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != QUERY_ARG]
    return f"{request.path}?{urlencode([*args, (QUERY_ARG, code)])}"


def language_links() -> list[tuple[str, str, str, bool]]:
    """(code, name, url, is the current one) of each supported language, for the navbar."""
    current = current_language()
    return [(code, LANGUAGE_NAMES[code], language_url(code), code == current) for code in SUPPORTED]


def set_html_lang(response: Response) -> Response:
    """<html lang="es|en"> on the panel's pages: flask-admin's base template writes a bare <html>."""
    if (_is_panel_path(request.path) and response.mimetype == "text/html" and not response.direct_passthrough
            and not response.is_streamed):
        body = response.get_data()
        head, tail = body[:400], body[400:]
        changed = _HTML_TAG.sub(b'<html lang="' + current_language().encode() + b'"', head, count=1)
        if changed != head:
            response.set_data(changed + tail)
    return response


def _is_panel_path(path: str) -> bool:
    from admin.panel import ADMIN_URL  # here: panel.py imports this module

    return path == ADMIN_URL or path.startswith(ADMIN_URL + "/")


def zone_label(zone, at: datetime | None = None) -> str:
    """'Hora de Lima (UTC−5)': the deployment's zone, by its city, and its offset now."""
    offset = (at or datetime.now(zone)).astimezone(zone).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "\u2212"
    hours, rest = divmod(abs(minutes), 60)
    utc = f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")
    city = zone.key.rsplit("/", 1)[-1].replace("_", " ") if getattr(zone, "key", None) else str(zone)
    return gettext("Time in %(city)s (%(utc)s)", city=city, utc=utc)


# What stored codes read as (the data stays English in the database; unknown codes are shown as stored).
CODE_LABELS = {
    "action": {
        "alert": lazy_gettext("alert sent"), "broadcast": lazy_gettext("group alert sent"),
        "edit_contact": lazy_gettext("contact edited"), "edit_form": lazy_gettext("form edited"),
        "create_knowledge": lazy_gettext("knowledge entry added"),
        "edit_knowledge": lazy_gettext("knowledge entry edited"),
        "delete_knowledge": lazy_gettext("knowledge entry deleted"),
        "create_account": lazy_gettext("account created"), "change_role": lazy_gettext("role changed"),
        "reset_password": lazy_gettext("password reset"), "delete_account": lazy_gettext("account deleted"),
        "take_over": lazy_gettext("conversation taken over"), "reply": lazy_gettext("officer's reply"),
        "hand_back": lazy_gettext("conversation handed back"),
        "close_request": lazy_gettext("request for a person closed"),
        "review_rating": lazy_gettext("rating reviewed"), "right_answer": lazy_gettext("right answer written"),
        "export_data": lazy_gettext("contact's data downloaded"), "erase_contact": lazy_gettext("contact's data deleted"),
    },
    "status": {
        "pending": lazy_gettext("pending"), "claimed": lazy_gettext("being sent"), "sent": lazy_gettext("sent"),
        "failed": lazy_gettext("failed"),
    },
    "kind": {
        "alert": lazy_gettext("alert"), "reply": lazy_gettext("reply"), "notice": lazy_gettext("notice"),
        "document": lazy_gettext("document"), "message": lazy_gettext("message"), "job": lazy_gettext("job"),
    },
    "kinds": {"message": lazy_gettext("messages"), "job": lazy_gettext("jobs")},
    "delivery": {
        "sent": lazy_gettext("sent"), "delivered": lazy_gettext("delivered"), "read": lazy_gettext("read"),
        "failed": lazy_gettext("failed"),
    },
    "role": {"admin": lazy_gettext("admin"), "officer": lazy_gettext("officer")},
    "direction": {"in": lazy_gettext("contact"), "out": "Chasqui"},
    "takeover_status": {"waiting": lazy_gettext("waiting"), "taken": lazy_gettext("attended"),
                        "returned": lazy_gettext("returned")},
    "takeover_reason": {"asked": lazy_gettext("asked for a person"),
                        "not_understood": lazy_gettext("not understood twice"),
                        "bad_rating": lazy_gettext("rated an answer bad"),
                        "officer": lazy_gettext("taken over by an officer")},
    "rating_via": {"reaction": lazy_gettext("reaction"), "text": lazy_gettext("in words")},
    "source": {"code": lazy_gettext("code"), "action": lazy_gettext("code (a change)"), "model": lazy_gettext("model"),
               "secondary": lazy_gettext("small model"), "cache": lazy_gettext("cache"),
               "knowledge": lazy_gettext("knowledge base"), "apology": lazy_gettext("apology"),
               "officer": lazy_gettext("officer"), "notice": lazy_gettext("notice")},
}


def code_label(code, group: str) -> str:
    """A stored code as the panel shows it; a code without a label is shown as stored."""
    if code is None:
        return ""
    label = CODE_LABELS.get(group, {}).get(code)
    return str(label) if label is not None else str(code)


def init_i18n(app: Flask) -> Babel:
    """Flask-Babel on `app`, our catalog in admin/translations, the language hooks and template helpers."""
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    babel = Babel(app, locale_selector=select_locale)
    app.before_request(remember_asked_language)
    app.after_request(set_html_lang)
    app.add_template_filter(code_label, "code_label")
    app.add_template_global(language_links, "language_links")
    app.add_template_global(current_language, "current_language")
    app.add_template_global(shown_time_zone, "shown_time_zone")
    return babel
