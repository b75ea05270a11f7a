"""Form definitions: the list, and an editor for a form's JSON schema that refuses anything that is
not a valid JSON schema object (submissions are validated against it, so a broken one would
reject them all). Officers read the schemas; only admins change them (audited)."""
from __future__ import annotations

import json

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _

from backend import audit
from admin.auth import PanelView, admin_to_change
from admin.forms import FormSchemaForm
from admin.formatting import pretty_json
from admin.paging import offset_page
from admin.views.base import bind_form, refuse
from backend.store.database import now, transaction


class FormDefinitionsView(PanelView):
    @expose("/")
    def index(self):
        db = self.store.db
        total = db.execute("SELECT COUNT(*) FROM form_definitions").fetchone()[0]
        page = offset_page(db, "SELECT d.id, d.name, d.domain, d.updated_at, "
                               "(SELECT COUNT(*) FROM form_submissions s WHERE s.form_id = d.id) AS submissions "
                               "FROM form_definitions d ORDER BY d.domain, d.name, d.id", [], total)
        return self.render("chasqui/form_definitions.html", page=page, forms=page.rows)

    @expose("/<int:form_id>", methods=("GET", "POST"))
    @admin_to_change
    def edit(self, form_id: int):
        db = self.store.db
        definition = next(db.query("SELECT id, name, domain, schema, updated_at FROM form_definitions "
                                   "WHERE id = ?", [form_id]), None)
        if definition is None:
            flash(_("There is no form with id %(id)s.", id=form_id), "error")
            return redirect(url_for(".index"))
        form = bind_form(FormSchemaForm, schema=pretty_json(definition["schema"]))
        if request.method == "POST":
            if form.validate():
                with transaction(db) as connection:
                    connection.execute("UPDATE form_definitions SET schema = ?, updated_at = ? WHERE id = ?",
                                       (json.dumps(form.parsed_schema, ensure_ascii=False), now(), form_id))
                    audit.record(connection, self.signed_in_admin(), "edit_form", f"form {form_id}",
                                 detail=definition["name"])
                flash(_("Saved the schema of form %(name)r.", name=definition["name"]), "success")
                return redirect(url_for(".edit", form_id=form_id))
            refuse(form)
            return self.render("chasqui/form_definition.html", definition=definition, form=form), 400
        return self.render("chasqui/form_definition.html", definition=definition, form=form)
