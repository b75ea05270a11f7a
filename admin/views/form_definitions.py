"""Form definitions: the list, and an editor for a form's JSON schema that refuses anything that is
not a valid JSON schema object (submissions are validated against it, so a broken one would
reject them all)."""
from __future__ import annotations

import json

from flask import flash, redirect, request, url_for
from flask_admin import expose

from admin.auth import PanelView
from admin.forms import FormSchemaForm
from admin.formatting import pretty_json
from admin.views.base import bind_form, refuse
from backend.store.database import now, transaction


class FormDefinitionsView(PanelView):
    @expose("/")
    def index(self):
        forms = list(self.store.db.query(
            "SELECT d.id, d.name, d.domain, d.updated_at, COUNT(s.id) AS submissions "
            "FROM form_definitions d LEFT JOIN form_submissions s ON s.form_id = d.id "
            "GROUP BY d.id ORDER BY d.domain, d.name"))
        return self.render("chasqui/form_definitions.html", forms=forms)

    @expose("/<int:form_id>", methods=("GET", "POST"))
    def edit(self, form_id: int):
        db = self.store.db
        definition = next(db.query("SELECT id, name, domain, schema, updated_at FROM form_definitions "
                                   "WHERE id = ?", [form_id]), None)
        if definition is None:
            flash(f"There is no form with id {form_id}.", "error")
            return redirect(url_for(".index"))
        form = bind_form(FormSchemaForm, schema=pretty_json(definition["schema"]))
        if request.method == "POST":
            if form.validate():
                with transaction(db) as connection:
                    connection.execute("UPDATE form_definitions SET schema = ?, updated_at = ? WHERE id = ?",
                                       (json.dumps(form.parsed_schema, ensure_ascii=False), now(), form_id))
                flash(f"Saved the schema of form {definition['name']!r}.", "success")
                return redirect(url_for(".edit", form_id=form_id))
            refuse(form)
            return self.render("chasqui/form_definition.html", definition=definition, form=form), 400
        return self.render("chasqui/form_definition.html", definition=definition, form=form)
