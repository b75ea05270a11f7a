"""Versioned schema migrations, applied in order on start (and by `chasqui db migrate`).

A migration is never edited once released: add a new one. Each runs in one transaction together
with its row in schema_migrations, so a crash leaves the database at the previous version.

The SQL is SQLite's; PostgreSQL gets the same migrations, numbered alike, rendered by
backend/store/dialects.py (types, full-text indexes). A migration whose SQL truly differs gives
both: {"sqlite": ..., "postgresql": ...}.
"""
from __future__ import annotations

import logging

from backend.store.database import Database, now, transaction
from backend.store.dialects import statements_for

log = logging.getLogger(__name__)

MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "core tables", """
CREATE TABLE contacts (
    id INTEGER PRIMARY KEY,
    phone TEXT NOT NULL UNIQUE,              -- E.164, e.g. +51987654321
    name TEXT,
    domain TEXT,                             -- a registered plug-in's name; NULL until onboarding picks one
    language TEXT NOT NULL DEFAULT 'es',
    timezone TEXT NOT NULL DEFAULT 'America/Lima',
    opted_out INTEGER NOT NULL DEFAULT 0,
    onboarding_step TEXT,                    -- NULL once onboarding is complete
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE profiles (
    contact_id INTEGER PRIMARY KEY REFERENCES contacts(id) ON DELETE CASCADE,
    domain TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}',         -- JSON: the fields the domain plug-in declares
    updated_at REAL NOT NULL
);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    body TEXT NOT NULL,
    wa_message_id TEXT UNIQUE,               -- a retried webhook is stored once
    source TEXT,                             -- out: model, secondary, cache, apology, onboarding, quota
    in_reply_to INTEGER REFERENCES messages(id),  -- out: the inbound message it answers
    created_at REAL NOT NULL
);
CREATE INDEX messages_by_reply ON messages(in_reply_to);
CREATE INDEX messages_by_contact_time ON messages(contact_id, created_at);
-- Full-text recall is always within one contact's messages: each row carries a token for its
-- contact ('k' || id) so a query intersects with that contact's short list of rows instead of
-- ranking every match among millions of messages.
CREATE VIEW messages_fts_source AS SELECT id, body, 'k' || contact_id AS contact FROM messages;
CREATE VIRTUAL TABLE messages_fts USING fts5(
    body, contact, content='messages_fts_source', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, body, contact) VALUES (new.id, new.body, 'k' || new.contact_id);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, body, contact) VALUES ('delete', old.id, old.body, 'k' || old.contact_id);
END;
CREATE TABLE knowledge (
    id INTEGER PRIMARY KEY,
    domain TEXT,                             -- NULL: for every domain
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    source TEXT,
    updated_at REAL NOT NULL
);
CREATE VIRTUAL TABLE knowledge_fts USING fts5(
    title, body, content='knowledge', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER knowledge_fts_insert AFTER INSERT ON knowledge BEGIN
    INSERT INTO knowledge_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
END;
CREATE TRIGGER knowledge_fts_delete AFTER DELETE ON knowledge BEGIN
    INSERT INTO knowledge_fts(knowledge_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
END;
CREATE TRIGGER knowledge_fts_update AFTER UPDATE ON knowledge BEGIN
    INSERT INTO knowledge_fts(knowledge_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
    INSERT INTO knowledge_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
END;
CREATE TABLE form_definitions (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    domain TEXT,
    schema TEXT NOT NULL,                    -- JSON schema the submissions must satisfy
    updated_at REAL NOT NULL
);
CREATE TABLE form_submissions (
    id INTEGER PRIMARY KEY,
    form_id INTEGER NOT NULL REFERENCES form_definitions(id),
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    data TEXT NOT NULL,
    source TEXT NOT NULL,                    -- api, chat
    created_at REAL NOT NULL
);
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    message TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('baja', 'media', 'alta')),
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'claimed', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    lease_until REAL,
    lease_token TEXT,
    last_error TEXT,
    broadcast TEXT,                          -- groups the alerts of one broadcast to a filtered group
    created_at REAL NOT NULL,
    sent_at REAL,
    priority INTEGER GENERATED ALWAYS AS (CASE level WHEN 'alta' THEN 0 WHEN 'media' THEN 1 ELSE 2 END) VIRTUAL
);
-- A claim walks these in hand-out order and stops at its limit: it never scans the queue.
CREATE INDEX alerts_pending_in_order ON alerts(priority, next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX alerts_claimed_by_lease ON alerts(lease_until) WHERE status = 'claimed';
CREATE TABLE answer_cache (
    question_key TEXT NOT NULL,
    domain TEXT NOT NULL,
    answer TEXT NOT NULL,                    -- model_output JSON
    created_at REAL NOT NULL,
    PRIMARY KEY (question_key, domain)
);
CREATE TABLE model_calls (
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    calls INTEGER NOT NULL,
    PRIMARY KEY (contact_id, day)
);
"""),
    (2, "admin users", """
CREATE TABLE admin_users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,             -- werkzeug.security (scrypt); never the password
    created_at REAL NOT NULL,
    last_login_at REAL
);
"""),
    (3, "scheduled job runs", """
CREATE TABLE job_runs (
    name TEXT PRIMARY KEY,                   -- plug-in name + '.' + job name
    next_run_at REAL NOT NULL,
    last_started_at REAL,
    last_finished_at REAL,
    last_error TEXT
);
"""),
    # The seed's split between large- and small-model calls: each endpoint has its own daily count.
    (4, "model calls per endpoint", """
CREATE TABLE model_calls_per_endpoint (
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    endpoint TEXT NOT NULL,                  -- 'model' (primary, large) or 'secondary' (small)
    calls INTEGER NOT NULL,
    PRIMARY KEY (contact_id, day, endpoint)
);
INSERT INTO model_calls_per_endpoint (contact_id, day, endpoint, calls)
    SELECT contact_id, day, 'model', calls FROM model_calls;
DROP TABLE model_calls;
ALTER TABLE model_calls_per_endpoint RENAME TO model_calls;
"""),
    (5, "admin login throttle", """
CREATE TABLE admin_login_failures (
    key TEXT PRIMARY KEY,                    -- lower-cased username + '|' + remote address
    failures INTEGER NOT NULL,
    window_started_at REAL NOT NULL
);
"""),
    # What the provider says after accepting an alert (WhatsApp status webhooks): delivered, read,
    # or failed later (e.g. the number is not on WhatsApp).
    (6, "alert delivery status", """
ALTER TABLE alerts ADD COLUMN provider_message_id TEXT;
ALTER TABLE alerts ADD COLUMN delivery_status TEXT;
ALTER TABLE alerts ADD COLUMN delivery_error TEXT;
ALTER TABLE alerts ADD COLUMN delivery_updated_at REAL;
CREATE UNIQUE INDEX alerts_by_provider_message_id ON alerts(provider_message_id)
    WHERE provider_message_id IS NOT NULL;
"""),
    # Alerts may carry a picture (a runner's progress card): PNG bytes, served to bridges at
    # GET /alerts/<id>/image.
    (7, "alert images", """
ALTER TABLE alerts ADD COLUMN image BLOB;
"""),
    # Changes to a user's data wait for their «sí» (pending_actions), and each change that ran can
    # be taken back with «deshacer» (action_log keeps what its plug-in needs to undo it).
    (8, "pending and undoable actions", """
CREATE TABLE pending_actions (
    contact_id INTEGER PRIMARY KEY REFERENCES contacts(id) ON DELETE CASCADE,
    domain TEXT NOT NULL,
    actions TEXT NOT NULL,                   -- JSON {action: arguments}, as they will run
    created_at REAL NOT NULL
);
CREATE TABLE action_log (
    id INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    domain TEXT NOT NULL,
    action TEXT NOT NULL,
    arguments TEXT NOT NULL,                 -- JSON
    undo TEXT,                               -- JSON for the plug-in's undo; NULL: cannot be undone
    created_at REAL NOT NULL,
    undone_at REAL
);
CREATE INDEX action_log_by_contact ON action_log(contact_id, id);
"""),
    # What could not be done, for the admin: a message /agent refused or failed on, a scheduled
    # job that failed for one contact (and went on with the others). One row per source and
    # subject, counted, so a message retried three times or a job failing every run is one row.
    (9, "failures", """
CREATE TABLE failures (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('message', 'job')),
    source TEXT NOT NULL,                    -- '/agent', or the job: 'running.weekly_refresh'
    subject TEXT NOT NULL,                   -- the message id or phone; 'contact 12'; '' for a whole job
    contact_id INTEGER REFERENCES contacts(id) ON DELETE CASCADE,
    detail TEXT,                             -- the message's start, what the job was doing
    error TEXT NOT NULL,
    times INTEGER NOT NULL DEFAULT 1,
    first_at REAL NOT NULL,
    last_at REAL NOT NULL,
    UNIQUE (source, subject)
);
CREATE INDEX failures_newest ON failures(last_at);
"""),
    # Onboarding asks only what the first answer needs: the question a new user asked before the
    # facts for it were known waits in contacts.first_question; profiles.sources says, per field,
    # whether the user gave it or it is still the stated default (the admin shows which).
    (10, "first question and profile sources", """
ALTER TABLE contacts ADD COLUMN first_question TEXT;
ALTER TABLE profiles ADD COLUMN sources TEXT NOT NULL DEFAULT '{}';
"""),
    # A WhatsApp voice note is kept as it came (the admin plays it back) with what was heard; the
    # transcript becomes an ordinary inbound message (message_id), so memory and recall read it.
    # Kept before transcription: a note the engine cannot read is still there for the admin.
    (11, "voice notes", """
CREATE TABLE voice_notes (
    id INTEGER PRIMARY KEY,
    wa_message_id TEXT NOT NULL UNIQUE,      -- the provider's id: a retried note is stored and heard once
    phone TEXT NOT NULL,
    contact_id INTEGER REFERENCES contacts(id) ON DELETE CASCADE,
    message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,
    mime_type TEXT NOT NULL,
    audio BLOB NOT NULL,
    bytes INTEGER NOT NULL,
    seconds REAL,                            -- the note's length, as the speech engine measured it
    transcript TEXT,                         -- NULL until heard; '' when no words were heard
    problem TEXT,                            -- why it could not be heard: empty_audio, audio_too_long...
    transcribe_ms REAL,
    created_at REAL NOT NULL,
    heard_at REAL
);
CREATE INDEX voice_notes_by_contact ON voice_notes(contact_id, id);
CREATE INDEX voice_notes_by_message ON voice_notes(message_id);
"""),
    # The officer's desk. A conversation can ask for a person (takeovers: one open at a time per
    # contact; while 'taken' the bot stays silent); users rate replies (ratings, one per reply);
    # every officer action is recorded (audit_log); accounts have roles. Officers' replies and the
    # notices about a takeover go out through the alert queue (alerts.kind, alerts.message_id), so
    # they get its leases, retries, delivery statuses and template fallback; a file (a user's data
    # export) rides on an alert as its document. A deleted contact leaves only a count.
    (12, "officer's desk", """
CREATE TABLE takeovers (
    id INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    reason TEXT NOT NULL CHECK (reason IN ('asked', 'not_understood', 'bad_rating', 'officer')),
    message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,  -- the message that asked
    status TEXT NOT NULL DEFAULT 'waiting' CHECK (status IN ('waiting', 'taken', 'returned')),
    officer TEXT,                            -- the username holding it
    requested_at REAL NOT NULL,
    taken_at REAL,
    last_activity_at REAL NOT NULL,          -- the officer's last reply (or the take): silence counts from here
    returned_at REAL,
    returned_by TEXT                         -- a username, or 'silence'
);
CREATE UNIQUE INDEX takeovers_one_open ON takeovers(contact_id) WHERE status != 'returned';
CREATE INDEX takeovers_by_status ON takeovers(status, requested_at);
CREATE TABLE ratings (
    id INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,  -- the rated reply
    value INTEGER NOT NULL CHECK (value IN (-1, 1)),
    via TEXT NOT NULL CHECK (via IN ('reaction', 'text')),
    emoji TEXT,
    reply_source TEXT,                       -- where the rated reply came from: code, model, cache, officer...
    question TEXT,                           -- the user's message the reply answered
    created_at REAL NOT NULL,
    reviewed_at REAL,
    reviewed_by TEXT,
    knowledge_id INTEGER REFERENCES knowledge(id) ON DELETE SET NULL,  -- the right answer an officer wrote
    UNIQUE (message_id)                      -- a changed reaction replaces the rating
);
CREATE INDEX ratings_by_time ON ratings(created_at);
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    officer TEXT NOT NULL,
    action TEXT NOT NULL,                    -- take_over, reply, hand_back, alert, broadcast, edit_form...
    target TEXT,                             -- what it was done to: 'takeover 3', 'form 2' (never a phone)
    contact_id INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
    detail TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX audit_log_newest ON audit_log(created_at);
CREATE TABLE erasures (
    id INTEGER PRIMARY KEY,
    domain TEXT,
    requested_via TEXT NOT NULL CHECK (requested_via IN ('chat', 'panel')),
    created_at REAL NOT NULL                 -- no contact, no phone: only that one was erased, and when
);
ALTER TABLE admin_users ADD COLUMN role TEXT NOT NULL DEFAULT 'admin' CHECK (role IN ('officer', 'admin'));
ALTER TABLE messages ADD COLUMN officer TEXT;   -- out, source 'officer': who wrote it
ALTER TABLE alerts ADD COLUMN kind TEXT NOT NULL DEFAULT 'alert'
    CHECK (kind IN ('alert', 'reply', 'notice', 'document'));
ALTER TABLE alerts ADD COLUMN message_id INTEGER REFERENCES messages(id) ON DELETE CASCADE;
ALTER TABLE alerts ADD COLUMN document BLOB;
ALTER TABLE alerts ADD COLUMN document_name TEXT;
ALTER TABLE alerts ADD COLUMN document_type TEXT;
CREATE INDEX alerts_by_message ON alerts(message_id) WHERE message_id IS NOT NULL;
CREATE INDEX messages_by_time ON messages(created_at);
CREATE INDEX contacts_by_time ON contacts(created_at);
"""),
    # Several bridges, one per WhatsApp business number, on one backend: each contact's alerts go
    # out through the number the contact last wrote to (WhatsApp refuses a free-form message from a
    # number whose 24-hour window with the person is closed). NULL: no number yet, any bridge.
    (13, "contact channel", """
ALTER TABLE contacts ADD COLUMN channel TEXT;
"""),
]


