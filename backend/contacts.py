"""Contacts and their domain profiles (the fields a domain plug-in declares, kept as JSON)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from backend.store.database import Database, now

LATER_PREFIX = "later:"  # onboarding_step while a question asked after the first answer waits


@dataclass
class Contact:
    id: int
    phone: str
    name: str | None
    domain: str | None
    language: str
    timezone: str
    opted_out: bool
    onboarding_step: str | None
    profile: dict = field(default_factory=dict)
    # field -> "answered" (the user said it) or "default" (stated by Chasqui, to be corrected any time)
    sources: dict = field(default_factory=dict)
    first_question: str | None = None  # asked during onboarding, answered once its facts are known

    @property
    def onboarded(self) -> bool:
        """True once the first answer came; a question asked later ("later:<field>") is no onboarding."""
        return self.onboarding_step is None or self.onboarding_step.startswith(LATER_PREFIX)

    def local_now(self) -> datetime:
        """Now where the contact lives: days, Sundays and 23:00 are theirs, not the server's."""
        return datetime.now(ZoneInfo(self.timezone))

    def local_today(self) -> date:
        return self.local_now().date()


_SELECT = ("SELECT c.id, c.phone, c.name, c.domain, c.language, c.timezone, c.opted_out, c.onboarding_step, p.data, "
           "p.sources, c.first_question FROM contacts c LEFT JOIN profiles p ON p.contact_id = c.id")


def _from_row(row) -> Contact:
    return Contact(id=row[0], phone=row[1], name=row[2], domain=row[3], language=row[4], timezone=row[5],
                   opted_out=bool(row[6]), onboarding_step=row[7], profile=json.loads(row[8] or "{}"),
                   sources=json.loads(row[9] or "{}"), first_question=row[10])


def find_contact(db: Database, phone: str) -> Contact | None:
    row = db.execute(f"{_SELECT} WHERE c.phone = ?", [phone]).fetchone()
    return _from_row(row) if row is not None else None


def contacts_of_domain(db, domain: str, settled: bool = True, reachable: bool = False) -> list[Contact]:
    """The contacts of a domain, oldest first: `settled` only those with no onboarding question
    pending, `reachable` only those who have not opted out of alerts."""
    where = ["c.domain = ?"]
    if settled:
        where.append("c.onboarding_step IS NULL")
    if reachable:
        where.append("c.opted_out = 0")
    return [_from_row(row) for row in db.execute(f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY c.id", [domain])]


def joined_at(db, contact_id: int) -> float:
    """When the contact wrote first (Unix seconds)."""
    return db.execute("SELECT created_at FROM contacts WHERE id = ?", (contact_id,)).fetchone()[0]


def phones_and_names(db, contact_ids) -> dict[int, tuple[str, str | None]]:
    ids = sorted(set(contact_ids))
    if not ids:
        return {}
    rows = db.execute(f"SELECT id, phone, name FROM contacts WHERE id IN ({','.join('?' * len(ids))})", ids)
    return {row[0]: (row[1], row[2]) for row in rows}


def create_contact(db: Database, phone: str, onboarding_step: str | None) -> Contact:
    """Inside the caller's transaction; a concurrent first message from the same phone loses the
    UNIQUE race and finds the contact the other one created."""
    stamp = now()
    db.execute("INSERT INTO contacts (phone, onboarding_step, created_at, updated_at) VALUES (?, ?, ?, ?) "
               "ON CONFLICT DO NOTHING",
               [phone, onboarding_step, stamp, stamp])
    return find_contact(db, phone)


def update_contact(db: Database, contact: Contact, **columns) -> None:
    allowed = {"name", "domain", "language", "timezone", "opted_out", "onboarding_step", "first_question"}
    unknown = set(columns) - allowed
    if unknown:
        raise ValueError(f"not contact columns: {sorted(unknown)}")
    assignments = ", ".join(f"{name} = ?" for name in columns)
    # opted_out is an INTEGER column: PostgreSQL does not take a boolean for it.
    values = [int(value) if name == "opted_out" else value for name, value in columns.items()]
    db.execute(f"UPDATE contacts SET {assignments}, updated_at = ? WHERE id = ?", [*values, now(), contact.id])
    for name, value in columns.items():
        setattr(contact, name, bool(value) if name == "opted_out" else value)


def note_channel(db: Database, contact_id: int, channel: str) -> None:
    """The business number the contact wrote to now: their alerts go out through its bridge (a
    free-form message from another number would fall outside the person's 24-hour window)."""
    db.execute("UPDATE contacts SET channel = ? WHERE id = ? AND (channel IS NULL OR channel <> ?)",
               (channel, contact_id, channel))


def save_profile(db: Database, contact: Contact, updates: dict, source: str = "answered") -> None:
    """`source` marks the updated fields: "answered" (the user's words) or "default" (stated by us)."""
    contact.profile = {**contact.profile, **updates}
    contact.sources = {**contact.sources, **{name: source for name in updates}}
    db.execute(
        "INSERT INTO profiles (contact_id, domain, data, sources, updated_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(contact_id) DO UPDATE SET domain = excluded.domain, data = excluded.data, "
        "sources = excluded.sources, updated_at = excluded.updated_at",
        [contact.id, contact.domain or "", json.dumps(contact.profile, ensure_ascii=False),
         json.dumps(contact.sources), now()])
