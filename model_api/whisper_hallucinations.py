"""Lines Whisper writes over silence or noise, not heard in the audio.

Whisper learned from subtitled video, whose silent stretches often carry the subtitler's credit
or the channel's sign-off, and over silence it writes those: in Spanish the Amara.org credit,
«¡Suscríbete al canal!» and «Gracias por ver el video» are the reported ones (e.g.
thewh1teagle/vibe#1383, Vexa-ai/vexa#617, which keep such lists too). The Silero VAD that runs
first is the main defence: here whisper-base with it wrote nothing over digital silence, white
noise or wind-like noise, while without it, given a prompt, it made up «y a la casa de la
familia.» over 5 s of digital silence. This list is the backstop for noise the VAD lets through.

A segment is dropped only when all of it is one of these lines (case, accents and punctuation
aside): a farmer who says «gracias» keeps it. The list is short on purpose: every entry is a
line nobody dictates to an assistant; a longer one would start eating real messages.
"""
from __future__ import annotations

import re
import unicodedata

HALLUCINATIONS = frozenset({
    "subtitulos realizados por la comunidad de amara org",
    "subtitulos por la comunidad de amara org",
    "subtitulado por la comunidad de amara org",
    "suscribete",
    "suscribete al canal",
    "gracias por ver el video",
    "gracias por ver",
    "gracias por ver el video suscribete",
})
_NOT_LETTERS = re.compile(r"[^a-z0-9]+")


def normalized(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return _NOT_LETTERS.sub(" ", plain).strip()


def is_hallucination(text: str) -> bool:
    line = normalized(text)
    return line in HALLUCINATIONS or "amara org" in line  # nobody dictates the subtitlers' site
