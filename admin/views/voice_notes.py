"""Voice notes: every note users sent, newest first (paged by id), with what was heard (or why it could not
be) and a player for the original audio; the conversation view plays them in place too."""
from __future__ import annotations

from flask import Response, flash
from flask_babel import gettext as _
from flask_admin import expose

from admin.auth import PanelView
from admin.paging import Keyset, keyset_page
from backend import voice_notes


class VoiceNotesView(PanelView):
    @expose("/")
    def index(self):
        page = keyset_page(self.store.db, "SELECT v.id, v.phone, v.contact_id, v.mime_type, v.bytes, v.seconds, "
                           "v.transcript, v.problem, v.transcribe_ms, v.created_at FROM voice_notes v", [], [],
                           Keyset("v.id"))
        return self.render("chasqui/voice_notes.html", page=page, notes=page.rows)

    @expose("/<int:note_id>/audio")
    def audio(self, note_id: int):
        found = voice_notes.audio_of(self.store.db, note_id)
        if found is None:  # deleted with its contact, or never there: the list says so
            flash(_("There is no such voice note."), "error")
            return self.index(), 404
        audio, mime_type = found
        # Only audio types are served as themselves: a stored type is what a client claimed.
        served_as = mime_type if mime_type.startswith(("audio/", "application/ogg")) else "application/octet-stream"
        return Response(audio, mimetype=served_as, headers={"Cache-Control": "private, max-age=3600",
                                                             "Content-Disposition": f"inline; filename=nota-{note_id}"})
