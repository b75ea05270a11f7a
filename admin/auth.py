"""Session login for the panel: every view but the login page needs a signed-in account, and an
anonymous request is sent to the login page (then back where it was going).

Roles (admin_users.role): an *officer* reads everything, takes over conversations and sends
alerts; an *admin* also manages accounts, forms, the knowledge base and contacts' details. A view
only for admins mixes in `AdminOnly` (hidden from officers' menus, 403 for them); a page officers
may read but not change marks its method `@admin_to_change` (a POST from an officer is a 403 and
writes nothing) or `@admin_required` (every method)."""
from __future__ import annotations

import functools
import math
from urllib.parse import urlsplit

from flask import flash, g, redirect, request, session, url_for
from flask_admin import AdminIndexView, BaseView, expose
from flask_babel import gettext as _, ngettext

from admin import i18n, login_throttle, users
from admin.forms import CSRF_PROBLEM, ActionForm, LoginForm
from backend.store.database import Store

SESSION_USER = "admin_user"
LOGIN_ENDPOINT = "admin.login"
PUBLIC_VIEWS = {"login"}  # the only view methods an anonymous visitor may reach


class LoginRequired:
    """Mixed into every panel view: holds the store and turns anonymous visits into a redirect."""

    def __init__(self, store: Store, **kwargs):
        self.store = store
        super().__init__(**kwargs)

    def signed_in_account(self) -> tuple[str, str] | None:
        """(username, role) of the session's account, if it still exists: a deleted account loses
        access at once, a changed role applies from the next request."""
        if "signed_in_account" not in g:
            username = session.get(SESSION_USER)
            row = username and self.store.db.execute(
                "SELECT username, role FROM admin_users WHERE username = ?", (username,)).fetchone()
            g.signed_in_account = tuple(row) if row else None
        return g.signed_in_account

    def signed_in_admin(self) -> str | None:
        """The signed-in username, whatever its role (the name predates roles)."""
        account = self.signed_in_account()
        return account[0] if account else None

    def is_admin(self) -> bool:
        account = self.signed_in_account()
        return account is not None and account[1] == users.ADMIN

    def is_accessible(self) -> bool:
        return self.signed_in_admin() is not None

    def inaccessible_callback(self, name, **kwargs):
        if self.signed_in_admin() is not None:  # signed in, but an officer on an admin's page
            return self.forbidden()
        return redirect(url_for(LOGIN_ENDPOINT, next=request.full_path.rstrip("?")))

    def forbidden(self):
        return self.render("chasqui/forbidden.html"), 403

    def render(self, template: str, **kwargs) -> str:
        # The navbar's "log out" button posts a CSRF-protected form on every page.
        kwargs.setdefault("signed_in_admin", self.signed_in_admin())
        kwargs.setdefault("is_admin", self.is_admin())
        kwargs.setdefault("logout_form", ActionForm())
        return super().render(template, **kwargs)


class AdminOnly:
    """Mixed in before PanelView: the whole view is for admins; officers do not see it in the menu."""

    def is_accessible(self) -> bool:
        return super().is_accessible() and self.is_admin()

    def is_visible(self) -> bool:
        return self.is_admin()


def admin_required(method):
    """Every request to this view method needs an admin (an officer gets the 403 page)."""
    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        if not self.is_admin():
            return self.forbidden()
        return method(self, *args, **kwargs)
    return guarded


def admin_to_change(method):
    """Officers may read this page (GET) but not post to it."""
    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        if request.method != "GET" and not self.is_admin():
            return self.forbidden()
        return method(self, *args, **kwargs)
    return guarded


class PanelView(LoginRequired, BaseView):
    pass


class HomeView(LoginRequired, AdminIndexView):
    """/admin: a summary of the store, plus /admin/login and /admin/logout."""

    def _handle_view(self, name, **kwargs):
        if name in PUBLIC_VIEWS:
            return None
        return super()._handle_view(name, **kwargs)

    @expose("/")
    def index(self):
        from admin.views.dashboard import dashboard_page  # here: that module imports this one

        return dashboard_page(self)  # the charts, with the stored counts this page showed before

    @expose("/login", methods=("GET", "POST"))
    def login(self):
        form = LoginForm(request.form if request.method == "POST" else None)
        if request.method == "GET":
            return self.render("chasqui/login.html", form=form)
        if not form.validate():
            flash(str(CSRF_PROBLEM) if form.csrf_failed else _("Enter a username and a password."), "error")
            return self.render("chasqui/login.html", form=form), 400
        db, username, address = self.store.db, form.username.data, request.remote_addr or ""
        wait_s = login_throttle.seconds_locked(db, username, address)
        if wait_s:
            minutes = math.ceil(wait_s / 60)
            flash(ngettext("Too many wrong passwords. Try again in %(num)d minute.",
                           "Too many wrong passwords. Try again in %(num)d minutes.", minutes), "error")
            return self.render("chasqui/login.html", form=form), 429, {"Retry-After": str(math.ceil(wait_s))}
        if not users.verify(db, username, form.password.data):
            login_throttle.record_failure(db, username, address)
            flash(_("Wrong username or password."), "error")
            return self.render("chasqui/login.html", form=form), 401
        login_throttle.clear(db, username, address)
        i18n.clear_session(session)  # a fresh session for the signed-in admin (in the language chosen)
        session[SESSION_USER] = form.username.data.strip()
        session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME
        return redirect(_safe_next(request.args.get("next")) or url_for("admin.index"))

    @expose("/logout", methods=("POST",))
    def logout(self):
        if not ActionForm(request.form).validate():
            flash(str(CSRF_PROBLEM), "error")
            return redirect(url_for("admin.index"))
        i18n.clear_session(session)
        flash(_("Signed out."), "info")
        return redirect(url_for(LOGIN_ENDPOINT))


def _safe_next(target: str | None) -> str | None:
    """Only a path inside the panel: a crafted ?next= must not send the admin to another site."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target or not parts.path.startswith("/admin"):
        return None
    return target
