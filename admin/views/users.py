"""Accounts (admins only): every account with its role and last login; create one, change a
role, reset a password, delete one. Never your own account, never the last admin (admin/users.py
checks that under the write lock). Each change is in the audit log, in its transaction."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _

from admin import users
from backend import audit
from admin.auth import AdminOnly, PanelView
from admin.i18n import code_label
from admin.forms import AccountForm, ActionForm, PasswordResetForm, RoleForm
from admin.paging import offset_page
from admin.views.base import refuse
from backend.store.database import transaction


class UsersView(AdminOnly, PanelView):
    @expose("/")
    def index(self, form: AccountForm | None = None):
        db = self.store.db
        total = db.execute("SELECT COUNT(*) FROM admin_users").fetchone()[0]
        page = offset_page(db, "SELECT id, username, role, created_at, last_login_at FROM admin_users "
                               "ORDER BY lower(username), id", [], total)  # NOCASE is SQLite's alone
        return self.render("chasqui/users.html", page=page, form=form or AccountForm(), role_form=RoleForm(),
                           password_form=PasswordResetForm(), action_form=ActionForm(), roles=users.ROLES)

    @expose("/new", methods=("POST",))
    def create(self):
        form = AccountForm(request.form)
        if not form.validate():
            refuse(form)
            return self.index(form), 400
        try:
            username = users.clean_username(form.username.data)
            password_hash = users.hash_password(form.password.data)
            with transaction(self.store.db) as connection:
                user_id = users.insert_user(connection, username, password_hash, form.role.data)
                audit.record(connection, self.signed_in_admin(), "create_account", f"account {user_id}",
                             detail=f"{username}: {form.role.data}")
        except ValueError as problem:
            flash(_("Nothing was saved: %(problem)s.", problem=problem), "error")
            return self.index(form), 400
        flash(_("Created the %(role)s account %(name)s.", role=code_label(form.role.data, "role"), name=username), "success")
        return redirect(url_for(".index"))

    @expose("/<int:user_id>/role", methods=("POST",))
    def role(self, user_id: int):
        form = RoleForm(request.form)
        if not form.validate():
            return self._refused(form)
        return self._change(user_id, "change_role", lambda c: users.set_role(c, user_id, form.role.data),
                            lambda before: f"{before['username']}: {before['role']} -> {form.role.data}",
                            _("Changed the role."))

    @expose("/<int:user_id>/password", methods=("POST",))
    def password(self, user_id: int):
        form = PasswordResetForm(request.form)
        if not form.validate():
            return self._refused(form)
        password_hash = users.hash_password(form.password.data)
        return self._change(user_id, "reset_password", lambda c: users.set_password_hash(c, user_id, password_hash),
                            lambda before: before["username"], _("Set a new password."))

    @expose("/<int:user_id>/delete", methods=("POST",))
    def delete(self, user_id: int):
        form = ActionForm(request.form)
        if not form.validate():
            return self._refused(form)
        own_id = self.store.db.execute("SELECT id FROM admin_users WHERE username = ?",
                                       (self.signed_in_admin(),)).fetchone()
        if own_id and own_id[0] == user_id:
            flash(_("Nothing was deleted: you cannot delete your own account."), "error")
            return self.index(), 400
        return self._change(user_id, "delete_account", lambda c: users.delete_user(c, user_id),
                            lambda before: f"{before['username']} ({before['role']})", _("Deleted the account."))

    def _change(self, user_id: int, action: str, change, describe, done: str):
        try:
            with transaction(self.store.db) as connection:
                before = change(connection)
                audit.record(connection, self.signed_in_admin(), action, f"account {user_id}", detail=describe(before))
        except (users.NoSuchUser, users.LastAdmin, ValueError) as problem:
            flash(_("Nothing was saved: %(problem)s.", problem=problem), "error")
            return self.index(), 400
        flash(done, "success")
        return redirect(url_for(".index"))

    def _refused(self, form):
        refuse(form)
        return self.index(), 400
