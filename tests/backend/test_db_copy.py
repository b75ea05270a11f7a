"""`chasqui db copy`: a SQLite deployment filled through the real backend (three plug-ins, onboarded
users, conversations, alerts with a picture, a voice note, plots, runs, an officer's takeover...)
moved to a fresh, empty PostgreSQL database, and checked here independently of the command's own
verification: every row of every table equal, identity sequences past the copied ids, a backend
on the copy that knows its users and recalls their words with PostgreSQL's full-text search, a
second copy refused without a change, bad locations refused with a clear message and exit code,
a difference or a source written meanwhile caught and rolled back, and the copy back to SQLite.

Always on PostgreSQL (tests.databases starts the server), whatever CHASQUI_TEST_DATABASE says: the
source is a SQLite file even when the rest of the suite runs on PostgreSQL."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import psycopg
import pytest

from admin.users import create_user
from backend import takeovers
from backend.alerts import repository as alerts
from backend.app import create_app
from backend.conversation import recall_messages, search_knowledge, store_inbound
from backend.store import copy as db_copy
from backend.store.copy import CopyError, copy_database
from backend.store.database import open_database, transaction
from chasqui.cli import main
from tests.admin.conftest import csrf_token
from tests.agro.conftest import ONBOARDING as AGRO_ONBOARDING
from tests.agro.conftest import lima_today
from tests.agro.fake_open_meteo import FakeOpenMeteo
from tests.backend.conftest import AUTH, Backend, backend_settings
from tests.backend.scripted_model import ScriptedModel
from tests.databases import server
from tests.running.conftest import ONBOARDING as RUNNING_ONBOARDING
from tests.whatsapp_bridge.conftest import ONBOARDING as NOTES_ONBOARDING

REPO = Path(__file__).resolve().parents[2]
PLUGINS = ("agro", "running", "example")
FARMER, RUNNER, NOTES, ERASED = "+51987000001", "+51987000002", "+51987000003", "+51987000004"
ONBOARDING = {  # after «Hola», the plug-in's number in the domain question (three plug-ins are on)
    FARMER: ["Hola", "1", *AGRO_ONBOARDING[1:]],
    RUNNER: ["Hola", "2", *RUNNING_ONBOARDING[1:]],
    NOTES: ["Hola", "3", *NOTES_ONBOARDING[1:]],
    ERASED: ["Hola", "3", *NOTES_ONBOARDING[1:]],
}
PICTURE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40  # every byte value, NUL included
AUDIO = bytes(reversed(range(256))) * 64
BOOKKEEPING = {"schema_migrations", "plugin_migrations"}


# --- the deployment -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def environment():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHASQUI_LOG_LEVEL", "WARNING")
        weather = FakeOpenMeteo()
        weather.align_to = lima_today()
        patch.setenv("AGRO_OPEN_METEO_URL", weather.url)
        patch.setenv("AGRO_GEOCODING_URL", weather.url)
        model = ScriptedModel().answer_by_default("Claro, te cuento lo que sé de eso.")
        yield model
        model.stop()
        weather.stop()


def sqlite_backend(folder: Path, model: ScriptedModel) -> Backend:
    """The backend on a SQLite file, even when the suite runs on PostgreSQL."""
    app = create_app(backend_settings(folder, model.url, plugins=PLUGINS, database_url="", daily_model_calls=0))
    app.extensions["chasqui_scheduler"].stop()  # jobs run when this test says
    return Backend(app)


def contact_id(db, phone: str) -> int:
    return db.execute("SELECT id FROM contacts WHERE phone = ?", [phone]).fetchone()[0]


def fill(backend: Backend) -> None:
    """Rows in every table, each the way the backend writes them."""
    db = backend.db
    create_user(db, "rosa", "una clave bastante larga")
    for phone, answers in ONBOARDING.items():
        backend.replies(phone, answers)
    backend.say(FARMER, "¿cuándo riego?")
    backend.say(FARMER, "hoy regué 2 horas")
    backend.say(FARMER, "sí")
    backend.say(RUNNER, "Corrí 10 km en 55 min, me sentí cansado, me duele la rodilla")
    # Said three days ago: past the short-term window, so only full-text recall brings it back.
    db.execute("UPDATE messages SET created_at = created_at - 3 * 86400 WHERE contact_id = ?", [contact_id(db, RUNNER)])
    backend.say(RUNNER, "¿qué entreno mañana?")
    backend.say(NOTES, "anota: regar el jueves las habas del huerto")
    backend.say(NOTES, "sí")
    backend.say(NOTES, "recuérdame mañana: llamar a Juan")
    backend.say(NOTES, "sí")
    backend.say(ERASED, "BORRAR MIS DATOS")
    backend.say(ERASED, "sí")
    # Alerts: one with a picture, one sent and delivered; an officer takes a conversation over.
    notes_id, runner_id = contact_id(db, NOTES), contact_id(db, RUNNER)
    alerts.create_alert(db, runner_id, "Tu semana en una imagen", "media", image=PICTURE)
    sent = alerts.create_alert(db, notes_id, "Helada esta noche: tapa tus plantas", "alta")
    alerts.mark_sent(db, sent, None, "wamid.out-1")
    alerts.record_delivery(db, "wamid.out-1", "read")
    backend.say(NOTES, "quiero hablar con una persona", message_id="wamid.in-asks")
    with transaction(db) as connection:
        takeover = takeovers.open_takeover(connection, notes_id)["id"]
        takeovers.take(connection, takeover, "rosa")
        takeovers.reply(connection, takeover, "rosa", "Hola, ¿en qué te ayudo?")
        takeovers.hand_back(connection, takeover, "rosa")
    reply = backend.say(NOTES, "¿cuántas notas tengo?", message_id="wamid.in-count")
    reply_id = db.execute("SELECT id FROM messages WHERE in_reply_to = (SELECT id FROM messages WHERE "
                          "wa_message_id = 'wamid.in-count')").fetchone()[0]
    assert reply["model_output"]["respuesta_chat"]
    react = {"phone": NOTES, "message_id": "wamid.reaction", "reacted_to": "wamid.unknown", "reply_to": "wamid.in-count",
             "emoji": "👍"}
    assert backend.client.post("/agent/reaction", json=react, headers=AUTH).status_code == 200
    # A voice note as /agent/voice keeps it (hearing it needs the speech model: tests/speech).
    db.execute("INSERT INTO voice_notes (wa_message_id, phone, contact_id, message_id, mime_type, audio, bytes, "
               "seconds, transcript, transcribe_ms, created_at, heard_at) VALUES "
               "('wamid.voice-1', ?, ?, ?, 'audio/ogg; codecs=opus', ?, ?, 2.5, 'riego mañana', 812.25, ?, ?)",
               [RUNNER, runner_id, reply_id, AUDIO, len(AUDIO), time.time(), time.time() + 1])
    backend.say(RUNNER, "BORRAR MIS DATOS")  # left waiting for its «sí»: pending_actions
    # A wrong password (the login throttle), a failure for the admin, an outbreak's alert (three
    # neighbours reporting one pest: tests/agro), every job once.
    token = csrf_token(backend.client.get("/admin/login").text)
    backend.client.post("/admin/login", data={"username": "rosa", "password": "no es la clave", "csrf_token": token})
    db.execute("INSERT INTO agro_outbreak_alerts (outbreak_key, contact_id, alerted_at) VALUES (?, ?, ?)",
               [f"cogollero|maiz|{lima_today().isoformat()}", contact_id(db, FARMER), time.time()])
    db.execute("INSERT INTO failures (kind, source, subject, contact_id, detail, error, first_at, last_at) VALUES "
               "('message', '/agent', 'wamid.x', ?, 'hola', 'the model timed out', ?, ?)",
               [notes_id, time.time(), time.time()])
    scheduler = backend.app.extensions["chasqui_scheduler"]
    db.execute("UPDATE job_runs SET next_run_at = 0")
    scheduler.run_due()
    # Values at the edges of each type: the largest integer, a float's every digit, accents, emoji.
    db.execute("INSERT INTO model_calls (contact_id, day, endpoint, calls) VALUES (?, '2024-01-01', 'model', ?)",
               [notes_id, 2 ** 63 - 1])
    db.execute("INSERT INTO answer_cache (question_key, domain, answer, created_at) VALUES (?, 'agro', ?, ?)",
               ["¿cuándo siembro papa? 🥔", json.dumps({"respuesta_chat": "En setiembre, ñaña"}), 1712345678.1234567])


def data_tables(path: Path) -> list[str]:
    """The SQLite file's tables, by its own catalog: not its full-text index's."""
    with closing(sqlite3.connect(path)) as connection:
        virtual = [r[0] for r in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'")]
        names = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                                  "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    return [n for n in names if n not in BOOKKEEPING and not any(n == v or n.startswith(v + "_") for v in virtual)]


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, environment) -> Path:
    folder = tmp_path_factory.mktemp("deployment")
    backend = sqlite_backend(folder, environment)
    fill(backend)
    backend.db.close()  # the backend is stopped before the copy
    path = folder / "chasqui.db"
    source = sqlite_db(path)
    empty = [t for t in data_tables(path) if count(source, t) == 0]
    source.close()
    assert not empty, f"the deployment has no rows in {empty}: fill() must give every table some"
    return path


def sqlite_db(path: Path):
    return open_database(path)


def count(db, table: str) -> int:
    return db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]


def copy_of(path: Path, folder: Path) -> Path:
    """Another SQLite file with the same rows (sqlite3's backup: the WAL's pages too)."""
    other = folder / "source.db"
    with closing(sqlite3.connect(path)) as source, closing(sqlite3.connect(other)) as target:
        source.backup(target)
    return other


def empty_postgresql_database() -> str:
    """A database with nothing in it at all (not even the core schema the tests' template has)."""
    name = f"copy_target_{os.getpid()}_{time.monotonic_ns()}"
    with psycopg.connect(server().url("postgres"), autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name} TEMPLATE template0")
    return server().url(name)


def columns_of(path: Path, table: str) -> list[str]:
    """Every column, generated ones too (alerts.priority: PostgreSQL computes its own)."""
    with closing(sqlite3.connect(path)) as connection:
        return [row[1] for row in connection.execute(f'PRAGMA table_xinfo("{table}")')]


def rows_of(db, table: str, columns: list[str]) -> list[tuple]:
    listed = ", ".join(f'"{c}"' for c in columns)
    rows = db.execute(f'SELECT {listed} FROM "{table}"').fetchall()
    return sorted((tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows), key=repr)


def assert_same_rows(path: Path, other, tables: list[str]) -> None:
    source = sqlite_db(path)
    try:
        for table in tables:
            columns = columns_of(path, table)
            theirs, ours = rows_of(other, table, columns), rows_of(source, table, columns)
            assert len(theirs) == len(ours), (table, len(ours), len(theirs))
            for mine, copied in zip(ours, theirs):
                assert mine == copied and [type(v) for v in mine] == [type(v) for v in copied], (table, mine, copied)
        for sql in ("SELECT version, name FROM schema_migrations", "SELECT plugin, version, name FROM plugin_migrations"):
            assert sorted(source.execute(sql).fetchall()) == sorted(other.execute(sql).fetchall())
    finally:
        source.close()


def run_cli(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chasqui.cli", "db", "copy", *arguments], cwd=REPO,
                          capture_output=True, text=True, timeout=600, env={**os.environ, "CHASQUI_LOG_LEVEL": "WARNING"})


@pytest.fixture(scope="module")
def copied(deployment) -> tuple[str, subprocess.CompletedProcess]:
    """The deployment copied to an empty PostgreSQL database by `chasqui db copy`, run as an
    operator runs it."""
    url = empty_postgresql_database()
    result = run_cli(f"sqlite:///{deployment}", url)
    assert result.returncode == 0, result.stdout + result.stderr
    return url, result


# --- SQLite to PostgreSQL -----------------------------------------------------------------------

def test_every_row_of_every_table_is_on_postgresql(deployment, copied):
    url, result = copied
    target = open_database(url)
    try:
        assert_same_rows(deployment, target, data_tables(deployment))
        assert target.execute("SELECT to_regclass('messages_fts') IS NOT NULL").fetchone()[0]  # a GIN index there
        assert target.execute("SELECT relkind FROM pg_class WHERE relname = 'messages_fts'").fetchone()[0] == "i"
        picture = target.execute("SELECT image FROM alerts WHERE image IS NOT NULL").fetchone()[0]
        assert bytes(picture) == PICTURE
        assert target.execute("SELECT calls FROM model_calls WHERE day = '2024-01-01'").fetchone()[0] == 2 ** 63 - 1
    finally:
        target.close()


def test_the_command_says_what_it_did_table_by_table(deployment, copied):
    _, result = copied
    out = result.stdout
    assert "Stop the backend first" in out and "messages_fts" in out and "not copied" in out and "rows copied" in out
    source = sqlite_db(deployment)
    try:
        for table in data_tables(deployment):
            rows = count(source, table)
            assert f"  {table} " in out
            summary_line = next(line for line in out.splitlines() if line.split()[:1] == [table])
            assert summary_line.split()[1] == f"{rows:,}", summary_line
    finally:
        source.close()
    assert "every one verified" in out and "schema version" in out and result.stderr.strip() == ""


def test_a_second_copy_into_the_full_target_is_refused_and_changes_nothing(deployment, copied, capsys):
    url, _ = copied
    target = open_database(url)
    try:
        before = {t: rows_of(target, t, columns_of(deployment, t)) for t in data_tables(deployment)}
        bookkeeping = target.execute("SELECT version, name, applied_at FROM schema_migrations ORDER BY version").fetchall()
        assert main(["db", "copy", str(deployment), url]) == 2
        error = capsys.readouterr().err
        assert "already holds data" in error and "nothing was changed" in error and "contacts (" in error
        after = {t: rows_of(target, t, columns_of(deployment, t)) for t in before}
        assert after == before
        assert target.execute("SELECT version, name, applied_at FROM schema_migrations "
                              "ORDER BY version").fetchall() == bookkeeping
    finally:
        target.close()


def test_a_backend_on_the_copy_has_its_users_fresh_ids_and_full_text_recall(deployment, environment, tmp_path):
    url = server().new_database()  # the core schema already there, and no data: as good as empty
    said: list[str] = []
    report = copy_database(str(deployment), url, say=said.append)
    assert report.rows == sum(t.rows for t in report.tables) > 100 and any("verifying" in line for line in said)
    db = open_database(url)
    try:
        # Every identity column hands out the id after the highest copied one.
        identities = db.execute("SELECT table_name, column_name FROM information_schema.columns WHERE "
                                "table_schema = current_schema() AND is_identity = 'YES'").fetchall()
        assert len(identities) >= 15
        for table, column in identities:
            highest = db.execute(f'SELECT COALESCE(MAX("{column}"), 0) FROM "{table}"').fetchone()[0]
            following = db.execute("SELECT nextval(pg_get_serial_sequence(?, ?))", [table, column]).fetchone()[0]
            assert following == highest + 1, (table, highest, following)
        contacts, messages = count(db, "contacts"), db.execute("SELECT MAX(id) FROM messages").fetchone()[0]
        runner = contact_id(db, RUNNER)
        # PostgreSQL's own full-text search finds what the runner said before, and the knowledge.
        recalled = recall_messages(db, runner, "¿te acuerdas de mi rodilla?", set())
        assert recalled and "rodilla" in recalled[0]["texto"]
        assert search_knowledge(db, "agro", "riego por goteo")
    finally:
        db.close()
    app = create_app(backend_settings(tmp_path, environment.url, plugins=PLUGINS, database_url=url, daily_model_calls=0))
    app.extensions["chasqui_scheduler"].stop()
    backend = Backend(app)
    try:
        reply = backend.say(FARMER, "¿cuándo riego?")["model_output"]["respuesta_chat"]
        assert reply and "¿Cómo te llamas" not in reply  # a known producer, not a new user's onboarding
        assert backend.count("contacts") == contacts
        new_ids = [r[0] for r in backend.db.execute("SELECT id FROM messages WHERE id > ? ORDER BY id", [messages])]
        assert len(new_ids) == 2
        backend.say(RUNNER, "hola, ¿te acuerdas de lo que te dije de mi rodilla?")
        # The open question went to the model with the older message PostgreSQL's search recalled.
        asked = environment.requests[-1]["context"]
        assert any(line.startswith("Recuerdo: ") and "rodilla" in line for line in asked.splitlines()), asked
        picture = backend.db.execute("SELECT id FROM alerts WHERE image IS NOT NULL").fetchone()[0]
        response = backend.client.get(f"/alerts/{picture}/image", headers=AUTH)
        assert response.status_code == 200 and response.data == PICTURE
        from admin.users import verify
        assert verify(backend.db, "rosa", "una clave bastante larga")
    finally:
        backend.db.close()


# --- refusals and failures ----------------------------------------------------------------------

def test_bad_locations_are_refused_with_a_clear_message_and_exit_code(deployment, tmp_path, capsys):
    missing = tmp_path / "nowhere" / "chasqui.db"
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    cases = [
        ([str(missing), empty_postgresql_database()], "does not exist"),
        (["mysql://rosa:s3cret@db/chasqui", "postgresql://x@/y"], "is not a database Chasqui reads"),
        ([str(deployment), "postgresql://rosa:s3cret@127.0.0.1:1/chasqui"], "cannot open the target"),
        ([str(deployment), server().url("no_such_database")], "create it first"),
        ([str(deployment), f"sqlite:///{deployment}"], "the same database"),
        ([str(empty), empty_postgresql_database()], "not a Chasqui database"),
        ([str(deployment), str(tmp_path / "no" / "folder.db")], "does not exist"),
    ]
    for arguments, message in cases:
        assert main(["db", "copy", *arguments]) == 2, arguments
        error = capsys.readouterr().err
        assert error.startswith("chasqui: ") and message in error, (arguments, error)
        assert "s3cret" not in error
    assert not missing.exists() and not missing.parent.exists()
    # And as a real process: the message on stderr, the exit code the shell sees.
    result = run_cli("ftp://example.org/chasqui.db", "postgresql://x@/y")
    assert result.returncode == 2 and "is not a database Chasqui reads" in result.stderr


def tables_in(url: str) -> list[str]:
    db = open_database(url)
    try:
        return [r[0] for r in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]
    finally:
        db.close()


def test_a_schema_version_or_plug_in_this_code_does_not_know_is_refused_before_anything_is_written(deployment,
                                                                                                   tmp_path):
    from backend.store.migrations import MIGRATIONS

    future = copy_of(deployment, tmp_path)
    newest = max(version for version, _, _ in MIGRATIONS)
    with closing(sqlite3.connect(future)) as connection, connection:
        connection.execute("INSERT INTO schema_migrations VALUES (?, 'from a later release', 0)", [newest + 1])
    url = empty_postgresql_database()
    with pytest.raises(CopyError, match=f"version {newest + 1}; this Chasqui knows versions up to {newest}") as refused:
        copy_database(str(future), url, say=lambda line: None)
    assert refused.value.exit_code == 2 and tables_in(url) == []
    with closing(sqlite3.connect(future)) as connection, connection:
        connection.execute("DELETE FROM schema_migrations WHERE version > ?", [newest])
        connection.execute("INSERT INTO plugin_migrations VALUES ('weather', 1, 'stations', 0)")
    with pytest.raises(CopyError, match="plug-in named 'weather'"):
        copy_database(str(future), url, say=lambda line: None)
    assert tables_in(url) == []
    with pytest.raises(CopyError, match="plug-in named 'weather'"):  # a SQLite file it would have created
        copy_database(str(future), str(tmp_path / "new.db"), say=lambda line: None)
    assert not (tmp_path / "new.db").exists()


def test_a_source_at_an_older_schema_version_gets_a_target_at_that_version(tmp_path):
    """Versions match, so columns match; the backend (or chasqui db migrate) takes both further."""
    from backend.store.migrations import MIGRATIONS, migrate

    old = open_database(tmp_path / "old.db")
    migrate(old, MIGRATIONS[:9])
    old.execute("INSERT INTO contacts (phone, name, created_at, updated_at) VALUES ('+51900000001', 'Ana', 1.5, 2.5)")
    old.execute("INSERT INTO messages (contact_id, direction, body, created_at) VALUES (1, 'in', 'hola', 3.25)")
    old.close()
    url = empty_postgresql_database()
    report = copy_database(str(tmp_path / "old.db"), url, say=lambda line: None)
    assert report.core_version == 9 and report.rows == 2 and report.sequences["contacts.id"] == 2
    target = open_database(url)
    try:
        assert target.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] == 9
        assert migrate(target) == list(range(10, max(v for v, _, _ in MIGRATIONS) + 1))
        assert target.execute("SELECT phone, first_question FROM contacts").fetchall() == [("+51900000001", None)]
    finally:
        target.close()


