"""Turns a /v1/audio/transcriptions form (multipart/form-data, OpenAI's fields) into what the
speech engine needs, or says exactly which field is wrong."""
from __future__ import annotations

import math
from dataclasses import dataclass

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from chasqui.http_errors import ApiError, bad_request
from model_api.transcription_format import RESPONSE_FORMATS
from model_api.whisper_languages import LANGUAGES

# Whisper reads only the last 223 tokens of a prompt (about 800 characters of Spanish); more
# than this is a mistake on the caller's side, not vocabulary.
MAX_PROMPT_CHARS = 2000
GRANULARITIES = ("segment", "word")


@dataclass
class ParsedTranscription:
    audio: bytes
    language: str
    prompt: str | None
    response_format: str
    temperature: float | None
    words: bool


def _form(max_body_bytes: int):
    try:
        return request.files, request.form
    except RequestEntityTooLarge:
        if request.content_length is not None and request.content_length <= max_body_bytes:
            raise ApiError(413, "body_too_large", "a text field of the form is too large (Flask's "
                           "MAX_FORM_MEMORY_SIZE); only the file may be large") from None
        raise ApiError(413, "body_too_large",
                       f"the upload is larger than {max_body_bytes} bytes (SPEECH_MAX_BODY_BYTES)") from None


def _temperature(form) -> float | None:
    raw = form.get("temperature")
    if raw is None or not raw.strip():
        return None
    try:
        value = float(raw)
    except ValueError:
        raise bad_request("'temperature' must be a number between 0 and 1", "temperature") from None
    if not math.isfinite(value) or not 0 <= value <= 1:
        raise bad_request(f"'temperature' must be between 0 and 1, got {raw[:20]}", "temperature")
    return value


def parse_transcription(default_language: str, max_body_bytes: int) -> ParsedTranscription:
    files, form = _form(max_body_bytes)
    upload = files.get("file")
    if upload is None:
        how = "" if request.mimetype == "multipart/form-data" else " (send multipart/form-data)"
        where = "it came as a text field, not a file" if "file" in form else "there is none"
        raise bad_request(f"'file' is required: the audio as a file upload{how}; {where}", "file")
    language = (form.get("language") or default_language).strip().lower()
    if language not in LANGUAGES:
        raise bad_request(f"'language' must be an ISO-639-1 code Whisper knows (es, en, pt, …), got {language[:20]!r}",
                          "language")
    prompt = form.get("prompt") or None
    if prompt is not None and len(prompt) > MAX_PROMPT_CHARS:
        raise bad_request(f"'prompt' has {len(prompt)} characters; at most {MAX_PROMPT_CHARS} (Whisper reads only "
                          "the last ~220 tokens)", "prompt")
    response_format = form.get("response_format") or "json"
    if response_format not in RESPONSE_FORMATS:
        raise bad_request(f"'response_format' must be one of {', '.join(RESPONSE_FORMATS)}", "response_format")
    granularities = form.getlist("timestamp_granularities[]") or form.getlist("timestamp_granularities")
    if any(g not in GRANULARITIES for g in granularities):
        raise bad_request("'timestamp_granularities[]' values must be 'segment' or 'word'", "timestamp_granularities[]")
    words = "word" in granularities
    if words and response_format != "verbose_json":
        raise bad_request("word timestamps need response_format verbose_json", "timestamp_granularities[]")
    return ParsedTranscription(
        audio=upload.read(), language=language, prompt=prompt, response_format=response_format,
        temperature=_temperature(form), words=words)
