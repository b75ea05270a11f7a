"""Conversations: the contacts, most recently active first (searchable and filtered like the
contacts list); one contact's messages, a page at a time, in the order they were written, with a
search inside that conversation; and a search across every message.

Last activity is not stored: it is MAX(created_at) of the contact's messages, one seek of the
messages_by_contact_time index per contact. Ordering 10,000 contacts by it costs 45 ms of SQL,
where the former GROUP BY over all messages read every one of a million rows (221 ms, and growing
with the messages); the messages are then counted for the page's 50 contacts only. The whole page:
48 ms, its last page 86 ms (bench/admin_lists.py). The order is computed, so this list pages by
?page=N."""
from __future__ import annotations

from flask import request
from flask_admin import expose

from admin import message_search
from admin.auth import PanelView
from admin.forms import ActionForm
from admin.paging import Keyset, keyset_page, offset_page
from admin.views.base import search_arg
from admin.views.contacts import contact_filters
from backend import voice_notes
from chasqui.http_input import row_id

# With the delivery state of what went out through the queue (an officer's reply, a notice, a file).
_MESSAGES = ("SELECT m.id, m.direction, m.body, m.source, m.officer, m.created_at, a.status AS queue_status, "
             "a.delivery_status FROM messages m LEFT JOIN alerts a ON a.message_id = m.id")


class ConversationsView(PanelView):
    @expose("/")
    def index(self):
        raw_id = request.args.get("contact")
        if raw_id:
            contact_id = row_id(raw_id)
            contact = contact_id is not None and next(self.store.db.query(
                "SELECT id, phone, name, domain FROM contacts WHERE id = ?", [contact_id]), None)
            if contact:
                return self._conversation(contact)
        return self._contacts(unknown_contact=bool(raw_id))

    def _contacts(self, unknown_contact: bool):
        db = self.store.db
        where, params, chosen = contact_filters(db)
        condition = f" WHERE {' AND '.join(where)}" if where else ""
        total = db.execute(f"SELECT COUNT(*) FROM contacts c{condition}", params).fetchone()[0]
        page = offset_page(db, "SELECT c.id, c.phone, c.name, c.domain, "
                               "(SELECT MAX(m.created_at) FROM messages m WHERE m.contact_id = c.id) AS last_at "
                               f"FROM contacts c{condition} ORDER BY last_at DESC NULLS LAST, c.id DESC",
                           params, total)
        counts = dict(db.execute(
            f"SELECT contact_id, COUNT(*) FROM messages WHERE contact_id IN ({', '.join('?' * len(page.rows))}) "
            "GROUP BY contact_id", [r["id"] for r in page.rows]).fetchall()) if page.rows else {}
        for row in page.rows:
            row["messages"] = counts.get(row["id"], 0)
        return self.render("chasqui/conversations.html", page=page, contacts=page.rows, filters=chosen,
                           query=chosen["q"], unknown_contact=unknown_contact)

    def _conversation(self, contact: dict):
        db, contact_id = self.store.db, contact["id"]
        query = search_arg()
        hits = None
        if query:
            search = message_search.message_search(db, query, contact_id)
            hits = self._hits(search) if search else None
            page = hits
        else:
            page = keyset_page(db, _MESSAGES, ["m.contact_id = ?"], [contact_id],
                               Keyset("m.id", "m.created_at", lambda cursor: _message_time(db, contact_id, cursor)))
            page.rows.reverse()  # each page reads oldest to newest, as written
        shown = page.rows if page else []
        voice = voice_notes.notes_of_messages(db, [m["id"] for m in shown if m["direction"] == "in"])
        takeover = next(db.query("SELECT id, status, officer FROM takeovers WHERE contact_id = ? "
                                 "AND status != 'returned'", [contact_id]), None)
        return self.render("chasqui/conversations.html", contact=contact, page=page, messages=shown, voice=voice,
                           query=query, searching=bool(query), no_words=bool(query) and hits is None,
                           takeover=takeover, action_form=ActionForm())

    @expose("/search")
    def search(self):
        query = search_arg()
        search = message_search.message_search(self.store.db, query)
        page = self._hits(search) if search else None
        return self.render("chasqui/message_search.html", query=query, page=page,
                           no_words=bool(query) and search is None)

    def _hits(self, search: message_search.Search):
        page = keyset_page(self.store.db, search.select, search.where, search.params, search.keyset)
        for row in page.rows:
            row["parts"] = search.parts(row["snippet"])
        return page


def _message_time(db, contact_id: int, message_id: int) -> float | None:
    row = db.execute("SELECT created_at FROM messages WHERE id = ? AND contact_id = ?",
                     (message_id, contact_id)).fetchone()
    return row[0] if row else None


