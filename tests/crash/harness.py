"""Crash trials over the whole stack: conversations and alerts through real processes, one of them
SIGKILLed at a drawn moment and started again on the same port and files, then every inbound
message and every alert accounted for at "the phone" (the fake Graph API).

One trial:

1. a fresh backend (BACKEND_PLUGINS=agro,running, loopback Open-Meteo) and a fresh `chasqui bridge`
   on the cloud transport, answering into a `RecordingGraph` (tests/whatsapp_bridge/fake_graph_api.py
   plus a hook on every accepted send); the model API is shared by all trials (it is slow to load);
2. `conversations` users (runners and producers of bench/conversation_scripts.py: the onboarding,
   answered from the questions asked, then the code-answered turns, and for `model_turns` producers
   one question for the model) write signed webhooks as Meta would, each sent again until the
   bridge answers 200 (Meta retries); each user waits for the reply to its message before the next;
3. meanwhile `alerts` alerts are created with the backend's POST /alert for users who exist by then
   (every fourth repeats the previous one's text to the same user: two alerts, legitimately the
   same words, each due once);
4. one service is SIGKILLed: at the accept of the n-th reply or alert by the provider (n drawn),
   either right inside that accept, before Meta's answer leaves ("aimed": for the bridge the kill
   then falls in that send's accept->record window), or a drawn 0-250 ms later; the model API is
   killed a drawn 0-1.5 s after a question for the model reached the bridge. The SQLite files of a
   killed service are copied at once (what it had recorded when it died), and it is started again
   on the same port and files after `pause_s`;
5. the stack settles (bounded): no bridge inbox row queued/asking/replying, no alert pending or
   claimed, three polls in a row.

Then: lost = an inbound message with no reply accepted by the provider, an alert not accepted (or
not marked sent with the provider's id) unless failed with a stated reason; doubled = a second
accepted reply with the same `context.message_id` (the bridge sends the first piece of a reply with
the inbound id as context), a second accepted alert send of the same recipient and text that no
alert row names as its provider message id (so two alerts with the same words are two, not a
double). A double is explained when its first copy was accepted before the kill and recorded
nowhere a restarted stack reads at that moment: for a reply, the bridge inbox's pieces_sent; for an
alert, the provider id in the bridge's alert_claims (written as the provider accepts) or the
backend's sent row. The kill then fell in that send's accept->record window. Those records are the
bridge's, so only a bridge kill can fall in a window: a backend killed with "sent" reports still
owed leaves them to the bridge, which reports them once it is back (listed, not a window); a double
after a backend or model API kill is unexplained, a defect.

Moments are drawn from a seeded RNG (same seed, same plan: which service, which send triggers the
kill, which delay, which users and alert texts); the machine's timing is not seeded, so two runs of
one seed can still differ in what was in flight at the kill.
"""
from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import sqlite3
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import requests

from backend.text import fold
from bench.conversation_latency import next_onboarding_answer
from bench.conversation_scripts import PERSONAS, Persona, Turn
from model_api.catalog import TEST_MODEL
from tests.agro.fake_open_meteo import FakeOpenMeteo
from tests.servers import CHASQUI, RunningService, free_port, service_env
from tests.whatsapp_bridge import webhook_payloads as meta
from tests.whatsapp_bridge.fake_graph_api import FakeGraphAPI, text_of
from whatsapp_bridge.relay import BACKEND_DOWN_REPLY, HOLDING_REPLY

SERVICES = ("backend", "bridge", "model-api")
TOKEN = "crash-suite-token"
APP_SECRET = "crash-suite-app-secret"
VERIFY_TOKEN = "crash-suite-verify"
HOLDING_TEXTS = (HOLDING_REPLY, BACKEND_DOWN_REPLY)
WELCOME = re.compile(r"\b(listo|ya puedes|bienvenid)")
ALERT_TEXTS = ("Helada esta noche: cubre tus cultivos.", "Lluvias fuertes mañana en tu zona.",
               "Plaga de gusano cogollero cerca de tu chacra.", "Calor fuerte hoy: hidrátate al correr.",
               "Mañana toca tu rodaje largo.", "Viento fuerte esta tarde.")
# A restarted bridge settles its own claims at once (whatsapp_bridge/alert_claims.py); the lease
# still decides for a claim nobody recorded (the backend killed as it answered a long poll, the
# bridge killed between the claim and its write). Short here so that trials settle fast; the
# backend's default is 60 s (--lease 60 in bench/crash_suite.py measures with it).
DEFAULT_LEASE_S = float(os.environ.get("CRASH_ALERT_LEASE_SECONDS", "5"))


@dataclass
class CrashConfig:
    conversations: int = 4
    alerts: int = 4
    turns: int | None = None  # code-answered turns per user after the onboarding; None = all of them
    model_turns: int = 1  # producers that also ask the model one question
    lease_s: float = DEFAULT_LEASE_S  # ALERT_LEASE_SECONDS of the backends started
    pause_s: float = 0.5  # between the kill and the restart
    aimed_share: float = 1 / 3  # kills drawn to fall right inside a provider's accept
    think_s: tuple[float, float] = (0.05, 0.3)  # a user's pause between a reply and the next message
    reply_timeout_s: float = 40.0  # a user gives up waiting for one reply (and writes the next)
    webhook_deadline_s: float = 90.0  # Meta stops retrying one webhook (it really retries for days)
    drive_timeout_s: float = 240.0
    settle_timeout_s: float = 60.0
    ready_timeout_s: float = 90.0
    model_ready_timeout_s: float = 180.0


