"""Speech to text: one faster-whisper model (CTranslate2, int8 on the CPU) and how it is called.

Not thread-safe by design, like engine.py: only the speech queue's worker calls transcribe().

Measured on the 2-core machine Chasqui targets (bench/speech.py: espeak-ng's Spanish, whisper-base,
the domain prompt sent unless said, medians of 3; the figures move 10-20% from run to run):
- A note costs about a second whatever its length up to 30 s, because Whisper encodes a whole
  30-s window: 3 s took 1.03 s, 10 s 1.27 s, 30 s 2.19 s (real-time factor 0.32 to 0.07).
  Loading takes 0.4 s; the model API process peaks 323 MB higher (583 MB with SmolLM2 against
  260 MB with SPEECH_MODEL=none).
- beam_size 5 (SPEECH_BEAM_SIZE): on 16 one-sentence notes, the usual length, beam 5 made fewer
  word errors than greedy decoding (mean word error rate 0.288 against 0.374) in the same time
  (18.8 s for all 16 either way), since the encoder dominates short notes; it costs more only on
  long ones (30 s: 2.19 against 1.69 s alone, 3.25 against 2.57 s beside the LLM). The prompt
  matters more than the beam: without it, 0.490 (beam 5) and 0.392 (beam 1), and Whisper
  re-decoded 2 and 4 of the notes at hotter temperatures (a 3-s note then took 3.0 s).
- threads 1 (SPEECH_THREADS): the two cores are shared, not split. The LLM's worker runs
  MODEL_N_THREADS (2) llama.cpp threads and this worker its own CTranslate2 thread, each with its
  queue, so a note never waits behind a chat answer (10-20 s) nor an answer behind a note.
  Beside a generating LLM (42 tokens/s alone) one speech thread left it a steady median of
  12-14 tokens/s for the 1.5-3.3 s a note took; two threads were at best a quarter faster for
  speech (5 s: 1.24 against 1.62 s) and sometimes slower (3 s: 1.70 against 1.50 s), and made
  the LLM stall, down to a median of 3.4-4.7 tokens/s on some notes (1.3 at worst): llama.cpp's
  threads wait for each other at every step, and four busy threads on two cores keep one of them
  off a core. Alone, a second thread saved at most a third (beam 1, 10 s: 0.79 against 1.16 s)
  and with beam 5 little or nothing (10 s: 1.20 against 1.27 s).
- language fixed (SPEECH_LANGUAGE, "es"): left to detect it, Whisper base took 4 of the 16 short
  Spanish notes for English, Thai or Japanese.
- vad_filter: Silero VAD drops silence first, so a silent note costs about 10 ms and gives Whisper
  nothing to invent text over (whisper_hallucinations.py catches what noise gets through).
- condition_on_previous_text False: a note is one to four 30-s windows, and feeding a window's
  text into the next is how Whisper's repetition loops spread.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable

from model_api.audio_decoding import DecodedAudio
from model_api.settings import SpeechSettings
from model_api.whisper_hallucinations import is_hallucination

log = logging.getLogger(__name__)

# Whisper's own schedule: temperature 0 first, hotter only when the text looks like a loop.
FALLBACK_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


@dataclass
class TranscriptionRequest:
    audio: DecodedAudio
    language: str
    prompt: str | None = None  # initial_prompt: domain words the note is likely to contain
    temperature: float | None = None  # None or 0: the fallback schedule, as OpenAI does
    word_timestamps: bool = False
    beam_size: int | None = None  # None: the setting's


@dataclass
class Word:
    word: str
    start: float
    end: float
    probability: float


@dataclass
class Segment:
    id: int
    seek: int
    start: float
    end: float
    text: str
    tokens: list[int]
    temperature: float
    avg_logprob: float
    compression_ratio: float
    no_speech_prob: float
    words: list[Word] = field(default_factory=list)


@dataclass
class Transcription:
    text: str
    language: str
    duration: float  # of the audio, seconds
    segments: list[Segment]
    transcribe_ms: float
    dropped: list[str]  # segments taken for Whisper's silence lines (whisper_hallucinations.py)

    @property
    def real_time_factor(self) -> float:
        return self.transcribe_ms / 1000 / self.duration if self.duration else 0.0


class SpeechEngine:
    def __init__(self, settings: SpeechSettings):
        self.settings = settings
        self.model = None

    def load(self) -> None:
        from faster_whisper import WhisperModel  # imported here: CTranslate2 is only needed once speech is on

        s = self.settings
        started = time.perf_counter()
        self.model = WhisperModel(str(s.model_dir), device="cpu", compute_type="int8", cpu_threads=s.threads,
                                  num_workers=1, local_files_only=True)
        log.info("speech model loaded", extra={"model": s.model_name, "threads": s.threads,
                                               "seconds": round(time.perf_counter() - started, 2)})

    def transcribe(self, request: TranscriptionRequest, check: Callable[[], None] = lambda: None) -> Transcription:
        """`check` raises JobStopped (request_queue.py) when time is up or the client left; it is
        called between segments (Whisper decodes 30-s windows, a second or two each here)."""
        started = time.perf_counter()
        temperature = request.temperature if request.temperature else FALLBACK_TEMPERATURES
        pieces, info = self.model.transcribe(
            request.audio.samples,
            language=request.language,
            beam_size=request.beam_size or self.settings.beam_size,
            temperature=temperature,
            initial_prompt=request.prompt or None,
            condition_on_previous_text=False,
            vad_filter=True,
            word_timestamps=request.word_timestamps,
        )
        segments, dropped = [], []
        for piece in pieces:  # a generator: each step decodes the next window
            check()
            if is_hallucination(piece.text):
                dropped.append(piece.text.strip())
                continue
            segments.append(Segment(
                id=len(segments), seek=piece.seek, start=round(piece.start, 2), end=round(piece.end, 2),
                text=piece.text, tokens=list(piece.tokens), temperature=piece.temperature or 0.0,
                avg_logprob=piece.avg_logprob, compression_ratio=piece.compression_ratio,
                no_speech_prob=piece.no_speech_prob,
                words=[Word(w.word, round(w.start, 2), round(w.end, 2), w.probability) for w in piece.words or ()],
            ))
        return Transcription(
            text="".join(s.text for s in segments).strip(),
            language=info.language,
            duration=request.audio.duration,
            segments=segments,
            transcribe_ms=(time.perf_counter() - started) * 1000,
            dropped=dropped,
        )
