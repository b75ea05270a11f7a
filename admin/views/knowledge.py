"""Knowledge base: the entries the assistant may quote (found through FTS5, kept in step by the
table's triggers; on PostgreSQL through the knowledge_fts expression index), listed (searched with
the same index, filtered by domain, paged), created, edited and deleted. Officers read it; only
admins change it, and each change is audited."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _

from backend import audit, knowledge
from admin.auth import PanelView, admin_required, admin_to_change
from admin.forms import ActionForm, KnowledgeForm
from admin.message_search import knowledge_search
from admin.paging import offset_page
from admin.views.base import bind_form, choice_arg, refuse, search_arg
from backend.store.database import now, transaction

ADMIN_SOURCE = "admin"  # knowledge.source of the entries written here
EVERY_DOMAIN = "-"  # the domain filter's value for the entries without one
_COLUMNS = "k.id, k.domain, k.title, substr(k.body, 1, 160) AS excerpt, length(k.body) AS length, k.source, k.updated_at"


class KnowledgeView(PanelView):
    @expose("/")
    def index(self):
        db = self.store.db
        query = search_arg()
        domains = [row[0] for row in db.execute("SELECT DISTINCT domain FROM knowledge WHERE domain IS NOT NULL "
                                                "ORDER BY domain")]
        domain = choice_arg("domain", (*domains, EVERY_DOMAIN))
        where, params = [], []
        if domain:
            where.append("k.domain IS NULL" if domain == EVERY_DOMAIN else "k.domain = ?")
            params += [] if domain == EVERY_DOMAIN else [domain]
        search = knowledge_search(db, query) if query else None
        order_params = []
        if search:  # best matches first, as the assistant finds them
            where, params = [*search.where, *where], [*search.params, *params]
            source, order, order_params = search.source, search.order, search.order_params
        else:
            source, order = "knowledge k", "k.updated_at DESC, k.id DESC"
        condition = f" WHERE {' AND '.join(where)}" if where else ""
        total = db.execute(f"SELECT COUNT(*) FROM {source}{condition}", params).fetchone()[0]
        page = offset_page(db, f"SELECT {_COLUMNS} FROM {source}{condition} ORDER BY {order}",
                           [*params, *order_params], total)
        return self.render("chasqui/knowledge.html", page=page, entries=page.rows, query=query, domain=domain,
                           domains=domains, every_domain=EVERY_DOMAIN, delete_form=ActionForm())

    @expose("/new", methods=("GET", "POST"))
    @admin_required
    def create(self):
        form = bind_form(KnowledgeForm)
        if request.method == "POST":
            if form.validate():
                with transaction(self.store.db) as connection:
                    entry_id = knowledge.add_entry(connection, *_entry_values(form), ADMIN_SOURCE)
                    audit.record(connection, self.signed_in_admin(), "create_knowledge", f"knowledge {entry_id}",
                                 detail=form.title.data.strip())
                flash(_("Added %(title)r.", title=form.title.data.strip()), "success")
                return redirect(url_for(".index"))
            refuse(form)
            return self.render("chasqui/knowledge_form.html", form=form, entry=None), 400
        return self.render("chasqui/knowledge_form.html", form=form, entry=None)

    @expose("/<int:entry_id>", methods=("GET", "POST"))
    @admin_to_change
    def edit(self, entry_id: int):
        db = self.store.db
        entry = next(db.query("SELECT id, domain, title, body, source, updated_at FROM knowledge WHERE id = ?",
                              [entry_id]), None)
        if entry is None:
            flash(_("There is no knowledge entry with id %(id)s.", id=entry_id), "error")
            return redirect(url_for(".index"))
        form = bind_form(KnowledgeForm, title=entry["title"], domain=entry["domain"], body=entry["body"])
        if request.method == "POST":
            if form.validate():
                with transaction(db) as connection:
                    connection.execute("UPDATE knowledge SET domain = ?, title = ?, body = ?, updated_at = ? "
                                       "WHERE id = ?", (*_entry_values(form), now(), entry_id))
                    audit.record(connection, self.signed_in_admin(), "edit_knowledge", f"knowledge {entry_id}",
                                 detail=form.title.data.strip())
                flash(_("Saved %(title)r.", title=form.title.data.strip()), "success")
                return redirect(url_for(".index"))
            refuse(form)
            return self.render("chasqui/knowledge_form.html", form=form, entry=entry), 400
        return self.render("chasqui/knowledge_form.html", form=form, entry=entry)

    @expose("/<int:entry_id>/delete", methods=("POST",))
    @admin_required
    def delete(self, entry_id: int):
        form = ActionForm(request.form)
        if not form.validate():
            refuse(form)
            return self.index(), 400
        with transaction(self.store.db) as connection:
            title = connection.execute("SELECT title FROM knowledge WHERE id = ?", (entry_id,)).fetchone()
            if title:
                connection.execute("DELETE FROM knowledge WHERE id = ?", (entry_id,))
                audit.record(connection, self.signed_in_admin(), "delete_knowledge", f"knowledge {entry_id}",
                             detail=title[0])
        flash(_("Deleted the entry.") if title else _("There is no knowledge entry with id %(id)s.", id=entry_id),
              "success" if title else "error")
        return redirect(url_for(".index"))


def _entry_values(form: KnowledgeForm) -> tuple:
    """(domain, title, body) as stored: an empty domain is NULL, meaning every domain."""
    return form.domain.data.strip() or None, form.title.data.strip(), form.body.data.strip()