def current_version(db: Database, plugin: str | None = None) -> int:
    """The core schema's version, or a domain plug-in's (each plug-in numbers its own tables)."""
    db.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
               "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)")
    db.execute("CREATE TABLE IF NOT EXISTS plugin_migrations (plugin TEXT NOT NULL, version INTEGER NOT NULL, "
               "name TEXT NOT NULL, applied_at REAL NOT NULL, PRIMARY KEY (plugin, version))")
    if plugin is None:
        row = db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    else:
        row = db.execute("SELECT MAX(version) FROM plugin_migrations WHERE plugin = ?", (plugin,)).fetchone()
    return row[0] or 0


def migrate(db: Database, migrations: list[tuple[int, str, str | dict]] | None = None,
            plugin: str | None = None) -> list[int]:
    """Apply what is missing of the core schema (or of one plug-in's tables, when `plugin` names
    it); return the versions applied now."""
    applied = []
    with transaction(db) as connection:  # creates the bookkeeping tables, once for racing starts
        current_version(connection)
    for version, name, sql in MIGRATIONS if migrations is None else migrations:
        # Checked inside the write transaction: gunicorn workers (and other machines) start together
        # and each migrates.
        with transaction(db) as connection:
            if version <= current_version(connection, plugin):
                continue
            for statement in statements_for(db.dialect, sql, core_version=None if plugin else version):
                connection.execute(statement)
            if plugin is None:
                connection.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                                   (version, name, now()))
            else:
                connection.execute("INSERT INTO plugin_migrations (plugin, version, name, applied_at) "
                                   "VALUES (?, ?, ?, ?)", (plugin, version, name, now()))
        log.info("migration applied", extra={"version": version, "migration": name, "plugin": plugin})
        applied.append(version)
    return applied
