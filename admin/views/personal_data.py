"""A contact's own data, from the panel: download everything kept about them (the file «MIS
DATOS» sends), or delete it all (as «BORRAR MIS DATOS» does, after typing the phone again).
Both roles may; both are in the audit log — the erasure without the phone, which is gone."""
from __future__ import annotations

import json

from flask import Response, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _

from backend import audit
from admin.auth import PanelView
from admin.forms import CSRF_PROBLEM, EraseForm
from backend import personal_data
from backend.phones import InvalidPhone, normalize_phone
from backend.store.database import transaction


class PersonalDataView(PanelView):
    def is_visible(self) -> bool:
        return False  # reached from a contact's page, not from the menu

    @expose("/")
    def index(self):
        return redirect(url_for("admin_contacts.index"))  # a contact's page links here

    @expose("/<int:contact_id>/export")
    def export(self, contact_id: int):
        db = self.store.db
        with transaction(db) as connection:  # the log entry and the read together
            if connection.execute("SELECT 1 FROM contacts WHERE id = ?", (contact_id,)).fetchone() is None:
                return self._gone()
            data = personal_data.export(connection, contact_id)
            audit.record(connection, self.signed_in_admin(), "export_data", f"contact {contact_id}", contact_id)
        return Response(json.dumps(data, ensure_ascii=False, indent=1, default=str), mimetype="application/json",
                        headers={"Content-Disposition": f'attachment; filename="contacto_{contact_id}.json"'})

    @expose("/<int:contact_id>/erase", methods=("GET", "POST"))
    def erase(self, contact_id: int):
        db = self.store.db
        contact = next(db.query("SELECT id, phone, name, domain FROM contacts WHERE id = ?", [contact_id]), None)
        if contact is None:
            return self._gone()
        form = EraseForm(request.form if request.method == "POST" else None)
        status = 200
        if request.method == "POST":
            status = 400
            if not form.validate():
                flash(str(CSRF_PROBLEM) if form.csrf_failed else _("Type the contact's phone to confirm."), "error")
            elif not _same_phone(form.phone.data, contact["phone"]):
                flash(_("That is not this contact's phone: nothing was deleted."), "error")
            else:
                with transaction(db) as connection:
                    audit.record(connection, self.signed_in_admin(), "erase_contact", "contact",
                                 detail=contact["domain"])
                    personal_data.erase(connection, contact_id, "panel")
                flash(_("The contact and everything about them were deleted."), "info")
                return redirect(url_for("admin_contacts.index"))
        counts = {table: len(rows) for table, rows in personal_data.export(db, contact_id).items()
                  if table != "contacto"}
        return self.render("chasqui/personal_data_erase.html", contact=contact, form=form, counts=counts), status

    def _gone(self):
        flash(_("There is no such contact."), "error")
        return redirect(url_for("admin_contacts.index"))


def _same_phone(typed: str, phone: str) -> bool:
    try:
        return normalize_phone(typed) == phone
    except InvalidPhone:
        return False
