"""The services under test, built in this process the way their own tests build them: the backend
on a real SQLite file with the agro, running and example plug-ins and the scripted loopback model;
after every accepted input a `BackendWorld` proves that its contacts still get normal replies and
that every scheduled job still runs."""
from __future__ import annotations

import itertools
from pathlib import Path

from admin.users import create_user
from backend.alerts import long_poll, repository
from backend.app import create_app
from tests.agro.conftest import ONBOARDING as AGRO_ONBOARDING
from tests.backend.conftest import AUTH, backend_settings
from tests.running.conftest import ONBOARDING as RUNNING_ONBOARDING
from tests.robustness.harness import Sent, assert_answer
from tests.robustness.store_checks import assert_intact, assert_nothing_added, row_counts, tables
from tests.whatsapp_bridge.conftest import ONBOARDING as NOTES_ONBOARDING  # the example plug-in's

PLUGINS = ("agro", "running", "example")
AGRO, RUNNER, NOTES = "+51987000001", "+51987000002", "+51987000003"
# Each plug-in's onboarding as its own tests write it (so a new onboarding is followed here), after
# «Hola» and the number of the plug-in in the domain question (three plug-ins are on).
ONBOARDING = {
    AGRO: ["Hola", "1", *AGRO_ONBOARDING[1:]],
    RUNNER: ["Hola", "2", *RUNNING_ONBOARDING[1:]],
    NOTES: ["Hola", "3", *NOTES_ONBOARDING[1:]],
}
# Per domain, a question its plug-in answers from the contact's own data (the code paths a
# poisoned row would break: the water balance, the training plan, the notes count).
DOMAIN_QUESTIONS = {AGRO: "¿cuándo riego?", RUNNER: "¿qué entreno mañana?", NOTES: "¿cuántas notas tengo?"}
QUESTION_BY_DOMAIN = dict(zip(PLUGINS, DOMAIN_QUESTIONS.values()))
ADMIN_USER, ADMIN_PASSWORD = "rosa", "una clave bastante larga"
# Tables whose rows are the record of a refusal, written on purpose when a request is refused: the
# admin's «Failures» page (backend/failures.py: /agent keeps each message it refused, with its
# text for the admin to read, one row per message, bounded) and the login throttle (a wrong
# password must count). A row there records that nothing was done; it is not a half-done change.
RECORDS_OF_REFUSALS = frozenset({"failures", "admin_login_failures"})


