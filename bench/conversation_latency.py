"""Backend turn latency through real conversations: how long POST /agent takes for each kind of turn
(fact, action, classification, open), for one user and for many at once, and how many prompt
tokens the model evaluates for each kind.

Starts the real model API (a catalog GGUF, 2 threads by default) and the real backend
(BACKEND_PLUGINS=agro,running, a fresh SQLite file in a temp dir, the agro weather from the
loopback Open-Meteo of tests/agro/fake_open_meteo.py, so nothing reaches the internet), both as
processes on loopback ports, and stops them at the end. Then it plays the scripted conversations of
bench/conversation_scripts.py (a runner and a producer: onboarding, then the labelled turns):

1. one user at a time (the runner, then the producer), reading the model API's /metrics before
   and after each turn: tokens evaluated per turn = prompt tokens - cached prompt tokens;
2. --users users at once (one thread and phone number each, half runners, half producers), all
   onboarded first, then their scripted turns started together.

It prints each turn as it is answered, then markdown tables (to paste into the README): latency
p50/p95 and count per kind, per `source` of the /agent answer, every `timings` key /agent returns,
and the evaluated tokens per kind.

    .venv/bin/python bench/conversation_latency.py [--users 10] [--quick] [--repo PATH]

--repo runs the services from another checkout with this .venv (a before/after figure):

    git -C /work/main worktree add /tmp/chasqui-before a2cb460
    .venv/bin/python bench/conversation_latency.py --repo /tmp/chasqui-before --quick --users 2
"""
from __future__ import annotations

import argparse
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.conversation_scripts import KINDS, PERSONAS, Persona  # noqa: E402
from tests.agro.fake_open_meteo import FakeOpenMeteo  # noqa: E402
from tests.servers import RunningService, free_port, service_env, start_model_api  # noqa: E402

DEFAULT_MODEL = "qwen2.5-coder-0.5b-instruct-q4_k_m"
TOKEN = "bench-conversation-token"
NOT_MODEL_ENDPOINTS = ("/metrics", "/health")
WELCOME = re.compile(r"\b(listo|ya puedes|bienvenid)")


# --- services -----------------------------------------------------------------------------------

def chasqui_command(checkout: Path, subcommand: str) -> list[str]:
    """`python -m chasqui.cli SUBCOMMAND` run from `checkout` (its code first on sys.path), with this
    interpreter (this .venv); exec keeps the process id, so stopping it stops the service."""
    return ["sh", "-c", 'cd "$1" && exec "$2" -m chasqui.cli "$3"', "sh", str(checkout), sys.executable, subcommand]


def start_services(directory: Path, args, weather: FakeOpenMeteo) -> tuple[RunningService, RunningService]:
    checkout = Path(args.repo).resolve()
    pythonpath = {"PYTHONPATH": str(checkout)}
    model = start_model_api(directory, args.model, command=chasqui_command(checkout, "model-api"),
                            MODEL_N_THREADS=str(args.threads), MODEL_N_CTX=str(args.n_ctx), **pythonpath)
    try:
        port = free_port()
        env = service_env(BACKEND_PORT=str(port), MODEL_API_URL=model.url, BACKEND_TOKEN=TOKEN,
                          BACKEND_DB_PATH=str(directory / "backend.db"), BACKEND_PLUGINS="agro,running",
                          AGRO_OPEN_METEO_URL=weather.url, AGRO_GEOCODING_URL=weather.url, **pythonpath)
        backend = RunningService(chasqui_command(checkout, "backend"), env, port, directory / f"backend-{port}.log")
    except BaseException:
        model.stop()
        raise
    try:
        backend.wait_ready()  # the backend's /health answers 200 unless its database is down
        wait_for_warm_up(model.url)
    except BaseException:
        backend.stop()
        model.stop()
        raise
    return model, backend


WARM_UP_REQUESTS = 4  # BACKEND_WARM_UP: each plug-in's classification and answer prompts, agro and running


def wait_for_warm_up(model_url: str, timeout_s: float = 120.0) -> None:
    """Users meet a backend that has been up a while: measure them after its warm-up (an old
    checkout without one just waits a little and goes on)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and model_counters(model_url)["requests"] < WARM_UP_REQUESTS:
        time.sleep(1.0)


def model_counters(model_url: str) -> dict[str, float]:
    """prompt, cached and generated tokens and model requests so far, from the model API's /metrics."""
    text = requests.get(f"{model_url}/metrics", timeout=10).text
    counters = {"prompt": 0.0, "cached": 0.0, "completion": 0.0, "requests": 0.0}
    names = {"chasqui_model_prompt_tokens_total": "prompt", "chasqui_model_cached_prompt_tokens_total": "cached",
             "chasqui_model_completion_tokens_total": "completion"}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_labels, _, value = line.rpartition(" ")
        name = name_labels.split("{", 1)[0]
        if name in names:
            counters[names[name]] = float(value)
        elif name == "chasqui_model_requests_total":
            endpoint = re.search(r'endpoint="([^"]*)"', name_labels)
            if endpoint and not endpoint[1].startswith(NOT_MODEL_ENDPOINTS):
                counters["requests"] += float(value)
    return counters


