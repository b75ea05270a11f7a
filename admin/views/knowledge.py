"""Knowledge base: the entries the assistant may quote (found through FTS5, kept in step by the
table's triggers), listed, created, edited and deleted."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import expose

from admin.auth import PanelView
from admin.forms import ActionForm, KnowledgeForm
from admin.views.base import PAGE_ROWS, bind_form, refuse
from backend.store.database import now, transaction

ADMIN_SOURCE = "admin"  # knowledge.source of the entries written here


class KnowledgeView(PanelView):
    @expose("/")
    def index(self):
        entries = list(self.store.db.query(
            "SELECT id, domain, title, substr(body, 1, 160) AS excerpt, length(body) AS length, source, updated_at "
            "FROM knowledge ORDER BY updated_at DESC, id DESC LIMIT ?", [PAGE_ROWS + 1]))
        return self.render("chasqui/knowledge.html", entries=entries[:PAGE_ROWS], truncated=len(entries) > PAGE_ROWS,
                           delete_form=ActionForm())

    @expose("/new", methods=("GET", "POST"))
    def create(self):
        form = bind_form(KnowledgeForm)
        if request.method == "POST":
            if form.validate():
                with transaction(self.store.db) as connection:
                    connection.execute(
                        "INSERT INTO knowledge (domain, title, body, source, updated_at) VALUES (?, ?, ?, ?, ?)",
                        (*_entry_values(form), ADMIN_SOURCE, now()))
                flash(f"Added {form.title.data.strip()!r}.", "success")
                return redirect(url_for(".index"))
            refuse(form)
            return self.render("chasqui/knowledge_form.html", form=form, entry=None), 400
        return self.render("chasqui/knowledge_form.html", form=form, entry=None)

    @expose("/<int:entry_id>", methods=("GET", "POST"))
    def edit(self, entry_id: int):
        db = self.store.db
        entry = next(db.query("SELECT id, domain, title, body, source, updated_at FROM knowledge WHERE id = ?",
                              [entry_id]), None)
        if entry is None:
            flash(f"There is no knowledge entry with id {entry_id}.", "error")
            return redirect(url_for(".index"))
        form = bind_form(KnowledgeForm, title=entry["title"], domain=entry["domain"], body=entry["body"])
        if request.method == "POST":
            if form.validate():
                with transaction(db) as connection:
                    connection.execute("UPDATE knowledge SET domain = ?, title = ?, body = ?, updated_at = ? "
                                       "WHERE id = ?", (*_entry_values(form), now(), entry_id))
                flash(f"Saved {form.title.data.strip()!r}.", "success")
                return redirect(url_for(".index"))
            refuse(form)
            return self.render("chasqui/knowledge_form.html", form=form, entry=entry), 400
        return self.render("chasqui/knowledge_form.html", form=form, entry=entry)

    @expose("/<int:entry_id>/delete", methods=("POST",))
    def delete(self, entry_id: int):
        form = ActionForm(request.form)
        if not form.validate():
            refuse(form)
            return self.index(), 400
        with transaction(self.store.db) as connection:
            deleted = connection.execute("DELETE FROM knowledge WHERE id = ?", (entry_id,)).rowcount
        flash("Deleted the entry." if deleted else f"There is no knowledge entry with id {entry_id}.",
              "success" if deleted else "error")
        return redirect(url_for(".index"))


def _entry_values(form: KnowledgeForm) -> tuple:
    """(domain, title, body) as stored: an empty domain is NULL, meaning every domain."""
    return form.domain.data.strip() or None, form.title.data.strip(), form.body.data.strip()