class BackendWorld:
    """One backend app and its store, with three onboarded contacts (one per plug-in) and an admin."""

    def __init__(self, tmp_path: Path, model_url: str):
        self.app = create_app(backend_settings(tmp_path, model_url, plugins=PLUGINS, daily_model_calls=0))
        self.scheduler = self.app.extensions["chasqui_scheduler"]
        self.scheduler.stop()  # the suite runs the jobs itself, after each accepted input
        self.store = self.app.extensions["chasqui_store"]
        self.db = self.store.db
        self.client = self.app.test_client()
        self._ids = itertools.count(1)
        create_user(self.db, ADMIN_USER, ADMIN_PASSWORD)
        for phone, answers in ONBOARDING.items():
            replies = [self.reply(phone, text) for text in answers]
            assert self.onboarded(phone), replies
        for phone, question in DOMAIN_QUESTIONS.items():
            assert self.reply(phone, question)
        self.client.get(f"/agro/plots?phone={AGRO}", headers=AUTH)  # lote 1 exists before any refusal
        self.assert_jobs_run()

    @property
    def connection(self):
        return self.db

    def unique(self) -> int:
        """A number used once in this world (message ids, plot names, new phones)."""
        return next(self._ids)

    def reply(self, phone: str, text: str) -> str:
        """The reply to one message, which must be a 200 with a non-empty answer."""
        response = self.client.post("/agent", json={"phone": phone, "message": text}, headers=AUTH)
        assert response.status_code == 200, (phone, text, response.status_code, response.get_data()[:500])
        answer = response.get_json()["model_output"]["respuesta_chat"]
        assert isinstance(answer, str) and answer.strip(), (phone, text, response.get_json())
        return answer

    # -- what must hold after any accepted input ---------------------------------------------------
    def assert_contacts_served(self, phones: tuple[str, ...] = ()) -> None:
        """Every plug-in's contact, and the contacts the input named, still get normal replies."""
        for phone, question in DOMAIN_QUESTIONS.items():
            self.reply(phone, "hola")
            self.reply(phone, question)
        for phone in phones:
            if phone not in DOMAIN_QUESTIONS and self.is_contact(phone):
                self.reply(phone, "hola")
                if self.domain_of(phone) in QUESTION_BY_DOMAIN and self.onboarded(phone):
                    self.reply(phone, QUESTION_BY_DOMAIN[self.domain_of(phone)])

    def assert_jobs_run(self) -> None:
        """Every scheduled job runs (forced due now) and records no error: none for the job as a
        whole (job_runs.last_error) and none for one of its contacts (a 'job' row in failures,
        where a job that isolates a poisoned contact says so)."""
        before = self._job_failures()
        self.db.execute("UPDATE job_runs SET next_run_at = 0")
        ran = self.scheduler.run_due()
        assert sorted(ran) == sorted(self.scheduler.jobs), ran
        failed = self.db.execute("SELECT name, last_error FROM job_runs WHERE last_error IS NOT NULL").fetchall()
        assert not failed, f"scheduled jobs failed: {failed}"
        after = self._job_failures()
        assert after == before, "a job failed for a contact: " + str(self.db.execute(
            "SELECT source, subject, error FROM failures WHERE kind = 'job' ORDER BY last_at DESC LIMIT 3").fetchall())

    def _job_failures(self) -> tuple:
        if "failures" not in tables(self.db):
            return ()
        return self.db.execute("SELECT COUNT(*), COALESCE(SUM(times), 0) FROM failures WHERE kind = 'job'").fetchone()

    def new_contact(self, domain_phone: str) -> str:
        """A fresh contact onboarded like the domain's own (a clean history for chat tests)."""
        phone = f"+5196{self.unique():07d}"
        for text in ONBOARDING[domain_phone]:
            self.reply(phone, text)
        return phone

    def is_contact(self, phone: str) -> bool:
        return self.db.execute("SELECT 1 FROM contacts WHERE phone = ?", [phone]).fetchone() is not None

    def domain_of(self, phone: str) -> str | None:
        return self.db.execute("SELECT domain FROM contacts WHERE phone = ?", [phone]).fetchone()[0]

    def onboarded(self, phone: str) -> bool:
        return self.db.execute("SELECT onboarding_step IS NULL FROM contacts WHERE phone = ?", [phone]).fetchone()[0] == 1

    # -- alerts in each state, for the routes that report on one -----------------------------------
    def claimed_alert(self, phone: str = AGRO) -> tuple[int, str]:
        """(id, lease token) of a fresh alert, claimed as a bridge would."""
        contact_id = self.db.execute("SELECT id FROM contacts WHERE phone = ?", [phone]).fetchone()[0]
        alert_id = repository.create_alert(self.db, contact_id, f"Alerta de prueba {self.unique()}", "media")
        while batch := repository.claim_due(self.db, 100, 600, 50):  # accepted broadcasts queue up many
            for claimed in batch:
                if claimed["id"] == alert_id:
                    return alert_id, claimed["lease_token"]
        raise AssertionError(f"alert {alert_id} could not be claimed")

    def sent_alert(self) -> str:
        """The provider message id of a fresh alert reported sent."""
        alert_id, lease = self.claimed_alert()
        provider_id = f"wamid.robust.{self.unique()}"
        repository.mark_sent(self.db, alert_id, lease, provider_id)
        return provider_id


def check_backend_request(world: BackendWorld, sent_request, phones: tuple[str, ...] = (),
                          may_write: frozenset[str] = RECORDS_OF_REFUSALS, answer=None, serve: bool = True) -> Sent:
    """Send through `sent_request()` and check everything: the answer, the store, and after an
    accepted input (unless `serve` is False: a conversation that goes on first) the contacts and
    the jobs."""
    before = row_counts(world.connection)
    sent = sent_request()
    (answer or assert_answer)(sent)
    assert_intact(world.connection, sent)
    if sent.accepted and serve:
        world.assert_contacts_served(phones)
        world.assert_jobs_run()
        assert_intact(world.connection, sent)
    elif not sent.accepted:
        assert_nothing_added(before, row_counts(world.connection), sent, may_write)
    return sent


def short_long_polls(monkeypatch) -> list[float]:
    """GET /alerts/pending?wait=N holds the request up to N (≤ 30) seconds when nothing is due: a
    generated wait of 29 would stall the suite, so the wait itself is cut to 10 ms. The route's
    reading of `wait` is what is under test, and it runs unchanged; the waits asked are kept."""
    asked: list[float] = []
    real = long_poll.claim_waiting

    def claim_waiting(db, wait_s, claim):
        asked.append(wait_s)
        return real(db, min(wait_s, 0.01), claim)

    monkeypatch.setattr(long_poll, "claim_waiting", claim_waiting)
    return asked
