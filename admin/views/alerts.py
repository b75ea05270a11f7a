"""Alerts: their delivery state (filterable by status), and a form that creates one for a contact
or one per contact of a filtered group, through the same repository the API uses."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import expose

from admin.auth import PanelView
from admin.forms import AlertForm
from admin.views.base import PAGE_ROWS, bind_form, refuse
from backend.alerts import repository
from backend.phones import InvalidPhone, normalize_phone

STATUSES = ("pending", "claimed", "sent", "failed")


class AlertsView(PanelView):
    @expose("/")
    def index(self):
        db = self.store.db
        status = request.args.get("status", "")
        status = status if status in STATUSES else ""
        sql = ("SELECT a.id, c.phone, c.name, a.message, a.level, a.status, a.attempts, a.last_error, "
               "a.broadcast, a.created_at, a.next_attempt_at, a.sent_at, a.delivery_status, a.delivery_error "
               "FROM alerts a JOIN contacts c ON c.id = a.contact_id")
        params: list = []
        if status:
            sql += " WHERE a.status = ?"
            params.append(status)
        sql += " ORDER BY a.created_at DESC, a.id DESC LIMIT ?"
        alerts = list(db.query(sql, [*params, PAGE_ROWS + 1]))
        counts = dict(db.execute("SELECT status, COUNT(*) FROM alerts GROUP BY status").fetchall())
        return self.render("chasqui/alerts.html", alerts=alerts[:PAGE_ROWS], truncated=len(alerts) > PAGE_ROWS,
                           status=status, statuses=STATUSES, counts=counts)

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
        db = self.store.db
        message, level = form.message.data, form.level.data
        try:
            if form.target.data == "contact":
                phone = normalize_phone(form.phone.data)
                contact = next(db.query("SELECT id, opted_out FROM contacts WHERE phone = ?", [phone]), None)
                if contact is None:
                    return _refused(f"there is no contact with phone {phone}.")
                if contact["opted_out"]:
                    return _refused(f"{phone} opted out: they receive no alerts.")
                alert_id = repository.create_alert(db, contact["id"], message, level)
                return f"Alert {alert_id} created for {phone}; it is pending delivery."
            domain = form.domain.data.strip()
            _, alert_ids = repository.create_broadcast(db, message, level, domain, form.parsed_filters)
            if not alert_ids:
                return _refused(f"no contact (not opted out) in domain {domain!r} matches those filters.")
            return f"{len(alert_ids)} alerts created for domain {domain!r}; they are pending delivery."
        except (InvalidPhone, repository.InvalidAlert, repository.ContactNotFound) as problem:
            return _refused(f"{problem}.")


def _refused(reason: str) -> None:
    flash(f"Nothing was saved: {reason}", "error")
    return None
