"""Speech to text (model_api/speech.py) on this machine: how long faster-whisper base takes for
3, 10 and 30 s voice notes with beam 1 and 5, with and without the domain prompt, on 1 and 2
threads (5 and 15 s notes too), alone and while the LLM generates on the same cores; the word
error rate of each; the real-time factor (RTF: seconds taken per second of audio); peak memory;
and one HTTP round trip through the model API. No pass/fail.

The notes are espeak-ng's Spanish (tests/speech/voices.py), sentences one after another padded
with silence to the length. Times are the median of --runs after one warm-up. About 9 minutes.

    .venv/bin/python bench/speech.py [--runs 3] [--rounds 3] [--skip-alone] [--skip-llm] [--skip-http]
"""
from __future__ import annotations

import argparse
import resource
import statistics
import sys
import threading
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from model_api.audio_decoding import decode_audio  # noqa: E402
from model_api.settings import load_settings  # noqa: E402
from model_api.speech import SpeechEngine, TranscriptionRequest  # noqa: E402
from tests.model_api.speech_samples import DOMAIN_PROMPT, SENTENCES, spoken_for  # noqa: E402
from tests.speech.voices import voice_note  # noqa: E402
from tests.speech.wer import word_error_rate  # noqa: E402

LENGTHS = (3, 10, 30)  # beam and prompt compared on these
THREAD_LENGTHS = (5, 15)  # and threads on these too, alone and beside the LLM


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _status_mb(field: str, pid: str | int = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def current_rss_mb() -> float:
    return _status_mb("VmRSS")


def process_peak_rss_mb(pid: int) -> float:
    return _status_mb("VmHWM", pid)


def timed(engine: SpeechEngine, audio, beam: int, prompt: str | None, runs: int):
    engine.transcribe(TranscriptionRequest(audio, "es", prompt, beam_size=beam))  # warm-up
    seconds, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = engine.transcribe(TranscriptionRequest(audio, "es", prompt, beam_size=beam))
        seconds.append(time.perf_counter() - started)
    fallbacks = sum(1 for s in result.segments if s.temperature > 0)
    return statistics.median(seconds), result, fallbacks


def row(label: str, seconds: float, duration: float, wer: float | None = None, extra: str = "") -> None:
    wer_text = f"{wer:5.2f}" if wer is not None else "    -"
    print(f"  {label:34} {seconds:6.2f} s  RTF {seconds / duration:5.3f}  WER {wer_text}  {extra}", flush=True)


class BusyLlm:
    """The default LLM generating without pause in a thread, as while answering chats; counts
    its tokens (one check() call a token) so its speed over any window can be read."""

    def __init__(self):
        from model_api.engine import Engine, GenerationRequest
        from model_api.grammar_sampler import SamplingParams

        self.settings = load_settings().with_overrides(n_ctx=2048, prefix_states=0)
        self.engine = Engine(self.settings)
        self.engine.load()
        self.request = GenerationRequest(
            messages=[{"role": "user", "content": "Cuenta una historia larga sobre el riego del maíz."}],
            max_tokens=400, sampling=SamplingParams(temperature=0.7), ignore_eos=True)
        self._stop = threading.Event()
        self.tokens = 0
        self._thread = None

    def _check(self) -> None:
        self.tokens += 1
        if self._stop.is_set():
            raise StopIteration

    def start(self) -> None:
        self._stop.clear()

        def loop():
            while not self._stop.is_set():
                try:
                    self.engine.generate(self.request, check=self._check)
                except StopIteration:
                    return
        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()
        time.sleep(2.0)  # past the prompt, generating

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def speed_over(self, action) -> tuple[float, object]:
        """Tokens/s while `action()` runs, and what it returned."""
        tokens, started = self.tokens, time.perf_counter()
        result = action()
        return (self.tokens - tokens) / (time.perf_counter() - started), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per figure, after a warm-up")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds beside the LLM")
    parser.add_argument("--skip-llm", action="store_true", help="no measurements with the LLM busy")
    parser.add_argument("--skip-http", action="store_true", help="no HTTP round trip")
    parser.add_argument("--skip-alone", action="store_true", help="no measurements of speech alone")
    parser.add_argument("--skip-wer", action="store_true", help="no word error rates over the short notes")
    args = parser.parse_args()

    base = load_settings().speech
    print(f"speech model {base.model_name} ({base.model_dir}); peak RSS before loading {peak_rss_mb():.0f} MB")
    notes = {}
    for length in sorted(LENGTHS + THREAD_LENGTHS):
        data, said = spoken_for(length)
        started = time.perf_counter()
        notes[length] = (decode_audio(data, base.max_seconds), said)
        print(f"  {length:2} s note: {len(data) / 1000:.0f} KB Ogg/Opus, decoded in "
              f"{(time.perf_counter() - started) * 1000:.0f} ms; says «{said}»")

    engines = {}
    for threads in (1, 2):
        before = current_rss_mb()
        started = time.perf_counter()
        engines[threads] = SpeechEngine(replace(base, threads=threads))
        engines[threads].load()
        print(f"threads={threads}: loaded in {time.perf_counter() - started:.2f} s, RSS +{current_rss_mb() - before:.0f} MB")

    if not args.skip_alone:
        print("\ntranscription alone (median of runs; fallbacks = segments re-decoded at a higher temperature)")
        for length in LENGTHS:
            audio, said = notes[length]
            for threads, engine in engines.items():
                for beam in (1, 5):
                    for prompt in (None, DOMAIN_PROMPT):
                        seconds, result, fallbacks = timed(engine, audio, beam, prompt, args.runs)
                        row(f"{length:2} s  threads {threads}  beam {beam}  prompt {'yes' if prompt else 'no '}",
                            seconds, audio.duration, word_error_rate(said, result.text), f"fallbacks {fallbacks}")
        for length in THREAD_LENGTHS:
            audio, said = notes[length]
            for threads, engine in engines.items():
                seconds, result, fallbacks = timed(engine, audio, base.beam_size, DOMAIN_PROMPT, args.runs)
                row(f"{length:2} s  threads {threads}  beam {base.beam_size}  prompt yes", seconds, audio.duration,
                    word_error_rate(said, result.text), f"fallbacks {fallbacks}")
        print(f"peak RSS with both speech engines loaded and used: {peak_rss_mb():.0f} MB")

    if not args.skip_wer:
        word_errors(engines[1])

    if not args.skip_llm:
        beside_the_llm(engines, notes, base.beam_size, args)

    if not args.skip_http:
        http_round_trip()
    return 0


