"""What the core gives the domain plug-ins, in one object: `core` (as Datasette hands its plug-ins
the `datasette` object). A plug-in imports this module, the plug-in types (backend.plugins.base),
the understanding types (backend.understanding.intents) and the shared text helpers
(backend.text, backend.spanish), and nothing else of the core; it never writes SQL against the
core's tables (contacts, profiles, form submissions, alerts, knowledge) — only its own. The
import-linter contract in pyproject.toml keeps it so (tests/test_plugin_boundary.py runs it).

Why: the core's tables are the core's to change, and a plug-in written against these calls keeps
working. Each call takes a `Database` handle (backend/store/database.py, re-exported here): the
one the core gave the hook (`db`), or the one `with core.transaction(db) as connection:` opened,
so the plug-in's writes commit with the core's. The handle is the same on SQLite and PostgreSQL
(`?` placeholders, `insert()` for a new row's id, `dialect` where the engines truly differ), and
a plug-in's own SQL is written so that both engines read it. Each call is a thin door to the
core module that owns the table; nothing is implemented twice."""
from __future__ import annotations

from pathlib import Path

from backend import contacts as _contacts
from backend import failures as _failures
from backend import forms as _forms
from backend import http_input as _http_input
from backend import knowledge as _knowledge
from backend.alerts import repository as _alerts
from backend.contacts import Contact
from backend.phones import InvalidPhone, normalize_phone
from backend.store import database as _database
from backend.store.database import Database, Store

__all__ = ["core", "Contact", "Database", "InvalidPhone", "Store"]


class Core:
    # -- the database ---------------------------------------------------------------------------
    @staticmethod
    def transaction(db):
        """`with core.transaction(db) as connection:` one write transaction. Never nested: a hook
        given a connection is inside one already."""
        return _database.transaction(db)

    now = staticmethod(_database.now)  # Unix seconds, as every table stores times

    @staticmethod
    def database_folder(db) -> Path:
        """Where a plug-in keeps its caches (weather, geocoding): the SQLite file's folder, or
        CHASQUI_HOME on PostgreSQL."""
        return _database.database_folder(db)

    # -- contacts and profiles ------------------------------------------------------------------
    normalize_phone = staticmethod(normalize_phone)

    @staticmethod
    def find_contact(db, phone: str) -> Contact | None:
        return _contacts.find_contact(db, phone)

    @staticmethod
    def contacts(db, domain: str, *, settled: bool = True, reachable: bool = False) -> list[Contact]:
        """The domain's contacts, oldest first: `settled` with no onboarding question pending,
        `reachable` not opted out of alerts."""
        return _contacts.contacts_of_domain(db, domain, settled, reachable)

    @staticmethod
    def joined_at(db, contact: Contact) -> float:
        return _contacts.joined_at(db, contact.id)

    @staticmethod
    def phones_and_names(db, contact_ids) -> dict[int, tuple[str, str | None]]:
        return _contacts.phones_and_names(db, contact_ids)

    @staticmethod
    def save_profile(db, contact: Contact, updates: dict, source: str = "answered") -> None:
        """`source`: "answered" (the user's words) or "default" (stated by Chasqui)."""
        _contacts.save_profile(db, contact, updates, source)

    # -- forms ----------------------------------------------------------------------------------
    @staticmethod
    def save_submission(db, form: str, contact_id: int, data: dict, source: str) -> int:
        return _forms.save_submission(db, form, contact_id, data, source)

    @staticmethod
    def delete_submission(db, contact_id: int, submission_id: int) -> None:
        _forms.delete_submission(db, contact_id, submission_id)

    @staticmethod
    def submissions(db, form: str, contact_id: int | None = None) -> list[tuple]:
        """(submission id, contact id, data as stored: JSON text) of one form, oldest first."""
        return _forms.submissions(db, form, contact_id)

    @staticmethod
    def count_submissions(db, form: str, contact_id: int) -> int:
        return _forms.count_submissions(db, form, contact_id)

    # -- alerts and failures --------------------------------------------------------------------
    InvalidAlert = _alerts.InvalidAlert

    @staticmethod
    def add_alert(db, contact_id: int, message: str, level: str, image: bytes | None = None,
                  broadcast: str | None = None) -> int:
        """An alert for one contact, in the caller's transaction (`image`: PNG bytes, the caption `message`)."""
        return _alerts.add_alert(db, contact_id, message, level, image, broadcast)

    @staticmethod
    def contained(db, job: str, contact_id: int, doing: str | None = None, connection=None):
        """`with core.contained(...):` one contact's share of a job; a failure is logged and shown
        to the admin, never raised (inside `connection`'s transaction, its writes are undone)."""
        return _failures.contained(db, job, contact_id, doing, connection)

    # -- knowledge ------------------------------------------------------------------------------
    @staticmethod
    def replace_knowledge(db, domain: str, source: str, entries) -> None:
        """The knowledge texts of one source become `entries` (title -> body), in the caller's transaction."""
        _knowledge.replace_source(db, domain, source, entries)

    # -- HTTP routes ----------------------------------------------------------------------------
    json_object = staticmethod(_http_input.json_object)
    domain_contact = staticmethod(_http_input.domain_contact)


core = Core()
