"""The audit log (both roles read it): who did what and when, newest first, filtered by officer,
action or contact, paged by id. Written by admin/audit.py only, in each action's transaction.
Entries name their target without personal data ('contact 12', 'account 3'), so the page shows
no phone either."""
from __future__ import annotations

from flask import request
from flask_admin import expose

from admin.auth import PanelView
from admin.paging import Keyset, keyset_page
from admin.views.base import search_arg
from chasqui.http_input import row_id

# Offered in the action filter; any other action recorded (by another part) can still be typed.
KNOWN_ACTIONS = ("alert", "broadcast", "edit_contact", "edit_form", "create_knowledge", "edit_knowledge",
                 "delete_knowledge", "create_account", "change_role", "reset_password", "delete_account",
                 "take_over", "reply", "hand_back")


class AuditView(PanelView):
    @expose("/")
    def index(self):
        db = self.store.db
        chosen = {"officer": search_arg("officer"), "action": search_arg("action"),
                  "contact": row_id(request.args.get("contact", "").strip())}
        where, params = [], []
        for column in ("officer", "action"):
            if chosen[column]:
                where.append(f"a.{column} = ?")
                params.append(chosen[column])
        if chosen["contact"] is not None:
            where.append("a.contact_id = ?")
            params.append(chosen["contact"])
        page = keyset_page(db, "SELECT a.id, a.officer, a.action, a.target, a.contact_id, a.detail, a.created_at "
                               "FROM audit_log a", where, params, Keyset("a.id"))
        officers = [row[0] for row in db.execute("SELECT username FROM admin_users ORDER BY username")]
        return self.render("chasqui/audit.html", page=page, entries=page.rows, filters=chosen, officers=officers,
                           actions=KNOWN_ACTIONS)