def word_errors(engine: SpeechEngine) -> None:
    """Each of SENTENCES as its own short note (the common case): beam and prompt over all of them."""
    notes = [(sentence, decode_audio(voice_note(sentence), 120)) for sentence in SENTENCES]
    print(f"\n{len(notes)} short notes, one sentence each ({sum(a.duration for _, a in notes):.0f} s of audio), one thread")
    for beam in (1, 5):
        for prompt in (None, DOMAIN_PROMPT):
            errors, seconds, fallbacks = [], 0.0, 0
            for sentence, audio in notes:
                started = time.perf_counter()
                result = engine.transcribe(TranscriptionRequest(audio, "es", prompt, beam_size=beam))
                seconds += time.perf_counter() - started
                errors.append(word_error_rate(sentence, result.text))
                fallbacks += any(s.temperature > 0 for s in result.segments)
            print(f"  beam {beam}  prompt {'yes' if prompt else 'no '}  mean WER {statistics.mean(errors):.3f}  "
                  f"{seconds:5.1f} s in all  notes re-decoded hotter {fallbacks}", flush=True)
    detected = Counter(engine.transcribe(TranscriptionRequest(audio, None, DOMAIN_PROMPT)).language
                       for _, audio in notes)
    print(f"  language left to Whisper (SPEECH_LANGUAGE fixes it): {dict(detected.most_common())}")


def beside_the_llm(engines: dict, notes: dict, beam: int, args) -> None:
    """Threads 1 and 2 (and the other beam) while the LLM generates, in interleaved rounds: both are noisy
    when they share two cores, so each figure is a median over the rounds, with its range."""
    llm = BusyLlm()
    llm.start()
    alone, _ = llm.speed_over(lambda: time.sleep(8))
    print(f"\nwith the LLM ({llm.settings.model_name}, {llm.settings.n_threads} threads) generating at the same "
          f"time; alone it makes {alone:.1f} tokens/s; prompt sent; median (range) over {args.rounds} rounds")
    cases = [(length, threads, beam) for length in sorted(LENGTHS + THREAD_LENGTHS) for threads in engines]
    other = 5 if beam == 1 else 1
    cases += [(length, threads, other) for length in (10, 30) for threads in engines]
    seen = {case: ([], [], None) for case in cases}
    for _ in range(args.rounds):
        for length, threads, beam_size in cases:
            audio, _ = notes[length]
            speed, (seconds, result, _) = llm.speed_over(
                lambda: timed(engines[threads], audio, beam_size, DOMAIN_PROMPT, args.runs))
            times, speeds, _ = seen[(length, threads, beam_size)]
            times.append(seconds)
            speeds.append(speed)
            seen[(length, threads, beam_size)] = (times, speeds, result)
    llm.stop()
    for (length, threads, beam_size), (times, speeds, result) in seen.items():
        audio, said = notes[length]
        row(f"{length:2} s  threads {threads}  beam {beam_size}  LLM busy", statistics.median(times), audio.duration,
            word_error_rate(said, result.text),
            f"({min(times):.2f}-{max(times):.2f} s)  LLM meanwhile {statistics.median(speeds):4.1f} tokens/s "
            f"({min(speeds):.1f}-{max(speeds):.1f})")
    print(f"peak RSS with the LLM loaded too: {peak_rss_mb():.0f} MB")


def http_round_trip() -> None:
    import tempfile

    from model_api.catalog import TEST_MODEL
    from tests.servers import start_model_api, wait_for_speech

    data, _ = spoken_for(10)
    with tempfile.TemporaryDirectory() as scratch:
        api = start_model_api(Path(scratch), TEST_MODEL)
        try:
            wait_for_speech(api.url)
            for _ in range(2):  # the first includes the engine's own warm-up
                started = time.perf_counter()
                response = requests.post(f"{api.url}/v1/audio/transcriptions", files={"file": ("note.ogg", data)},
                                         data={"model": "whisper-1", "language": "es", "prompt": DOMAIN_PROMPT},
                                         timeout=120)
                wall = time.perf_counter() - started
            response.raise_for_status()
            body = response.json()
            print(f"\nHTTP: POST /v1/audio/transcriptions, 10 s note: {wall:.2f} s wall; server timings {body['timings']}")
            print(f"the model API process (SmolLM2 + whisper-base): peak RSS {process_peak_rss_mb(api.process.pid):.0f} MB")
        finally:
            api.stop()
        api = start_model_api(Path(scratch), TEST_MODEL, SPEECH_MODEL="none")
        try:
            requests.post(f"{api.url}/v1/chat/completions", timeout=60,
                          json={"messages": [{"role": "user", "content": "hola"}], "max_tokens": 8})
            print(f"the same with SPEECH_MODEL=none, after a chat: peak RSS {process_peak_rss_mb(api.process.pid):.0f} MB")
        finally:
            api.stop()


if __name__ == "__main__":
    sys.exit(main())
