"""Session login for the panel: every view but the login page needs a signed-in admin, and an
anonymous request is sent to the login page (then back where it was going)."""
from __future__ import annotations

import math
from urllib.parse import urlsplit

from flask import flash, g, redirect, request, session, url_for
from flask_admin import AdminIndexView, BaseView, expose

from admin import login_throttle, users
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

    def signed_in_admin(self) -> str | None:
        """The session's admin, if the account still exists (a deleted account loses access at once)."""
        if "signed_in_admin" not in g:
            username = session.get(SESSION_USER)
            exists = username and self.store.db.execute(
                "SELECT 1 FROM admin_users WHERE username = ?", (username,)).fetchone()
            g.signed_in_admin = username if exists else None
        return g.signed_in_admin

    def is_accessible(self) -> bool:
        return self.signed_in_admin() is not None

    def inaccessible_callback(self, name, **kwargs):
        return redirect(url_for(LOGIN_ENDPOINT, next=request.full_path.rstrip("?")))

    def render(self, template: str, **kwargs) -> str:
        # The navbar's "log out" button posts a CSRF-protected form on every page.
        kwargs.setdefault("signed_in_admin", self.signed_in_admin())
        kwargs.setdefault("logout_form", ActionForm())
        return super().render(template, **kwargs)


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
        db = self.store.db
        counts = {
            "contacts": db.execute("SELECT COUNT(*) FROM contacts").fetchone()[0],
            "messages": db.execute("SELECT COUNT(*) FROM messages").fetchone()[0],
            "knowledge entries": db.execute("SELECT COUNT(*) FROM knowledge").fetchone()[0],
        }
        alerts = dict(db.execute("SELECT status, COUNT(*) FROM alerts GROUP BY status").fetchall())
        return self.render("chasqui/home.html", counts=counts, alerts=alerts)

    @expose("/login", methods=("GET", "POST"))
    def login(self):
        form = LoginForm(request.form if request.method == "POST" else None)
        if request.method == "GET":
            return self.render("chasqui/login.html", form=form)
        if not form.validate():
            flash(CSRF_PROBLEM if form.csrf_failed else "Enter a username and a password.", "error")
            return self.render("chasqui/login.html", form=form), 400
        db, username, address = self.store.db, form.username.data, request.remote_addr or ""
        wait_s = login_throttle.seconds_locked(db, username, address)
        if wait_s:
            flash(f"Too many wrong passwords. Try again in {math.ceil(wait_s / 60)} minutes.", "error")
            return self.render("chasqui/login.html", form=form), 429, {"Retry-After": str(math.ceil(wait_s))}
        if not users.verify(db, username, form.password.data):
            login_throttle.record_failure(db, username, address)
            flash("Wrong username or password.", "error")
            return self.render("chasqui/login.html", form=form), 401
        login_throttle.clear(db, username, address)
        session.clear()  # a fresh session for the signed-in admin
        session[SESSION_USER] = form.username.data.strip()
        session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME
        return redirect(_safe_next(request.args.get("next")) or url_for("admin.index"))

    @expose("/logout", methods=("POST",))
    def logout(self):
        if not ActionForm(request.form).validate():
            flash(CSRF_PROBLEM, "error")
            return redirect(url_for("admin.index"))
        session.clear()
        flash("Signed out.", "info")
        return redirect(url_for(LOGIN_ENDPOINT))


def _safe_next(target: str | None) -> str | None:
    """Only a path inside the panel: a crafted ?next= must not send the admin to another site."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target or not parts.path.startswith("/admin"):
        return None
    return target
