"""Shapes transcriptions the way OpenAI's /v1/audio/transcriptions does (whisper-1), so its
official client and other OpenAI-speaking tools read them: json, text, verbose_json, srt, vtt."""
from __future__ import annotations

import math

from flask import Response, jsonify

from model_api.speech import Segment, Transcription
from model_api.whisper_languages import LANGUAGES

RESPONSE_FORMATS = ("json", "text", "verbose_json", "srt", "vtt")


def usage(result: Transcription) -> dict:
    """OpenAI bills whisper-1 by the second, rounded up, and reports it so."""
    return {"type": "duration", "seconds": math.ceil(result.duration)}


def _segment(segment: Segment) -> dict:
    return {"id": segment.id, "seek": segment.seek, "start": segment.start, "end": segment.end,
            "text": segment.text, "tokens": segment.tokens, "temperature": segment.temperature,
            "avg_logprob": segment.avg_logprob, "compression_ratio": segment.compression_ratio,
            "no_speech_prob": segment.no_speech_prob}


def _clock(seconds: float, decimal: str) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    return f"{hours:02}:{minutes:02}:{millis // 1000:02}{decimal}{millis % 1000:03}"


def srt(result: Transcription) -> str:
    return "".join(f"{i}\n{_clock(s.start, ',')} --> {_clock(s.end, ',')}\n{s.text.strip()}\n\n"
                   for i, s in enumerate(result.segments, 1))


def vtt(result: Transcription) -> str:
    return "WEBVTT\n\n" + "".join(f"{_clock(s.start, '.')} --> {_clock(s.end, '.')}\n{s.text.strip()}\n\n"
                                  for s in result.segments)


def response(result: Transcription, response_format: str, words: bool, timings: dict, model_name: str) -> Response:
    """Beyond OpenAI's keys, json and verbose_json carry `timings` (and json the duration,
    language and model too, which only verbose_json has at OpenAI); its clients ignore unknown keys."""
    if response_format in ("text", "srt", "vtt"):
        text = {"text": lambda r: r.text, "srt": srt, "vtt": vtt}[response_format](result)
        return Response(text, mimetype="text/plain")
    language = LANGUAGES.get(result.language, result.language)
    if response_format == "json":
        return jsonify({"text": result.text, "usage": usage(result), "duration": round(result.duration, 3),
                        "language": language, "model": model_name, "timings": timings})
    body = {"task": "transcribe", "language": language, "duration": round(result.duration, 3), "text": result.text,
            "segments": [_segment(s) for s in result.segments], "usage": usage(result), "timings": timings}
    if words:
        body["words"] = [{"word": w.word.strip(), "start": w.start, "end": w.end}
                         for s in result.segments for w in s.words]
    return jsonify(body)