# --- processes ----------------------------------------------------------------------------------

class Service:
    """One service process, started (again) on a fixed port with fixed files; killed with SIGKILL."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], port: int, directory: Path,
                 ready_timeout_s: float):
        self.name, self.command, self.env, self.port = name, command, env, port
        self.directory, self.ready_timeout_s = directory, ready_timeout_s
        self.url = f"http://127.0.0.1:{port}"
        self.running: RunningService | None = None
        self.starts = 0
        self.log_paths: list[Path] = []

    def start(self) -> None:
        self.starts += 1
        log_path = self.directory / f"{self.name}-{self.starts}.log"
        self.log_paths.append(log_path)
        self.running = RunningService(self.command, self.env, self.port, log_path)
        try:
            self.running.wait_ready(self.ready_timeout_s)
        except BaseException:
            self.stop()
            raise

    @property
    def pid(self) -> int | None:
        return self.running.process.pid if self.running else None

    def alive(self) -> bool:
        return self.running is not None and self.running.process.poll() is None

    def kill(self) -> float:
        """SIGKILL, by this process's own id; the moment (time.monotonic) just before."""
        at = time.monotonic()
        if self.alive():
            os.kill(self.running.process.pid, signal.SIGKILL)
        return at

    def reap(self) -> None:
        if self.running is not None:
            self.running.process.wait(timeout=30)
            self.running.stop()  # closes the log

    def stop(self) -> None:
        running, self.running = self.running, None
        if running is None:
            return
        if running.process.poll() is None:
            running.process.terminate()
            try:
                running.process.wait(timeout=5)
            except Exception:
                running.process.kill()
                running.process.wait(timeout=10)
        running.stop()

    def logs(self, tail_chars: int = 4000) -> str:
        parts = []
        for path in self.log_paths:
            text = path.read_text(errors="replace") if path.exists() else ""
            parts.append(f"--- {path.name} ---\n{text[-tail_chars:]}")
        return "\n".join(parts)


def start_model_api(directory: Path, model: str = TEST_MODEL, ready_timeout_s: float = 180.0) -> Service:
    port = free_port()
    env = service_env(CHASQUI_MODEL=model, MODEL_API_PORT=str(port), MODEL_N_CTX="2048", MODEL_API_WARM_UP="0")
    service = Service("model-api", CHASQUI + ["model-api"], env, port, directory, ready_timeout_s)
    service.start()
    return service


class RecordingGraph(FakeGraphAPI):
    """The fake Graph API, plus: accepted replies indexed by the inbound id they answer (to wait
    for them), and `on_send(record)` called inside each accepted send, before the answer leaves."""

    def __init__(self):
        super().__init__()
        default_handle_error = self._server.handle_error

        def handle_error(request, client_address):  # a killed bridge resets its connections: expected
            if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
                default_handle_error(request, client_address)

        self._server.handle_error = handle_error
        self.on_send = None
        self.by_context: dict[str, list[dict]] = defaultdict(list)
        self._accepted_changed = threading.Condition()

    def _accept(self, path, headers, body, kind):
        answer = super()._accept(path, headers, body, kind)
        if kind != "message":
            return answer
        provider_id = answer["messages"][0]["id"]
        record = next(r for r in reversed(list(self.accepted)) if r["message_id"] == provider_id)
        context = (body.get("context") or {}).get("message_id")
        with self._accepted_changed:
            if context:
                self.by_context[context].append(record)
            self._accepted_changed.notify_all()
        hook = self.on_send
        if hook is not None:
            hook(record)
        return answer

    def wait_reply(self, inbound_id: str, timeout_s: float) -> dict | None:
        with self._accepted_changed:
            self._accepted_changed.wait_for(lambda: self.by_context.get(inbound_id), timeout_s)
            replies = self.by_context.get(inbound_id)
            return replies[0] if replies else None


def sends(graph: FakeGraphAPI) -> list[dict]:
    return [r for r in list(graph.accepted) if r["kind"] == "message"]


def context_of(record: dict) -> str | None:
    return (record["body"].get("context") or {}).get("message_id")


def send_kind(record: dict) -> str:
    """reply (first piece, with the inbound id as context), holding (a "one moment" note), or
    other (alerts, and the later pieces of a long reply)."""
    if context_of(record):
        return "reply"
    if text_of(record["body"]) in HOLDING_TEXTS:
        return "holding"
    return "other"


# --- SQLite -------------------------------------------------------------------------------------