# --- conversations ------------------------------------------------------------------------------

@dataclass
class Result:
    phase: str
    persona: str
    phone: str
    kind: str  # onboarding or one of KINDS
    text: str
    seconds: float
    source: str
    reply: str
    timings: dict = field(default_factory=dict)
    tokens: dict | None = None  # prompt, cached, evaluated, completion, requests (one-user phase only)
    error: str | None = None


def fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text.lower()) if unicodedata.category(c) != "Mn")


def is_question(text: str) -> bool:
    return "?" in text


def next_onboarding_answer(question: str, answers: list[tuple[str | None, str]], used: set[int]) -> int | None:
    folded = fold(question)
    for index, (hint, _) in enumerate(answers):
        if index not in used and hint and re.search(hint, folded):
            return index
    return next((index for index in range(len(answers)) if index not in used), None)


class Conversation:
    """One user's conversation over HTTP: every turn timed and recorded."""

    def __init__(self, backend_url: str, model_url: str, phase: str, persona: Persona, phone: str,
                 results: list[Result], lock: threading.Lock, count_tokens: bool, deadline: float, echo: bool,
                 skipped: list[str] | None = None):
        self.backend_url, self.model_url, self.phase = backend_url, model_url, phase
        self.persona, self.phone, self.results, self.lock = persona, phone, results, lock
        self.count_tokens, self.deadline, self.echo = count_tokens, deadline, echo
        self.skipped = skipped if skipped is not None else []
        self.session = requests.Session()
        self.last_reply = ""

    def say(self, text: str, kind: str) -> Result:
        before = model_counters(self.model_url) if self.count_tokens else None
        started = time.perf_counter()
        try:
            response = self.session.post(f"{self.backend_url}/agent", json={"phone": self.phone, "message": text},
                                         headers={"Authorization": f"Bearer {TOKEN}"}, timeout=300)
            seconds = time.perf_counter() - started
            body = response.json() if response.headers.get("Content-Type", "").startswith("application/json") else {}
            error = None if response.status_code == 200 else f"HTTP {response.status_code}: {response.text[:200]}"
        except requests.RequestException as problem:
            seconds, body, error = time.perf_counter() - started, {}, repr(problem)
        tokens = None
        if before is not None:
            after = model_counters(self.model_url)
            tokens = {key: after[key] - before[key] for key in after}
            tokens["evaluated"] = tokens["prompt"] - tokens["cached"]
        reply = ((body.get("model_output") or {}).get("respuesta_chat") or "") if not error else ""
        result = Result(self.phase, self.persona.name, self.phone, kind, text, seconds,
                        body.get("source", "error" if error else "?"), reply,
                        {k: v for k, v in (body.get("timings") or {}).items() if isinstance(v, (int, float))},
                        tokens, error)
        self.last_reply = reply
        with self.lock:
            self.results.append(result)
            if self.echo:
                print(describe(result), flush=True)
        return result

    def onboard(self) -> bool:
        """Answers from the persona's list while the backend keeps asking onboarding questions;
        True once the onboarding has ended (the welcome, or a reply that is not onboarding)."""
        answers, used = self.persona.onboarding, {0}
        result = self.say(answers[0][1], "onboarding")
        for _ in range(len(answers) + 2):  # bounded: a question asked again takes the next answer
            if result.error:
                return False
            if result.source != "onboarding" or not is_question(result.reply) or WELCOME.search(fold(result.reply)):
                return True
            index = next_onboarding_answer(result.reply, answers, used)
            if index is None:
                break
            used.add(index)
            result = self.say(answers[index][1], "onboarding")
        ended = result.source != "onboarding" or not is_question(result.reply)
        if not ended:
            print(f"warning: {self.persona.name} {self.phone}: onboarding still asking after every answer: "
                  f"{result.reply[:120]!r}", flush=True)
        return ended

    def play(self, quick: bool) -> None:
        script = self.persona.script(quick)
        for number, turn in enumerate(script):
            if time.monotonic() > self.deadline:
                print(f"time limit reached: {self.persona.name} {self.phone} stops before {turn.text!r}", flush=True)
                with self.lock:
                    self.skipped += [f"{self.phase}: {self.persona.name} {t.text!r}" for t in script[number:]]
                return
            if turn.only_if_asked and not is_question(self.last_reply):
                continue
            self.say(turn.text, turn.kind)


