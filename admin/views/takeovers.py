"""The officers' inbox: conversations that asked for a person (newest first, with the reason and
the last messages), and one conversation's page where an officer takes it over, writes to the
user and hands it back. The rules live in backend/takeovers.py; this view only calls them, inside
a transaction, and says plainly when one refuses (another officer holds it...)."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _

from admin.auth import PanelView
from admin.forms import CSRF_PROBLEM, ActionForm, OfficerReplyForm
from admin.paging import Keyset, keyset_page
from admin.views.base import choice_arg
from backend import takeovers
from backend.store.database import transaction
from chasqui.http_input import row_id

STATUSES = ("waiting", "taken", "returned")
LAST_MESSAGES = 3  # shown under each conversation of the inbox
CONVERSATION_MESSAGES = 60  # on the takeover's page; the whole history is in Conversations


class TakeoversView(PanelView):
    @expose("/")
    def index(self):
        db = self.store.db
        status = choice_arg("status", STATUSES)
        where, params = (["t.status = ?"], [status]) if status else (["t.status != 'returned'"], [])
        page = keyset_page(db, "SELECT t.id, t.contact_id, t.reason, t.status, t.officer, t.requested_at, t.taken_at, "
                               "t.returned_at, t.returned_by, c.phone, c.name, c.domain "
                               "FROM takeovers t JOIN contacts c ON c.id = t.contact_id", where, params, Keyset("t.id"))
        last = {row["id"]: self._last_messages(row["contact_id"]) for row in page.rows}
        counts = dict(db.execute("SELECT status, COUNT(*) FROM takeovers WHERE status != 'returned' "
                                 "GROUP BY status").fetchall())
        return self.render("chasqui/takeovers.html", page=page, takeovers=page.rows, last=last, status=status,
                           statuses=STATUSES, counts=counts)

    @expose("/<int:takeover_id>")
    def show(self, takeover_id: int, status: int = 200):
        """The conversation and what the officer can do; `status` 4xx when it shows a refused post."""
        db = self.store.db
        takeover = next(db.query("SELECT t.*, c.phone, c.name, c.domain FROM takeovers t JOIN contacts c "
                                 "ON c.id = t.contact_id WHERE t.id = ?", [takeover_id]), None)
        if takeover is None:
            flash(_("There is no such takeover."), "error")
            return redirect(url_for(".index"))
        messages = list(db.query(
            "SELECT m.id, m.direction, m.body, m.source, m.officer, m.created_at, a.status AS queue_status, "
            "a.delivery_status, a.delivery_error, a.last_error FROM messages m "
            "LEFT JOIN alerts a ON a.message_id = m.id WHERE m.contact_id = ? ORDER BY m.id DESC LIMIT ?",
            [takeover["contact_id"], CONVERSATION_MESSAGES]))[::-1]
        me = self.signed_in_admin()
        return self.render("chasqui/takeover.html", takeover=takeover, messages=messages, form=ActionForm(),
                           reply_form=OfficerReplyForm(), mine=takeover["officer"] == me), status

    @expose("/<int:takeover_id>/take", methods=("POST",))
    def take(self, takeover_id: int):
        return self._act(takeover_id, lambda connection, me: takeovers.take(connection, takeover_id, me),
                         _("You are attending this conversation: the bot is silent for this contact."))

    @expose("/<int:takeover_id>/reply", methods=("POST",))
    def reply(self, takeover_id: int):
        form = OfficerReplyForm(request.form)
        if not form.validate():
            flash(str(CSRF_PROBLEM) if form.csrf_failed else _("Write a message first."), "error")
            return self.show(takeover_id, 400)
        return self._act(takeover_id, lambda connection, me: takeovers.reply(connection, takeover_id, me,
                                                                             form.text.data),
                         _("Sent to the phone's queue; its delivery shows next to it."), form_checked=True)

    @expose("/<int:takeover_id>/hand-back", methods=("POST",))
    def hand_back(self, takeover_id: int):
        return self._act(takeover_id, lambda connection, me: takeovers.hand_back(connection, takeover_id, me),
                         _("Handed back: the bot answers this contact again."))

    @expose("/start", methods=("POST",))
    def start(self):
        """Take over a conversation nobody asked for (from its page in Conversations)."""
        contact_id = row_id(request.form.get("contact", ""))
        if not ActionForm(request.form).validate():
            flash(str(CSRF_PROBLEM), "error")
            return self._refused_start()
        if contact_id is None or self.store.db.execute("SELECT 1 FROM contacts WHERE id = ?",
                                                       [contact_id]).fetchone() is None:
            flash(_("There is no such contact."), "error")
            return self._refused_start()
        try:
            with transaction(self.store.db) as connection:
                taken = takeovers.start(connection, contact_id, self.signed_in_admin())
        except takeovers.TakeoverProblem as problem:
            flash(_problem_text(problem), "error")
            return self._refused_start(409)
        flash(_("You are attending this conversation: the bot is silent for this contact."), "info")
        return redirect(url_for(".show", takeover_id=taken["id"]))

    def _act(self, takeover_id: int, action, done: str, form_checked: bool = False):
        """Run an officer's action; done: back to the page (302), refused: the page says why (4xx)."""
        if not form_checked and not ActionForm(request.form).validate():
            flash(str(CSRF_PROBLEM), "error")
            return self.show(takeover_id, 400)
        try:
            with transaction(self.store.db) as connection:
                action(connection, self.signed_in_admin())
        except takeovers.TakeoverProblem as problem:
            flash(_problem_text(problem), "error")
            return self.show(takeover_id, 409 if isinstance(problem, takeovers.HeldByAnother) else 400)
        flash(done, "info")
        return redirect(url_for(".show", takeover_id=takeover_id))

    def _refused_start(self, status: int = 400):
        return self.index(), status

    def _last_messages(self, contact_id: int) -> list[dict]:
        return list(self.store.db.query(
            "SELECT direction, body, source, created_at FROM messages WHERE contact_id = ? "
            "ORDER BY id DESC LIMIT ?", [contact_id, LAST_MESSAGES]))[::-1]


def _problem_text(problem: takeovers.TakeoverProblem) -> str:
    """The backend's refusal in the panel's language."""
    if isinstance(problem, takeovers.HeldByAnother):
        return _("%(officer)s is attending this conversation.", officer=problem.officer)
    texts = {
        "write a message first": _("Write a message first."),
        "take the conversation over first": _("Take the conversation over first."),
        "this conversation was already handed back to the bot": _("This conversation was already handed back."),
    }
    message = str(problem)
    if message.startswith("a WhatsApp message has at most"):
        return _("A WhatsApp message has at most 4096 characters.")
    return texts.get(message, _("There is no such takeover."))
