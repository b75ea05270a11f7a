"""POST /agent/voice: a WhatsApp voice note, heard and then answered like the typed message.

The bridge sends the note as it came (multipart: `phone`, `message_id`, `name`, `role`, `file`).
1. the note is kept first (backend.voice_notes), so nothing is lost whatever fails next;
2. the speech engine hears it once, with the contact's domain words as its prompt (a repeat of
   the message id reuses what was heard); an engine that is down or busy answers 503, and the
   bridge keeps the note and sends it again later;
3. the transcript goes through the orchestrator exactly as a typed message would, and the reply
   starts by showing what was heard («🎙️ Entendí: "¿cuándo riego mi papa?"»), so a misheard
   note is visible at once;
4. a note with nothing in it, too long, broken or of a kind the engine cannot open gets a clear
   reply in Spanish (200: the bridge has nothing to retry) and stays for the admin.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from backend import conversation, voice_notes
from backend.agent.orchestrator import Orchestrator
from backend.agent.routes import answer_body, answer_recording_failures, profile_name
from backend.agent.streamed_answer import streamed, wants_stream
from backend.agent.speech_client import Heard, SpeechClient, SpeechUnavailable
from backend.contacts import find_contact
from backend.http_input import optional_channel
from backend.phones import InvalidPhone, normalize_phone
from backend.store.database import transaction
from chasqui.http_errors import ApiError, bad_request
from chasqui.http_input import is_text

HEARD_LINE_CHARS = 160  # what was heard is shown whole up to here, then cut with «…»
PROMPT_CHARS = 600  # Whisper reads at most 224 prompt tokens; a few domains' words fit in this
FORM_OVERHEAD_BYTES = 64_000  # the multipart framing and the text fields around the audio

# Said instead of an answer when the note could not be heard; the bridge relays it as is.
UNHEARD_REPLIES = {
    "silent": "No escuché palabras en tu nota de voz 🎙️. ¿Me la mandas de nuevo hablando cerca del teléfono, "
              "o me lo escribes?",
    "empty_audio": "Tu nota de voz me llegó vacía 🎙️. ¿Me la mandas de nuevo, o me lo escribes?",
    "audio_too_long": "Tu nota de voz es muy larga para mí 🎙️. Mándame notas de hasta 2 minutos, o escríbeme.",
    "invalid_audio": "No pude abrir tu nota de voz 🎙️: parece dañada. ¿Me la mandas de nuevo, o me lo escribes?",
    "unsupported_audio": "No puedo abrir ese tipo de audio 🎙️. Mándame una nota de voz de WhatsApp, o escríbeme.",
}


def heard_line(transcript: str) -> str:
    shown = transcript if len(transcript) <= HEARD_LINE_CHARS else transcript[:HEARD_LINE_CHARS - 1].rstrip() + "…"
    return f'🎙️ Entendí: "{shown}"'


def speech_prompt(orchestrator: Orchestrator, domain: str | None) -> str:
    """The contact's domain words; before onboarding, every domain's (the note may say which)."""
    plugins = orchestrator.plugins
    chosen = [plugins[domain]] if domain in plugins else list(plugins.values())
    return " ".join(p.speech_prompt for p in chosen if p.speech_prompt)[:PROMPT_CHARS]


def create_voice_blueprint(orchestrator: Orchestrator, speech: SpeechClient, max_audio_bytes: int,
                           metrics) -> Blueprint:
    blueprint = Blueprint("voice", __name__)
    db = orchestrator.store.db

    @blueprint.before_request
    def room_for_audio():
        request.max_content_length = max_audio_bytes + FORM_OVERHEAD_BYTES  # the app's limit is for JSON

    @blueprint.post("/agent/voice")
    def voice():
        if wants_stream(request.headers.get("Accept", "")):  # "typing" when the model starts the answer
            return streamed(lambda: answer_recording_failures(orchestrator, _form_fields, answer))
        return jsonify(answer_recording_failures(orchestrator, _form_fields, answer))

    def answer(fields: dict):
        upload = request.files.get("file")
        if upload is None:
            raise bad_request("the voice note goes in the multipart part 'file'", "file")
        audio = upload.read(max_audio_bytes + 1)
        if len(audio) > max_audio_bytes:
            raise ApiError(413, "audio_too_large", f"the voice note is over {max_audio_bytes} bytes", "file")
        mime_type = (upload.content_type or "application/octet-stream")[:100]
        phone, message_id = fields["phone"], fields["message_id"]
        with transaction(db):
            note = voice_notes.keep(db, message_id, phone, mime_type, audio)
        contact = find_contact(db, phone)
        heard = _hear(note, contact.domain if contact else None)
        if heard.problem or not heard.text:
            return _unheard(note, contact, heard.problem or "silent", fields["role"])
        reply = orchestrator.handle(phone, heard.text, fields["role"], message_id, fields["name"], fields["channel"])
        contact = find_contact(db, phone)
        with transaction(db):
            voice_notes.link(db, note.id, contact.id if contact else None,
                             conversation.inbound_by_whatsapp_id(db, message_id))
        metrics.voice_notes.labels("heard").inc()
        return {**answer_body(reply, metrics, heard_line(heard.text)), "transcript": heard.text}

    def _hear(note: voice_notes.VoiceNote, domain: str | None) -> Heard:
        if note.heard:  # a repeat of the message id: heard once, not twice
            return Heard(note.transcript or "", note.problem, note.seconds)
        if not note.audio:
            heard = Heard("", "empty_audio")
        else:
            try:
                heard = speech.transcribe(note.audio, note.mime_type, speech_prompt(orchestrator, domain))
            except SpeechUnavailable as busy:
                raise ApiError(503, "speech_unavailable", f"the voice note is kept; {busy}",
                               retry_after=round(busy.retry_after_s)) from None
            metrics.transcription.observe(heard.elapsed_ms / 1000)
        with transaction(db):
            voice_notes.heard(db, note.id, heard.text, heard.problem, heard.seconds, heard.elapsed_ms)
        return heard

    def _unheard(note: voice_notes.VoiceNote, contact, problem: str, role: str) -> dict:
        """The Spanish reply for a note that could not be heard, kept in the contact's conversation
        (with the note, for the admin) when the contact exists; a retry finds the same reply."""
        text = UNHEARD_REPLIES.get(problem, UNHEARD_REPLIES["invalid_audio"])
        metrics.voice_notes.labels(problem).inc()
        if contact is not None:
            with transaction(db):
                inbound_id = conversation.inbound_by_whatsapp_id(db, note.wa_message_id)
                if inbound_id is None:
                    inbound_id = conversation.store_inbound(db, contact.id, "🎙️ (nota de voz sin palabras que leer)",
                                                            note.wa_message_id)
                    conversation.store_reply(db, contact.id, text, "voice", inbound_id)
                voice_notes.link(db, note.id, contact.id, inbound_id)
        return {"model_output": {"role": role, "respuesta_chat": text, "acciones": {}, "estado": {}},
                "source": "voice", "transcript": "", "problem": problem}

    return blueprint


def _form_fields() -> dict:
    """The multipart's text fields, checked as /agent checks its JSON: 400 naming the field."""
    def text(name: str, required: bool = False) -> str:
        value = request.form.get(name, "")
        if not is_text(value) or (required and not value.strip()):
            raise bad_request(f"'{name}' is required and must be text" if required else f"'{name}' must be text", name)
        return value.strip()
    try:
        phone = normalize_phone(request.form.get("phone"))
    except InvalidPhone as problem:
        raise bad_request(str(problem), "phone", code="invalid_phone") from None
    return {"phone": phone, "message_id": text("message_id", required=True)[:200],
            "name": profile_name(text("name")), "role": text("role") or "consulta",
            "channel": optional_channel(request.form.get("channel"))}
