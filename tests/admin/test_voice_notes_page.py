"""Voice notes in the panel: every note with what was heard (or why not) and a player; the
conversation view plays a note next to the message its transcript became; the audio only behind
the login, and served as audio only when it is."""
from __future__ import annotations

from backend import conversation, voice_notes
from tests.speech.voices import voice_note

NOTE = voice_note("cuándo riego mi papa")


def keep_note(db, wa_id: str, transcript: str | None, problem: str | None = None, audio: bytes = NOTE,
              mime: str = "audio/ogg; codecs=opus") -> int:
    note = voice_notes.keep(db, wa_id, "+51987000001", mime, audio)
    if transcript is not None or problem:
        voice_notes.heard(db, note.id, transcript or "", problem, 2.1, 950.0)
    inbound = conversation.store_inbound(db, 1, transcript or "🎙️ (nota de voz sin palabras que leer)", wa_id)
    voice_notes.link(db, note.id, 1, inbound)
    return note.id


def test_the_voice_notes_page_lists_each_note_with_what_was_heard_and_a_player(signed_in, db):
    heard = keep_note(db, "wamid.V1", "¿Cuándo riego mi papa?")
    silent = keep_note(db, "wamid.V2", None, "audio_too_long")
    html = signed_in.get("/admin/voice-notes/").text
    assert "¿Cuándo riego mi papa?" in html and "audio_too_long" in html
    assert f"/admin/voice-notes/{heard}/audio" in html and f"/admin/voice-notes/{silent}/audio" in html
    assert 'type="audio/ogg"' in html


def test_the_conversation_view_plays_the_note_beside_its_transcript(signed_in, db):
    note_id = keep_note(db, "wamid.V3", "Hoy regué cuatro horas")
    html = signed_in.get("/admin/conversations/?contact=1").text
    assert "Hoy regué cuatro horas" in html and "🎙️ nota de voz" in html
    assert f"/admin/voice-notes/{note_id}/audio" in html


def test_the_audio_is_served_as_it_came_and_only_behind_the_login(signed_in, client, db):
    note_id = keep_note(db, "wamid.V4", "hola")
    played = signed_in.get(f"/admin/voice-notes/{note_id}/audio")
    assert played.status_code == 200 and played.data == NOTE and played.mimetype == "audio/ogg"
    assert signed_in.get("/admin/voice-notes/999999/audio").status_code == 404
    signed_out = client.application.test_client()  # `client` is the signed-in one's own
    assert signed_out.get(f"/admin/voice-notes/{note_id}/audio").status_code in (302, 401, 403)


def test_a_note_claiming_a_type_that_is_no_audio_is_served_as_plain_bytes(signed_in, db):
    note_id = keep_note(db, "wamid.V5", None, "unsupported_audio", audio=b"<script>alert(1)</script>",
                        mime="text/html")
    served = signed_in.get(f"/admin/voice-notes/{note_id}/audio")
    assert served.mimetype == "application/octet-stream"
    assert served.headers.get("X-Content-Type-Options") == "nosniff"