def describe(result: Result) -> str:
    tokens = ""
    if result.tokens:
        tokens = (f"  [{result.tokens['requests']:.0f} model call(s), {result.tokens['evaluated']:.0f} evaluated / "
                  f"{result.tokens['prompt']:.0f} prompt tokens]")
    timings = " ".join(f"{k}={v}" for k, v in result.timings.items())
    reply = result.error or result.reply.replace("\n", " ")
    return (f"[{result.phase}] {result.persona:8} {result.kind:14} {fmt(result.seconds):>8}  {result.source:10} "
            f"{timings}{tokens}\n    > {result.text}\n    < {reply[:160]}")


def one_user(backend: RunningService, model: RunningService, args, results, lock, deadline, skipped) -> None:
    for number, persona in enumerate(PERSONAS, start=1):
        conversation = Conversation(backend.url, model.url, "1 user", persona, f"+5199100{number:04d}",
                                    results, lock, count_tokens=True, deadline=deadline, echo=True, skipped=skipped)
        if conversation.onboard():
            conversation.play(args.quick)


def many_users(backend: RunningService, model: RunningService, args, results, lock, deadline, skipped) -> float:
    phase = f"{args.users} users"
    barrier = threading.Barrier(args.users + 1)
    conversations = [Conversation(backend.url, model.url, phase, PERSONAS[index % len(PERSONAS)],
                                  f"+5199200{index:04d}", results, lock, count_tokens=False,
                                  deadline=deadline, echo=True, skipped=skipped) for index in range(args.users)]

    def run(conversation: Conversation) -> None:
        try:
            onboarded = conversation.onboard()
        finally:
            barrier.wait(timeout=600)  # everybody starts the scripted turns together
        if onboarded:
            conversation.play(args.quick)

    threads = [threading.Thread(target=run, args=(c,), daemon=True, name=f"user-{c.phone}") for c in conversations]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=600)
    started = time.monotonic()
    for thread in threads:
        thread.join(timeout=max(1.0, deadline - time.monotonic() + 330))
    return time.monotonic() - started


# --- figures ------------------------------------------------------------------------------------

def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def fmt(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"
    return f"{seconds:.1f} s"


def latency_cells(rows: list[Result]) -> list[str]:
    if not rows:
        return ["0", "–", "–"]
    values = [r.seconds for r in rows]
    return [str(len(values)), fmt(statistics.median(values)), fmt(percentile(values, .95))]


def table(header: list[str], rows: list[list[str]], align_left: int = 1) -> str:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if i < align_left else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def report(results: list[Result], phases: list[str], args, checkout: str, walls: dict[str, float],
           skipped: list[str]) -> str:
    out = []
    scripted = [r for r in results if r.kind != "onboarding"]
    groups = [(kind, lambda r, k=kind: r.kind == k) for kind in ("onboarding", *KINDS)]
    groups.append(("**all scripted turns**", lambda r: r.kind != "onboarding"))
    header = ["turn kind"]
    for phase in phases:
        header += [f"{phase}: n", "p50", "p95"]
    rows = []
    for label, keep in groups:
        row = [label]
        for phase in phases:
            row += latency_cells([r for r in results if r.phase == phase and keep(r)])
        rows.append(row)
    out.append("### /agent turn latency by kind (wall time seen by the caller)\n\n" + table(header, rows))

    sources = sorted({r.source for r in results})
    rows = []
    for source in sources:
        row = [f"`{source}`"]
        for phase in phases:
            row += latency_cells([r for r in results if r.phase == phase and r.source == source])
        rows.append(row)
    header[0] = "`source`"
    out.append("### by `source` of the /agent answer (onboarding included)\n\n" + table(header, rows))

    kinds_by_source = defaultdict(lambda: defaultdict(int))
    for r in scripted:
        kinds_by_source[r.kind][r.source] += 1
    rows = [[kind, ", ".join(f"`{s}` {n}" for s, n in sorted(kinds_by_source[kind].items()))] for kind in KINDS
            if kinds_by_source[kind]]
    if rows:
        out.append("### which `source` answered each kind (all phases)\n\n" + table(["turn kind", "sources"], rows, align_left=2))

    keys = sorted({k for r in results for k in r.timings})
    if keys:
        header = ["turn kind", "timing"]
        for phase in phases:
            header += [f"{phase}: p50", "p95"]
        rows = []
        for label, keep in groups:
            for key in keys:
                row, present = [label, f"`{key}`"], False
                for phase in phases:
                    values = [r.timings[key] for r in results if r.phase == phase and keep(r) and key in r.timings]
                    present = present or bool(values)
                    row += [f"{statistics.median(values):.1f}", f"{percentile(values, .95):.1f}"] if values else ["–", "–"]
                if present:
                    rows.append(row)
        out.append("### `timings` returned by /agent (as returned; `_ms` keys in milliseconds)\n\n"
                   + table(header, rows, align_left=2))
    else:
        out.append("(/agent returned no numeric `timings`)")

    counted = [r for r in results if r.tokens is not None]
    if counted:
        rows = []
        for label, keep in groups:
            picked = [r for r in counted if keep(r)]
            if not picked:
                continue
            evaluated = [r.tokens["evaluated"] for r in picked]
            rows.append([label, str(len(picked)), f"{statistics.mean(r.tokens['requests'] for r in picked):.2f}",
                         f"{statistics.mean(evaluated):.0f}", f"{percentile(evaluated, .95):.0f}",
                         f"{statistics.mean(r.tokens['cached'] for r in picked):.0f}",
                         f"{statistics.mean(r.tokens['completion'] for r in picked):.0f}"])
        out.append("### model work per turn, one user at a time (model API /metrics before and after each turn)\n\n"
                   + table(["turn kind", "turns", "model calls / turn", "evaluated tokens: mean", "p95",
                            "cached prompt tokens: mean", "generated tokens: mean"], rows))

    errors = [r for r in results if r.error]
    notes = [f"Checkout `{checkout}`; model `{args.model}`, {args.threads} threads, context {args.n_ctx}; "
             f"backend `chasqui backend` with BACKEND_PLUGINS=agro,running, fresh SQLite, loopback Open-Meteo; "
             f"{'--quick script' if args.quick else 'full script'}; "
             + "; ".join(f"wall time {phase}: {walls[phase]:.0f} s" for phase in phases if phase in walls) + "."]
    if skipped:
        notes.append(f"--time-limit {args.time_limit:g} min reached: {len(skipped)} scripted turn(s) not played "
                     f"(first: {skipped[0]}).")
    if errors:
        notes.append(f"{len(errors)} turn(s) failed (counted above with their wall time, source `error`): "
                     + "; ".join(f"{e.persona} {e.text!r}: {e.error}" for e in errors[:5]))
    return "\n\n".join(out + notes)


def checkout_label(checkout: Path) -> str:
    try:
        commit = subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(checkout), "status", "--porcelain", "--untracked-files=normal",
                                "--", "backend", "model_api", "chasqui"], capture_output=True, text=True,
                               timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return str(checkout)
    return f"{checkout} @ {commit}{' + uncommitted changes' if dirty else ''}"