def query(path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows from a service's SQLite file (WAL: readable while the service writes)."""
    if not path.exists():
        return []
    connection = sqlite3.connect(str(path), timeout=10)
    try:
        return connection.execute(sql, params).fetchall()
    except sqlite3.OperationalError as problem:
        if "no such table" in str(problem):  # not migrated yet
            return []
        raise
    finally:
        connection.close()


def copy_sqlite(path: Path, into: Path) -> Path:
    """The file as a killed process left it (with its WAL), copied before anyone opens it again."""
    into.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            shutil.copy2(source, into / source.name)
    return into / path.name


def inbox_rows(path: Path) -> dict[str, dict]:
    rows = query(path, "SELECT message_id, phone, text, status, pieces_sent, reply_pieces, last_error, attempts, "
                       "refusal FROM inbox")
    return {r[0]: {"phone": r[1], "text": r[2], "status": r[3], "pieces_sent": r[4],
                   "pieces": json.loads(r[5]) if r[5] else None, "last_error": r[6], "attempts": r[7],
                   "refusal": r[8]} for r in rows}


def claimed_provider_ids(path: Path) -> set[str]:
    """Provider ids the bridge wrote in its alert_claims (accepted, maybe not yet reported)."""
    return {r[0] for r in query(path, "SELECT provider_message_id FROM alert_claims "
                                      "WHERE provider_message_id IS NOT NULL")}


def alert_rows(path: Path) -> list[dict]:
    rows = query(path, "SELECT a.id, c.phone, a.message, a.status, a.provider_message_id, a.last_error, a.attempts "
                       "FROM alerts a JOIN contacts c ON c.id = a.contact_id ORDER BY a.id")
    return [{"id": r[0], "phone": r[1], "message": r[2], "status": r[3], "provider_message_id": r[4],
             "last_error": r[5], "attempts": r[6]} for r in rows]


def reply_sources(path: Path) -> dict[str, str]:
    """wa_message_id -> the source of the backend's (last) stored reply: onboarding, code, model, apology…"""
    rows = query(path, "SELECT i.wa_message_id, o.source FROM messages i JOIN messages o ON o.in_reply_to = i.id "
                       "WHERE i.direction = 'in' AND i.wa_message_id IS NOT NULL ORDER BY o.id")
    return {wamid: source for wamid, source in rows}


# --- conversations --------------------------------------------------------------------------------

def code_turns(persona: Persona, limit: int | None) -> list[Turn]:
    turns = [t for t in persona.turns if t.kind in ("fact", "action")]
    return turns if limit is None else turns[:limit]


def model_turn(persona: Persona) -> Turn | None:
    # The producer's last open question goes to the model (about 2 s with the test model); the
    # runner's take far longer on this machine.
    opens = [t for t in persona.turns if t.kind == "open"]
    return opens[-1] if opens and persona.domain == "agro" else None


@dataclass
class InboundRecord:
    message_id: str
    phone: str
    text: str
    sent_at: float
    to_model: bool = False
    webhook_ok: bool = False
    webhook_tries: int = 0


@dataclass
class IntendedAlert:
    number: int
    phone: str
    text: str
    level: str
    alert_id: int | None = None
    note: str = ""
    error: str | None = None


@dataclass
class KillPlan:
    service: str
    trigger: str  # reply, alert or model-turn: what is counted
    nth: int
    delay_s: float  # 0: inside the provider's accept (or at the question's arrival, for the model)

    def describe(self) -> str:
        nth = ordinal(self.nth)
        if self.trigger == "model-turn":
            what = f"the {nth} question for the model reached the bridge"
            return f"as {what}" if self.delay_s == 0 else f"{self.delay_s * 1000:.0f} ms after {what}"
        what = f"the {nth} {self.trigger}"
        if self.delay_s == 0:
            return f"inside the provider's accept of {what}"
        return f"{self.delay_s * 1000:.0f} ms after the provider accepted {what}"


def ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def draw_plan(rng: random.Random, service: str, config: CrashConfig) -> KillPlan:
    aimed = rng.random() < config.aimed_share
    model_users = min(config.model_turns, (config.conversations + 1) // 2)
    if service == "model-api" and model_users:
        return KillPlan(service, "model-turn", rng.randint(1, model_users), 0.0 if aimed else rng.uniform(0, 1.5))
    users = max(1, config.conversations)
    expected_replies = users * (10 + len(code_turns(PERSONAS[0], config.turns)))
    trigger = "alert" if config.alerts and rng.random() < 0.5 else "reply"
    nth = rng.randint(1, config.alerts) if trigger == "alert" else rng.randint(2, max(2, int(expected_replies * .8)))
    return KillPlan(service, trigger, nth, 0.0 if aimed else rng.uniform(0, 0.25))


# --- one trial ------------------------------------------------------------------------------------

@dataclass
class Kill:
    service: str
    plan: str
    how: str = ""  # as planned, or "late: at the end of the traffic" when its trigger never came
    at: float | None = None  # time.monotonic()
    since_start_s: float | None = None
    recovery_s: float | None = None  # kill -> the service answers /health again
    snapshot_inbox: dict[str, dict] | None = None  # bridge killed: its inbox at death
    snapshot_alert_ids: set[str] | None = None  # provider ids the backend had recorded as sent at the kill
    snapshot_claimed_ids: set[str] = field(default_factory=set)  # bridge killed: ids in its alert_claims
    in_window: list[str] = field(default_factory=list)
    # backend killed: alerts the provider had accepted whose "sent" it had not recorded yet (the
    # bridge holds their provider ids and reports them after the restart: no window, no double)
    reports_outstanding: list[str] = field(default_factory=list)
    in_window_ids: set[str] = field(default_factory=set)  # provider message ids


@dataclass
class TrialResult:
    index: int
    seed: str
    service: str
    kill: Kill
    directory: Path
    inbound: int = 0
    replied: int = 0
    lost_messages: list[dict] = field(default_factory=list)
    doubled_messages: list[dict] = field(default_factory=list)
    alerts: int = 0
    delivered_alerts: int = 0
    failed_alerts: list[dict] = field(default_factory=list)
    lost_alerts: list[dict] = field(default_factory=list)
    doubled_alerts: list[dict] = field(default_factory=list)
    holding_notes: int = 0
    sources: Counter = field(default_factory=Counter)  # the backend's reply sources (apology = fallback)
    unexpected: list[str] = field(default_factory=list)  # sends nobody can account for
    problems: list[str] = field(default_factory=list)  # harness-side trouble (a webhook never taken…)
    refused: list[dict] = field(default_factory=list)  # answered as refused by the bridge (a 4xx, a 500 thrice)
    settled: bool = False
    settle_s: float = 0.0  # end of the traffic -> settled
    duration_s: float = 0.0
    traffic_s: float = 0.0  # first message -> the last user done and the last alert created
    logs: str = ""

    @property
    def doubles(self) -> list[dict]:
        return self.doubled_messages + self.doubled_alerts

    @property
    def unexplained_doubles(self) -> list[dict]:
        return [d for d in self.doubles if not d["explained"]]

    @property
    def kill_in_window(self) -> bool:
        return bool(self.kill.in_window)

    def ok(self) -> bool:
        return (self.settled and not self.lost_messages and not self.lost_alerts and not self.unexplained_doubles
                and not self.unexpected and not self.problems and not self.refused)

    def describe(self) -> str:
        kill = self.kill
        lines = [f"trial {self.index} (seed {self.seed!r}): SIGKILL {self.service} {kill.how}, "
                 f"{kill.since_start_s:.1f} s into the traffic, back after {kill.recovery_s:.1f} s; "
                 f"{'settled' if self.settled else 'NOT settled'} {self.settle_s:.1f} s after the traffic; "
                 f"{self.inbound} messages ({self.replied} answered), {self.alerts} alerts "
                 f"({self.delivered_alerts} delivered, {len(self.failed_alerts)} failed), "
                 f"{self.holding_notes} holding notes, reply sources {dict(self.sources)}; "
                 f"{self.duration_s:.0f} s in all (traffic {self.traffic_s:.1f} s)"]
        if kill.in_window:
            lines.append(f"  kill inside the accept->record window of: {'; '.join(kill.in_window)}")
        if kill.reports_outstanding:
            lines.append(f"  backend killed with reports outstanding (the bridge reports them later): "
                         f"{'; '.join(kill.reports_outstanding)}")
        if self.refused:
            lines.append(f"  REFUSED (answered «no pude procesar»): {self.refused}")
        for what, items in (("LOST message", self.lost_messages), ("LOST alert", self.lost_alerts),
                            ("failed alert", self.failed_alerts), ("doubled message", self.doubled_messages),
                            ("doubled alert", self.doubled_alerts)):
            for item in items:
                lines.append(f"  {what}: {item}")
        for item in self.unexpected:
            lines.append(f"  UNEXPECTED send: {item}")
        for item in self.problems:
            lines.append(f"  PROBLEM: {item}")
        lines.append(f"  logs: {self.directory}")
        return "\n".join(lines)


class Trial:
    def __init__(self, index: int, seed: str, service: str, config: CrashConfig, model: Service,
                 weather: FakeOpenMeteo, directory: Path, plan: KillPlan | None = None):
        self.index, self.seed, self.service, self.config = index, seed, service, config
        self.model, self.weather, self.directory = model, weather, directory
        self.plan = plan or draw_plan(random.Random(f"{seed}/kill"), service, config)
        self.kill = Kill(service, self.plan.describe())
        self.inbound: list[InboundRecord] = []
        self.intended_alerts: list[IntendedAlert] = []
        self.problems: list[str] = []
        self._lock = threading.Lock()
        self._counts: Counter = Counter()
        self._fired = threading.Event()
        self._recovered = threading.Event()
        self._closing = False
        self.graph: RecordingGraph | None = None
        self.backend: Service | None = None
        self.bridge: Service | None = None
        self.started_at = 0.0

    # -- services --
    def _services(self, graph: RecordingGraph) -> tuple[Service, Service]:
        backend_port, bridge_port = free_port(), free_port()
        backend_env = service_env(
            BACKEND_PORT=str(backend_port), MODEL_API_URL=self.model.url, BACKEND_TOKEN=TOKEN, BACKEND_WARM_UP="0",
            BACKEND_DB_PATH=str(self.directory / "backend.db"), BACKEND_PLUGINS="agro,running",
            AGRO_OPEN_METEO_URL=self.weather.url, AGRO_GEOCODING_URL=self.weather.url,
            ALERT_LEASE_SECONDS=f"{self.config.lease_s:g}", ALERT_BACKOFF_SECONDS="1",
            BACKEND_BREAKER_COOLDOWN="3")
        backend = Service("backend", CHASQUI + ["backend"], backend_env, backend_port, self.directory,
                          self.config.ready_timeout_s)
        bridge_env = service_env(
            BRIDGE_TRANSPORT="cloud", BRIDGE_PORT=str(bridge_port), BACKEND_URL=backend.url, BACKEND_TOKEN=TOKEN,
            BRIDGE_STATE_PATH=str(self.directory / "bridge.db"), WHATSAPP_GRAPH_API_URL=graph.base_url,
            WHATSAPP_ACCESS_TOKEN=graph.access_token, WHATSAPP_PHONE_NUMBER_ID=graph.phone_number_id,
            WHATSAPP_APP_SECRET=APP_SECRET, WHATSAPP_VERIFY_TOKEN=VERIFY_TOKEN, BRIDGE_RETRY_EVERY="0.5",
            ALERT_POLL_SECONDS="0.5", ALERT_LONG_POLL_SECONDS="5", BRIDGE_BACKEND_TIMEOUT="60")
        bridge = Service("bridge", CHASQUI + ["bridge"], bridge_env, bridge_port, self.directory,
                         self.config.ready_timeout_s)
        return backend, bridge

    def _victim(self) -> Service:
        return {"backend": self.backend, "bridge": self.bridge, "model-api": self.model}[self.service]

    # -- the kill --
    def _count(self, trigger: str) -> None:
        with self._lock:
            self._counts[trigger] += 1
            due = trigger == self.plan.trigger and self._counts[trigger] == self.plan.nth
        if not due:
            return
        if self.plan.delay_s == 0:
            self._fire(self.plan.describe())
        else:
            timer = threading.Timer(self.plan.delay_s, self._fire, (self.plan.describe(),))
            timer.daemon = True
            timer.start()

    def _on_send(self, record: dict) -> None:
        kind = send_kind(record)
        if kind == "reply":
            self._count("reply")
        elif kind == "other" and any(text_of(record["body"]) == a.text for a in list(self.intended_alerts)):
            self._count("alert")

    def _fire(self, how: str) -> None:
        with self._lock:
            if self.kill.at is not None or self._closing:
                return
            self.kill.at = self._victim().kill()
            self.kill.how = how
        self._fired.set()

    def _recover(self) -> None:
        """After the kill: what the dead service had recorded, then the same service again."""
        try:
            self._fired.wait()
            victim = self._victim()
            victim.reap()
            snapshot = self.directory / "at-kill"
            if self.service == "bridge":
                copy = copy_sqlite(self.directory / "bridge.db", snapshot)
                self.kill.snapshot_inbox = inbox_rows(copy)
                self.kill.snapshot_claimed_ids = claimed_provider_ids(copy)
                alerts = alert_rows(self.directory / "backend.db")  # nobody else reports sends
            elif self.service == "backend":
                alerts = alert_rows(copy_sqlite(self.directory / "backend.db", snapshot))
            else:
                alerts = None
            if alerts is not None:
                self.kill.snapshot_alert_ids = {a["provider_message_id"] for a in alerts
                                                if a["status"] == "sent" and a["provider_message_id"]}
            time.sleep(self.config.pause_s)
            with self._lock:
                if self._closing:  # the trial is being torn down: start nothing that would outlive it
                    return
            victim.start()
            self.kill.recovery_s = time.monotonic() - self.kill.at
        except Exception as problem:
            self.problems.append(f"restarting {self.service} after the kill failed: {problem!r}")
        finally:
            self._recovered.set()

    # -- traffic --
    def post_webhook(self, raw: bytes, headers: dict) -> tuple[bool, int]:
        """As Meta: the same delivery again until the bridge answers 200 (bounded here)."""
        deadline = time.monotonic() + self.config.webhook_deadline_s
        tries = 0
        while True:
            tries += 1
            try:
                response = requests.post(f"{self.bridge.url}/webhook", data=raw, headers=headers, timeout=10)
                if response.status_code == 200:
                    return True, tries
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                return False, tries
            time.sleep(0.25)

    def converse(self, number: int, persona: Persona, phone: str, rng: random.Random, asks_model: bool) -> None:
        def say(text: str, to_model: bool = False) -> str | None:
            record = InboundRecord(meta.new_wamid(phone), phone, text, time.monotonic(), to_model)
            with self._lock:
                self.inbound.append(record)
            payload = meta.text_message(phone, text, message_id=record.message_id, name=persona.name.title())
            raw, headers = meta.signed_post_args(payload, APP_SECRET)
            record.webhook_ok, record.webhook_tries = self.post_webhook(raw, headers)
            if not record.webhook_ok:
                self.problems.append(f"the bridge never took the webhook of {text!r} from {phone} "
                                     f"({record.webhook_tries} tries)")
                return None
            if to_model:
                self._count("model-turn")
            reply = self.graph.wait_reply(record.message_id, self.config.reply_timeout_s)
            time.sleep(rng.uniform(*self.config.think_s))
            return text_of(reply["body"]) if reply else None

        answers, used = persona.onboarding, {0}
        reply = say(answers[0][1])
        for _ in range(len(answers) + 2):  # bounded: a question asked again takes the next answer
            if reply is not None and ("?" not in reply or WELCOME.search(fold(reply))):
                break
            index = next_onboarding_answer(reply or "", answers, used)
            if index is None:
                break
            used.add(index)
            reply = say(answers[index][1])
        turns = code_turns(persona, self.config.turns)
        asked = model_turn(persona) if asks_model else None
        if asked is not None:
            turns = turns[:len(turns) // 2] + [asked] + turns[len(turns) // 2:]
        for turn in turns:
            if turn.only_if_asked and not (reply and "?" in reply):
                continue
            reply = say(turn.text, to_model=turn is asked)

    def create_alerts(self, phones: list[str], rng: random.Random) -> None:
        previous: IntendedAlert | None = None
        for number in range(1, self.config.alerts + 1):
            if previous is not None and number % 4 == 0:
                phone, text = previous.phone, previous.text  # a second alert, the same words
            else:
                phone = rng.choice(phones)
                text = f"Aviso {self.index}-{number}: {rng.choice(ALERT_TEXTS)}"
            level = rng.choice(("baja", "media", "alta"))
            time.sleep(rng.uniform(0.3, 1.5))
            alert = IntendedAlert(number, phone, text, level)
            with self._lock:
                self.intended_alerts.append(alert)
            self._create_alert(alert)
            previous = alert

    def _create_alert(self, alert: IntendedAlert) -> None:
        """POST /alert once the user exists; after a failed call, the backend's file says whether
        the alert was written before the backend died (then it is not created twice)."""
        database = self.directory / "backend.db"
        same_before = sum(1 for a in self.intended_alerts[:-1] if (a.phone, a.text) == (alert.phone, alert.text))
        deadline = time.monotonic() + self.config.webhook_deadline_s
        while time.monotonic() < deadline:
            if not query(database, "SELECT 1 FROM contacts WHERE phone = ?", (alert.phone,)):
                time.sleep(0.2)  # the user's first message has not reached the backend yet
                continue
            try:
                response = requests.post(f"{self.backend.url}/alert", timeout=10,
                                         json={"phone": alert.phone, "message": alert.text, "level": alert.level},
                                         headers={"Authorization": f"Bearer {TOKEN}"})
                if response.status_code == 201:
                    alert.alert_id = response.json()["alert_ids"][0]
                    return
                if 400 <= response.status_code < 500:
                    alert.error = f"POST /alert: HTTP {response.status_code} {response.text[:200]}"
                    self.problems.append(alert.error)
                    return
            except requests.RequestException:
                pass
            written = query(database, "SELECT a.id FROM alerts a JOIN contacts c ON c.id = a.contact_id "
                                      "WHERE c.phone = ? AND a.message = ? ORDER BY a.id", (alert.phone, alert.text))
            if len(written) > same_before:
                alert.alert_id, alert.note = written[same_before][0], "written; its answer lost to the kill"
                return
            time.sleep(0.3)
        alert.error = "POST /alert never succeeded"
        self.problems.append(f"alert {alert.number} for {alert.phone} never created")

    # -- settling --
    def busy(self) -> int:
        rows = query(self.directory / "bridge.db",
                     "SELECT COUNT(*) FROM inbox WHERE status IN ('queued', 'asking', 'replying')")
        alerts = query(self.directory / "backend.db",
                       "SELECT COUNT(*) FROM alerts WHERE status IN ('pending', 'claimed')")
        return (rows[0][0] if rows else 0) + (alerts[0][0] if alerts else 0)

    def settle(self) -> bool:
        deadline = time.monotonic() + self.config.settle_timeout_s
        quiet = 0
        while time.monotonic() < deadline:
            try:
                quiet = quiet + 1 if self.busy() == 0 else 0
            except sqlite3.Error:
                quiet = 0
            if quiet >= 3:
                return True
            time.sleep(0.3)
        return False

    # -- the whole trial --
    def run(self) -> TrialResult:
        self.directory.mkdir(parents=True, exist_ok=True)
        began = time.monotonic()
        result = TrialResult(self.index, self.seed, self.service, self.kill, self.directory)
        with RecordingGraph() as graph:
            self.graph = graph
            self.backend, self.bridge = self._services(graph)
            try:
                if not self.model.alive():
                    self.model.start()
                self.backend.start()
                self.bridge.start()
                self._drive(result)
            finally:
                graph.on_send = None
                if self._fired.is_set():  # a restart in progress ends before the processes are stopped
                    self._recovered.wait(timeout=self.config.model_ready_timeout_s + 30)
                with self._lock:
                    self._closing = True
                result.logs = "\n".join(s.logs() for s in (self.bridge, self.backend))
                self.bridge.stop()
                self.backend.stop()
            self._account(result)
        result.problems += self.problems
        result.duration_s = time.monotonic() - began
        return result

    def _drive(self, result: TrialResult) -> None:
        config = self.config
        phones = [f"+51990{self.index % 100:02d}{n:04d}" for n in range(1, config.conversations + 1)]
        personas = [PERSONAS[(n + self.index) % len(PERSONAS)] for n in range(config.conversations)]
        model_users = {n for n, p in enumerate(personas) if p.domain == "agro"}
        model_users = set(sorted(model_users)[:config.model_turns])
        recovery = threading.Thread(target=self._recover, name="crash-recovery", daemon=True)
        recovery.start()
        self.graph.on_send = self._on_send
        self.started_at = time.monotonic()
        workers = [threading.Thread(target=self._guarded, args=(self.converse, n, personas[n], phones[n],
                                                                 random.Random(f"{self.seed}/user{n}"),
                                                                 n in model_users),
                                    name=f"user-{n}", daemon=True) for n in range(config.conversations)]
        workers.append(threading.Thread(target=self._guarded, args=(self.create_alerts, phones,
                                                                     random.Random(f"{self.seed}/alerts")),
                                        name="alerts", daemon=True))
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + config.drive_timeout_s
        for worker in workers:
            worker.join(timeout=max(0.1, deadline - time.monotonic()))
        if any(worker.is_alive() for worker in workers):
            self.problems.append(f"the traffic did not end within {config.drive_timeout_s:.0f} s")
        self._fire("late: at the end of the traffic (its trigger never came)")
        traffic_end = time.monotonic()
        result.traffic_s = traffic_end - self.started_at
        recovery.join(timeout=config.model_ready_timeout_s + 30)
        result.settled = self._recovered.is_set() and self.settle()
        result.settle_s = time.monotonic() - traffic_end
        self.kill.since_start_s = self.kill.at - self.started_at
        time.sleep(0.3)  # a send that settling raced with reaches the fake

    def _guarded(self, target, *args) -> None:
        try:
            target(*args)
        except Exception as problem:  # reported, and the trial goes on
            self.problems.append(f"{threading.current_thread().name}: {problem!r}")

    # -- counting --
    def _account(self, result: TrialResult) -> None:
        kill = self.kill
        accepted = sends(self.graph)
        inbox = inbox_rows(self.directory / "bridge.db")
        alerts = alert_rows(self.directory / "backend.db")
        sources = reply_sources(self.directory / "backend.db")
        ours = {r.message_id: r for r in self.inbound}

        # what each accepted send is
        replies: dict[str, list[dict]] = defaultdict(list)
        rest: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for record in accepted:
            kind = send_kind(record)
            if kind == "reply":
                if context_of(record) in ours:
                    replies[context_of(record)].append(record)
                else:
                    result.unexpected.append(f"reply to an unknown message {context_of(record)}: "
                                             f"{text_of(record['body'])[:80]!r}")
            elif kind == "holding":
                result.holding_notes += 1
            else:
                rest[(meta.digits_only(record["body"]["to"]), text_of(record["body"]))].append(record)
        continuation: Counter = Counter()  # later pieces of long replies, expected once each
        for row in inbox.values():
            for piece in (row["pieces"] or [])[1:]:
                continuation[(meta.digits_only(row["phone"]), piece)] += 1
        alert_keys = {(meta.digits_only(a["phone"]), a["message"]) for a in alerts}

        # The kill's accept->record window: accepted before the kill, recorded nowhere a restarted
        # stack reads. A reply is recorded in the bridge's inbox (pieces_sent); an alert in the
        # bridge's alert_claims (its provider id, written as the provider accepts) or, once
        # reported, as sent in the backend. Only the bridge holds these records: a backend that dies
        # leaves its reports to the bridge, which stays up.
        if kill.at is not None and self.service in ("bridge", "backend"):
            recorded_alerts = (kill.snapshot_alert_ids or set()) | kill.snapshot_claimed_ids
            for record in accepted:
                if record["time"] > kill.at:
                    continue
                context = context_of(record)
                key = (meta.digits_only(record["body"]["to"]), text_of(record["body"]))
                if context and self.service == "bridge":
                    row = (kill.snapshot_inbox or {}).get(context)
                    if row is None or row["pieces_sent"] < 1:
                        kill.in_window.append(f"reply to {context[-12:]} ({text_of(record['body'])[:40]!r}) "
                                              f"accepted {kill.at - record['time']:.3f} s before the kill, "
                                              f"pieces_sent={row and row['pieces_sent']}")
                        kill.in_window_ids.add(record["message_id"])
                elif not context and key in alert_keys and record["message_id"] not in recorded_alerts:
                    note = (f"alert {key[1][:40]!r} to {key[0]} accepted {kill.at - record['time']:.3f} s "
                            "before the kill")
                    if self.service == "bridge":
                        kill.in_window.append(note + ", its provider id not yet in the bridge's alert_claims")
                        kill.in_window_ids.add(record["message_id"])
                    else:
                        kill.reports_outstanding.append(note + ", not yet recorded as sent")

        # messages
        result.inbound = len(self.inbound)
        for record in self.inbound:
            got = replies.get(record.message_id, [])
            source = sources.get(record.message_id)
            if source:
                result.sources[source] += 1
            row = inbox.get(record.message_id)
            if row and row["refusal"]:
                result.refused.append({"message": record.text, "phone": record.phone, "reason": row["refusal"]})
            if got:
                result.replied += 1
            else:
                result.lost_messages.append({
                    "message": record.text, "phone": record.phone, "id": record.message_id,
                    "webhook": f"{'taken' if record.webhook_ok else 'never taken'} after {record.webhook_tries} tries",
                    "inbox": row and {k: row[k] for k in ("status", "pieces_sent", "attempts", "last_error")},
                    "backend_reply_source": source})
            if len(got) > 1:
                first = got[0]
                result.doubled_messages.append({
                    "message": record.text, "phone": record.phone, "id": record.message_id, "copies": len(got),
                    "reply": text_of(first["body"])[:60],
                    "accepted_s_after_kill": [round(r["time"] - kill.at, 3) for r in got] if kill.at else None,
                    "explained": first["message_id"] in kill.in_window_ids})
        for (phone, text), count in continuation.items():
            got = rest.pop((phone, text), [])
            if len(got) < count:
                result.lost_messages.append({"piece": text[:60], "phone": phone, "expected": count, "got": len(got)})
            for extra in got[count:]:
                result.doubled_messages.append({"piece": text[:60], "phone": phone,
                                                "explained": extra["message_id"] in kill.in_window_ids})

        # alerts: each row of the backend's table, every user's copy matched by provider id
        groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for alert in alerts:
            groups[(meta.digits_only(alert["phone"]), alert["message"])].append(alert)
        result.alerts = len(alerts)
        for key, group in groups.items():
            got = rest.pop(key, [])
            got_ids = {r["message_id"] for r in got}
            for alert in group:
                if alert["status"] == "sent" and alert["provider_message_id"] in got_ids:
                    result.delivered_alerts += 1
                elif alert["status"] == "failed" and alert["last_error"]:
                    result.failed_alerts.append({"alert": alert["id"], "text": alert["message"],
                                                 "reason": alert["last_error"]})
                else:
                    result.lost_alerts.append({k: alert[k] for k in ("id", "phone", "message", "status",
                                                                     "provider_message_id", "attempts", "last_error")}
                                              | {"accepted_copies": len(got)})
            recorded = {a["provider_message_id"] for a in group}
            for extra in (r for r in got if r["message_id"] not in recorded):
                result.doubled_alerts.append({
                    "alerts": [a["id"] for a in group], "text": key[1][:60], "phone": key[0],
                    "copies": len(got), "same_text_alerts": len(group),
                    "extra_accepted_s_after_kill": round(extra["time"] - kill.at, 3) if kill.at else None,
                    "explained": extra["message_id"] in kill.in_window_ids})
        for alert in self.intended_alerts:
            if alert.alert_id is None:
                result.lost_alerts.append({"intended": alert.number, "phone": alert.phone, "text": alert.text,
                                           "error": alert.error})
        for (phone, text), records in rest.items():
            result.unexpected.append(f"{len(records)} x to {phone}: {text[:80]!r}")


def run_trials(base: Path, trials: int, config: CrashConfig, seed: int | str = 0, model: Service | None = None,
               services: tuple[str, ...] = SERVICES, plans: list[KillPlan | None] | None = None,
               echo=None) -> list[TrialResult]:
    """`trials` trials, killing the services in turn (or as `plans` say, trial by trial: a plan
    instead of a drawn one); the model API is started once (or given)."""
    base.mkdir(parents=True, exist_ok=True)
    own_model = model is None
    results = []
    weather = FakeOpenMeteo()
    try:
        if own_model:
            (base / "model-api").mkdir(parents=True, exist_ok=True)
            model = start_model_api(base / "model-api", ready_timeout_s=config.model_ready_timeout_s)
        for index in range(trials):
            plan = plans[index] if plans and index < len(plans) else None
            service = plan.service if plan else services[index % len(services)]
            trial = Trial(index + 1, f"{seed}/{index + 1}", service, config, model, weather,
                          base / f"trial-{index + 1:02d}-{service}", plan)
            result = trial.run()
            results.append(result)
            if echo:
                echo(result)
    finally:
        if own_model and model is not None:
            model.stop()
        weather.stop()
    return results


# --- figures --------------------------------------------------------------------------------------

COLUMNS = ["service killed", "trials", "kills", "kills in window", "lost msgs", "doubled msgs", "lost alerts",
           "doubled alerts", "unexplained doubles", "settle s (median / max)"]


def summary_rows(results: list[TrialResult]) -> list[list[str]]:
    rows = []
    by_service: dict[str, list[TrialResult]] = defaultdict(list)
    for result in results:
        by_service[result.service].append(result)
    groups = [(s, by_service[s]) for s in SERVICES if by_service.get(s)] + [("all", results)]
    for name, group in groups:
        settle = [r.settle_s for r in group]
        unsettled = sum(1 for r in group if not r.settled)
        rows.append([name, str(len(group)), str(sum(1 for r in group if r.kill.at is not None)),
                     str(sum(1 for r in group if r.kill_in_window)),
                     str(sum(len(r.lost_messages) for r in group)), str(sum(len(r.doubled_messages) for r in group)),
                     str(sum(len(r.lost_alerts) for r in group)), str(sum(len(r.doubled_alerts) for r in group)),
                     str(sum(len(r.unexplained_doubles) for r in group)),
                     f"{statistics.median(settle):.1f} / {max(settle):.1f}"
                     + (f" ({unsettled} not settled)" if unsettled else "")])
    return rows


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|---" + "|---:" * (len(header) - 1) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])