def test_a_row_that_differs_is_reported_by_table_and_key_and_the_target_rolled_back(deployment, monkeypatch):
    url = empty_postgresql_database()
    source = sqlite_db(deployment)
    changed_id, body = source.execute("SELECT id, body FROM messages ORDER BY id LIMIT 1 OFFSET 5").fetchone()
    source.close()
    real = db_copy.load._conversions  # patched where the load looks it up

    def corrupting(table, source_db, target_db):
        conversions = real(table, source_db, target_db)
        if table.name != "messages":
            return conversions
        at = [c.name for c in table.columns].index("body")
        return conversions + [(at, lambda value: value + "!" if value == body else value)]

    monkeypatch.setattr(db_copy.load, "_conversions", corrupting)
    with pytest.raises(CopyError, match=f"table messages: row id={changed_id} differs in body") as failed:
        copy_database(str(deployment), url, say=lambda line: None)
    assert failed.value.exit_code == 1 and "rolled back" in str(failed.value)
    target = open_database(url)
    try:
        assert all(count(target, t) == 0 for t in data_tables(deployment))  # migrated, but empty
    finally:
        target.close()
    monkeypatch.undo()
    assert copy_database(str(deployment), url, say=lambda line: None).rows > 0  # so it can simply run again


def test_a_source_written_during_the_copy_rolls_the_target_back(deployment, tmp_path):
    source = copy_of(deployment, tmp_path)
    writes = []

    def backend_still_running(line: str) -> None:
        if line.startswith("verifying"):
            writes.append(f"Rosa {len(writes) + 1}")
            with closing(sqlite3.connect(source)) as connection, connection:
                connection.execute("UPDATE contacts SET name = ? WHERE phone = ?", [writes[-1], NOTES])

    url = empty_postgresql_database()
    with pytest.raises(CopyError, match="the source changed while it was copied") as failed:
        copy_database(str(source), url, say=backend_still_running)
    assert failed.value.exit_code == 1
    target = open_database(url)
    try:
        assert count(target, "contacts") == 0
        # A rehearsal against a live backend keeps the snapshot, and says so.
        report = copy_database(str(source), url, say=backend_still_running, while_running=True)
        assert report.snapshot_only and "WARNING" in db_copy.summary(report)
        assert target.execute("SELECT name FROM contacts WHERE phone = ?", [NOTES]).fetchone()[0] == "Rosa 1"
    finally:
        target.close()


# --- and back -----------------------------------------------------------------------------------

def test_postgresql_back_to_sqlite_and_sqlite_to_sqlite(deployment, copied, tmp_path):
    url, _ = copied
    for source, name in ((url, "from_postgresql.db"), (str(deployment), "from_sqlite.db")):
        path = tmp_path / name
        assert main(["db", "copy", source, f"sqlite:///{path}"]) == 0
        copy = sqlite_db(path)
        try:
            assert_same_rows(deployment, copy, data_tables(deployment))
            # SQLite's full-text index was built from the copied rows by its triggers.
            found = copy.execute("SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH 'rodilla'").fetchone()[0]
            assert found >= 1
            assert recall_messages(copy, contact_id(copy, RUNNER), "¿te acuerdas de mi rodilla?", set())
            assert search_knowledge(copy, "agro", "riego por goteo")
            # Its triggers are back: a new message is indexed as it is written.
            indexed = "SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH 'tobillo'"
            before = copy.execute(indexed).fetchone()[0]
            store_inbound(copy, contact_id(copy, RUNNER), "el tobillo ya no me molesta", None)
            assert copy.execute(indexed).fetchone()[0] == before + 1
        finally:
            copy.close()
