"""POST /agent/reaction: a WhatsApp reaction on one of Chasqui's messages, from the bridge
(docs/officers_desk.md). 👍 ❤️ 🙏 rate the reply good, 👎 😡 bad (and ask for a person); a
removed reaction removes the rating. A reaction to something that is not a reply Chasqui knows,
or an emoji that says neither, is answered 200 with no rating: nothing was wrong with the request."""
from __future__ import annotations

from flask import Blueprint, jsonify

from backend import conversation, ratings, takeovers
from backend.agent import core_replies
from backend.contacts import find_contact
from backend.http_input import json_object, optional_string, required_phone, required_string
from backend.store.database import Store, transaction
from chasqui.http_errors import bad_request

MAX_EMOJI_CHARS = 16  # one emoji with its skin tone and joiners; a reaction is never longer


def create_reactions_blueprint(store: Store) -> Blueprint:
    blueprint = Blueprint("reactions", __name__)

    @blueprint.post("/agent/reaction")
    def reaction():
        body = json_object()
        phone = required_phone(body)
        required_string(body, "message_id")
        reacted_to = required_string(body, "reacted_to")
        emoji = optional_string(body, "emoji") or ""
        if len(emoji) > MAX_EMOJI_CHARS:
            raise bad_request(f"'emoji' is one emoji (at most {MAX_EMOJI_CHARS} characters)", "emoji")
        reply_to = optional_string(body, "reply_to")
        value = ratings.emoji_value(emoji)
        contact = find_contact(store.db, phone)
        if contact is None or value is None:
            return jsonify({"rating": None, "respuesta_chat": None})
        db = store.db
        with transaction(db):
            reply_id = ratings.reacted_reply(db, contact.id, reacted_to, reply_to)
            if reply_id is None:
                return jsonify({"rating": None, "respuesta_chat": None})
            already_open = takeovers.open_takeover(db, contact.id) is not None
            ratings.rate(db, reply_id, value, "reaction", emoji)
            text = core_replies.BAD_REACTION if value < 0 and not already_open else None
            if text:
                conversation.store_reply(db, contact.id, text, "code", None)
        return jsonify({"rating": value, "respuesta_chat": text})

    return blueprint
