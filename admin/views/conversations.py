"""Conversations: pick a contact, read its messages in the order they were written."""
from __future__ import annotations

from flask import request
from flask_admin import expose

from admin.auth import PanelView
from backend import voice_notes
from chasqui.http_input import row_id

CONVERSATION_MESSAGES = 500  # the most recent ones; older history stays in the database


class ConversationsView(PanelView):
    @expose("/")
    def index(self):
        db = self.store.db
        # Contacts with messages first, the most recently active on top.
        contacts = list(db.query(
            "SELECT c.id, c.phone, c.name, COUNT(m.id) AS messages, MAX(m.created_at) AS last_at "
            "FROM contacts c LEFT JOIN messages m ON m.contact_id = c.id "
            "GROUP BY c.id ORDER BY last_at IS NULL, last_at DESC, c.id DESC LIMIT 1000"))
        raw_id = request.args.get("contact")
        contact_id = row_id(raw_id)
        contact = messages = None
        voice: dict[int, dict] = {}
        if contact_id is not None:
            contact = next(db.query("SELECT id, phone, name, domain FROM contacts WHERE id = ?", [contact_id]), None)
        if contact is not None:
            newest_first = list(db.query(
                "SELECT id, direction, body, source, created_at FROM messages WHERE contact_id = ? "
                "ORDER BY created_at DESC, id DESC LIMIT ?", [contact_id, CONVERSATION_MESSAGES]))
            messages = newest_first[::-1]
            voice = voice_notes.notes_of_messages(db, [m["id"] for m in messages if m["direction"] == "in"])
        return self.render("chasqui/conversations.html", contacts=contacts, contact=contact, messages=messages, voice=voice,
                           unknown_contact=bool(raw_id) and contact is None,
                           limit=CONVERSATION_MESSAGES)
