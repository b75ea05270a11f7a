"""Contacts: the list (searchable by phone or name), and one contact's details, profile and edit form."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import expose

from admin.auth import PanelView
from admin.forms import ContactForm
from admin.views.base import PAGE_ROWS, bind_form, escape_like, refuse
from backend.contacts import find_contact, update_contact
from backend.store.database import transaction

_COLUMNS = ("c.id, c.phone, c.name, c.domain, c.language, c.timezone, c.opted_out, c.onboarding_step, "
            "c.created_at, c.updated_at, p.data AS profile, p.sources AS sources")


class ContactsView(PanelView):
    @expose("/")
    def index(self):
        query = request.args.get("q", "").strip()
        sql = f"SELECT {_COLUMNS} FROM contacts c LEFT JOIN profiles p ON p.contact_id = c.id"
        params: list = []
        if query:
            sql += " WHERE c.phone LIKE ? ESCAPE '\\' OR c.name LIKE ? ESCAPE '\\'"
            params = [f"%{escape_like(query)}%"] * 2
        sql += " ORDER BY c.created_at DESC, c.id DESC LIMIT ?"
        contacts = list(self.store.db.query(sql, [*params, PAGE_ROWS + 1]))
        return self.render("chasqui/contacts.html", contacts=contacts[:PAGE_ROWS], query=query,
                           truncated=len(contacts) > PAGE_ROWS)

    @expose("/<int:contact_id>", methods=("GET", "POST"))
    def edit(self, contact_id: int):
        db = self.store.db
        contact = next(db.query(f"SELECT {_COLUMNS} FROM contacts c LEFT JOIN profiles p ON p.contact_id = c.id "
                                "WHERE c.id = ?", [contact_id]), None)
        if contact is None:
            flash(f"There is no contact with id {contact_id}.", "error")
            return redirect(url_for(".index"))
        form = bind_form(ContactForm, name=contact["name"], domain=contact["domain"],
                         opted_out=bool(contact["opted_out"]))
        if request.method == "POST":
            if form.validate():
                with transaction(db):
                    update_contact(db, find_contact(db, contact["phone"]), name=form.name.data.strip() or None,
                                   domain=form.domain.data.strip() or None, opted_out=int(form.opted_out.data))
                flash(f"Saved {contact['phone']}.", "success")
                return redirect(url_for(".edit", contact_id=contact_id))
            refuse(form)
            return self.render("chasqui/contact.html", contact=contact, form=form), 400
        return self.render("chasqui/contact.html", contact=contact, form=form)
