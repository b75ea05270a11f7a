"""Alerts: their delivery state (filtered by status, level, kind and delivery status, searched in
the message; paged newest first by id), and a form that creates one for a contact or one per
contact of a filtered group, through the same repository the API uses. Officers and admins may
send; each sending is in the audit log, in the transaction that writes the alerts.

A filter that matches few alerts scans the table from the newest until a page is found: a search
matching none of 100,000 alerts is a 64 ms page (bench/admin_lists.py), so no index per filter
column."""
from __future__ import annotations

import json

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _, ngettext

from backend import audit
from admin.auth import PanelView
from admin.forms import AlertForm
from admin.paging import Keyset, keyset_page
from admin.views.base import bind_form, choice_arg, escape_like, refuse, search_arg
from backend.alerts import repository
from backend.phones import InvalidPhone, normalize_phone
from backend.store.database import transaction
from backend.text import fold

STATUSES = ("pending", "claimed", "sent", "failed")
KINDS = ("alert", "reply", "notice", "document")
_SELECT = ("SELECT a.id, a.contact_id, c.phone, c.name, a.message, a.level, a.status, a.attempts, a.last_error, "
           "a.broadcast, a.kind, a.created_at, a.next_attempt_at, a.sent_at, a.delivery_status, a.delivery_error "
           "FROM alerts a JOIN contacts c ON c.id = a.contact_id")
# The search in the message. SQLite's LIKE already ignores (ASCII) case, and fold() there is a Python
# call per row (~40 times the scan: 1.1 s over 100,000 alerts); PostgreSQL's LIKE minds case, and
# its fold() is SQL: the folded message against the folded text (accents ignored too).
_SEARCH = {"sqlite": ("a.message LIKE ? ESCAPE '\\'", lambda text: text),
           "postgresql": ("fold(a.message) LIKE ? ESCAPE '\\'", fold)}


class AlertsView(PanelView):
    @expose("/")
    def index(self):
        db = self.store.db
        chosen = {"status": choice_arg("status", STATUSES), "level": choice_arg("level", repository.LEVELS),
                  "kind": choice_arg("kind", KINDS),
                  "delivery": choice_arg("delivery", (*repository.DELIVERY_STATUSES, "none")), "q": search_arg()}
        where, params = [], []
        for column, name in (("a.status", "status"), ("a.level", "level"), ("a.kind", "kind")):
            if chosen[name]:
                where.append(f"{column} = ?")
                params.append(chosen[name])
        if chosen["delivery"] == "none":
            where.append("a.delivery_status IS NULL")
        elif chosen["delivery"]:
            where.append("a.delivery_status = ?")
            params.append(chosen["delivery"])
        if chosen["q"]:
            condition, folded = _SEARCH[db.dialect]
            where.append(condition)
            params.append(f"%{escape_like(folded(chosen['q']))}%")
        page = keyset_page(db, _SELECT, where, params, Keyset("a.id"))
        counts = dict(db.execute("SELECT status, COUNT(*) FROM alerts GROUP BY status").fetchall())
        return self.render("chasqui/alerts.html", page=page, alerts=page.rows, status=chosen["status"],
                           statuses=STATUSES, counts=counts, filters=chosen, levels=repository.LEVELS, kinds=KINDS,
                           deliveries=repository.DELIVERY_STATUSES)

    @expose("/new", methods=("GET", "POST"))
    def create(self):
        form = bind_form(AlertForm, target=request.args.get("target", "contact"), phone=request.args.get("phone"))
        if request.method == "POST":
            if form.validate():
                done = self._create(form)
                if done:
                    flash(done, "success")
                    return redirect(url_for(".index", status="pending"))
            else:
                refuse(form)
            return self.render("chasqui/alert_form.html", form=form), 400
        return self.render("chasqui/alert_form.html", form=form)

    def _create(self, form: AlertForm) -> str | None:
        """The alerts written, described; or None with the reason flashed and nothing written."""
        db, officer = self.store.db, self.signed_in_admin()
        message, level = form.message.data, form.level.data
        try:
            if form.target.data == "contact":
                phone = normalize_phone(form.phone.data)
                contact = next(db.query("SELECT id, opted_out FROM contacts WHERE phone = ?", [phone]), None)
                if contact is None:
                    return _refused(_("there is no contact with phone %(phone)s.", phone=phone))
                if contact["opted_out"]:
                    return _refused(_("%(phone)s opted out: they receive no alerts.", phone=phone))
                with transaction(db) as connection:
                    alert_id = repository.add_alert(connection, contact["id"], message, level)
                    audit.record(connection, officer, "alert", f"alert {alert_id}", contact["id"], f"level {level}")
                return _("Alert %(id)s created for %(phone)s; it is pending delivery.", id=alert_id, phone=phone)
            domain = form.domain.data.strip()
            alert_ids = _broadcast(db, officer, message, level, domain, form.parsed_filters)
            if not alert_ids:
                return _refused(_("no contact (not opted out) in domain %(domain)r matches those filters.", domain=domain))
            return ngettext("%(num)d alert created for domain %(domain)r; it is pending delivery.",
                            "%(num)d alerts created for domain %(domain)r; they are pending delivery.", len(alert_ids),
                            domain=domain)
        except (InvalidPhone, repository.InvalidAlert, repository.ContactNotFound) as problem:
            return _refused(f"{problem}.")


def _broadcast(db, officer: str, message: str, level: str, domain: str, filters: dict) -> list[int]:
    """repository.add_broadcast with its audit entry in its transaction (nothing when no contact matches)."""
    with transaction(db) as connection:
        broadcast_id, alert_ids = repository.add_broadcast(connection, message, level, domain, filters)
        if alert_ids:
            audit.record(connection, officer, "broadcast", f"broadcast {broadcast_id[:8]}", None,
                         f"{len(alert_ids)} alerts, level {level}, domain {domain}, filters "
                         + json.dumps(filters, ensure_ascii=False))
    return alert_ids


def _refused(reason: str) -> None:
    flash(_("Nothing was saved: %(reason)s", reason=reason), "error")
    return None