def interrupted(*_) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the services too


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10, help="users writing at once in the second phase (0: skip it)")
    parser.add_argument("--quick", action="store_true", help="three scripted turns per persona instead of all")
    parser.add_argument("--repo", default=str(REPO), help="checkout whose services are measured (this .venv runs them)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="catalog model the model API serves")
    parser.add_argument("--threads", type=int, default=2, help="MODEL_N_THREADS")
    parser.add_argument("--n-ctx", type=int, default=4096, help="MODEL_N_CTX (the settings' default)")
    parser.add_argument("--skip-single", action="store_true", help="skip the one-user phase")
    parser.add_argument("--time-limit", type=float, default=60, help="minutes; afterwards no new turn is started")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, interrupted)

    directory = Path(tempfile.mkdtemp(prefix="chasqui-conversation-bench-"))
    checkout = checkout_label(Path(args.repo).resolve())
    print(f"services from {checkout}; logs and database in {directory}", flush=True)
    weather = FakeOpenMeteo()
    weather.align_to = datetime.now(ZoneInfo("America/Lima")).date()
    results: list[Result] = []
    lock = threading.Lock()
    phases, walls, skipped = [], {}, []
    model = backend = None
    try:
        model, backend = start_services(directory, args, weather)
        print(f"model API {model.url}, backend {backend.url}", flush=True)
        deadline = time.monotonic() + args.time_limit * 60
        if not args.skip_single:
            phases.append("1 user")
            started = time.monotonic()
            one_user(backend, model, args, results, lock, deadline, skipped)
            walls["1 user"] = time.monotonic() - started
        if args.users > 0:
            phase = f"{args.users} users"
            phases.append(phase)
            walls[phase] = many_users(backend, model, args, results, lock, deadline, skipped)
    except KeyboardInterrupt:
        print("interrupted: stopping the services", flush=True)
    finally:
        for service in (backend, model):
            if service is not None:
                service.stop()
        weather.stop()
    if results:
        print("\n" + report(results, phases, args, checkout, walls, skipped), flush=True)
    print(f"\nweather requests served by the loopback Open-Meteo: {len(weather.requests)}; "
          f"logs in {directory}", flush=True)
    if not results:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
