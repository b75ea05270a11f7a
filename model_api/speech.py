"""Speech to text: one faster-whisper model (CTranslate2, int8 on the CPU) and how it is called.

Not thread-safe by design, like engine.py: only the speech queue's worker calls transcribe().

Measured on the 2-core machine Chasqui targets (bench/speech.py: espeak-ng's Spanish, the domain
prompt sent, whisper-base, medians of 3; the figures vary by some 10% from run to run):
- A note costs about a second whatever its length up to 30 s, because Whisper encodes a whole
  30-s window: on one thread 3 s took 0.99 s, 10 s 1.28 s, 30 s 1.71 s (real-time factor 0.31
  to 0.06). Loading takes 0.5 s; the model API process peaks about 330 MB higher (591 MB with
  SmolLM2 against 260 MB with SPEECH_MODEL=none).
- beam_size 1 (SPEECH_BEAM_SIZE): with the prompt, beam 5 read 26 sentences barely better (mean
  word error rate 0.345 against 0.367, some 3 words in 130) and took longer: 30 s 2.17 against
  1.71 s alone, 3.22 against 2.51 s beside the LLM. Without a prompt greedy decoding falls back
  to hotter temperatures more often (12 of the 26 notes against 5: 63 s against 49 s for them
  all): a client that sends no prompt may want 5.
- threads 1 (SPEECH_THREADS): the two cores are shared, not split. The LLM's worker runs
  MODEL_N_THREADS (2) llama.cpp threads and this worker its own CTranslate2 threads, each with
  its queue, so a note never waits behind a chat answer (10-20 s) nor an answer behind a note.
  Alone, a second thread is faster (10 s: 0.80 against 1.28 s; 30 s: 1.53 against 1.71 s). Beside
  a generating LLM it still gained 10-30% (5 s: 1.12 against 1.59 s) but the LLM, 39 tokens/s
  alone, fell to a median of 0.9-9.9 tokens/s while the note was transcribed (0.4 at worst);
  with one speech thread it kept a steady 13-16. llama.cpp's threads wait for each other at
  every step, and four busy threads on two cores keep one of them off a core. A user's note is
  transcribed before their question reaches the LLM, so the two overlap only across users; when
  they do, a few tenths of a second on the note cost less than a stalled answer.
- language fixed (SPEECH_LANGUAGE, "es"): left to detect it, Whisper base took 6 of 26 short
  Spanish notes for another language (English, Latin, Thai, Japanese).
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
