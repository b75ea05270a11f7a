"""Contacts: the list (searchable by phone or name, filtered by domain, onboarding and opt-out;
paged newest first by id), and one contact's details, profile and edit form (admins edit,
officers read).

The search is a scan of contacts (LIKE '%...%' cannot use an index), stopped as soon as a page of
matches is found; a search that matches nobody scans all 10,000 contacts (names folded in Python)
in a 55 ms page (bench/admin_lists.py)."""
from __future__ import annotations

import re

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _

from backend import audit
from admin.auth import PanelView, admin_to_change
from admin.forms import ContactForm
from admin.paging import Keyset, keyset_page
from admin.views.base import bind_form, choice_arg, escape_like, refuse, search_arg
from backend.contacts import find_contact, update_contact
from backend.store.database import transaction
from backend.text import fold

_COLUMNS = ("c.id, c.phone, c.name, c.domain, c.language, c.timezone, c.opted_out, c.onboarding_step, "
            "c.created_at, c.updated_at, p.data AS profile, p.sources AS sources")
ONBOARDING = {"done": "c.onboarding_step IS NULL", "pending": "c.onboarding_step IS NOT NULL"}
OPTED_OUT = {"yes": "c.opted_out = 1", "no": "c.opted_out = 0"}


def contact_filters(db) -> tuple[list[str], list, dict]:
    """The WHERE conditions of the list's search and filters (shared with the conversations list),
    and the filters as read (for the form)."""
    query = search_arg()
    domains = [row[0] for row in db.execute("SELECT DISTINCT domain FROM contacts WHERE domain IS NOT NULL "
                                            "ORDER BY domain")]
    chosen = {"q": query, "domain": choice_arg("domain", domains), "onboarding": choice_arg("onboarding", ONBOARDING),
              "opted_out": choice_arg("opted_out", OPTED_OUT), "domains": domains}
    where, params = [], []
    if query:
        digits = re.sub(r"[\s\-().]", "", query)
        where.append("(c.phone LIKE ? ESCAPE '\\' OR fold(c.name) LIKE ? ESCAPE '\\')")
        params += [f"%{escape_like(digits)}%", f"%{escape_like(fold(query))}%"]
    if chosen["domain"]:
        where.append("c.domain = ?")
        params.append(chosen["domain"])
    if chosen["onboarding"]:
        where.append(ONBOARDING[chosen["onboarding"]])
    if chosen["opted_out"]:
        where.append(OPTED_OUT[chosen["opted_out"]])
    return where, params, chosen


class ContactsView(PanelView):
    @expose("/")
    def index(self):
        db = self.store.db
        where, params, chosen = contact_filters(db)
        page = keyset_page(db, f"SELECT {_COLUMNS} FROM contacts c LEFT JOIN profiles p ON p.contact_id = c.id",
                           where, params, Keyset("c.id"))
        return self.render("chasqui/contacts.html", page=page, contacts=page.rows, filters=chosen, query=chosen["q"])

    @expose("/<int:contact_id>", methods=("GET", "POST"))
    @admin_to_change
    def edit(self, contact_id: int):
        db = self.store.db
        contact = next(db.query(f"SELECT {_COLUMNS} FROM contacts c LEFT JOIN profiles p ON p.contact_id = c.id "
                                "WHERE c.id = ?", [contact_id]), None)
        if contact is None:
            flash(_("There is no contact with id %(id)s.", id=contact_id), "error")
            return redirect(url_for(".index"))
        form = bind_form(ContactForm, name=contact["name"], domain=contact["domain"],
                         opted_out=bool(contact["opted_out"]))
        if request.method == "POST":
            if form.validate():
                name, domain, opted_out = form.name.data.strip() or None, form.domain.data.strip() or None, \
                    int(form.opted_out.data)
                with transaction(db) as connection:
                    update_contact(db, find_contact(db, contact["phone"]), name=name, domain=domain,
                                   opted_out=opted_out)
                    changed = [field for field, before, after in (("name", contact["name"], name),
                                                                  ("domain", contact["domain"], domain),
                                                                  ("opted_out", contact["opted_out"], opted_out))
                               if before != after]
                    audit.record(connection, self.signed_in_admin(), "edit_contact", f"contact {contact_id}",
                                 contact_id, "changed: " + (", ".join(changed) or "nothing"))
                flash(_("Saved %(phone)s.", phone=contact["phone"]), "success")
                return redirect(url_for(".edit", contact_id=contact_id))
            refuse(form)
            return self.render("chasqui/contact.html", contact=contact, form=form), 400
        return self.render("chasqui/contact.html", contact=contact, form=form)
