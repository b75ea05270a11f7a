"""The alerts this bridge holds, kept in its own SQLite file (next to the inbox), so that a
restart settles them at once instead of waiting for their leases to run out.

An alert moves: claimed (row written as the backend hands it out) -> accepted (the provider's id
written the moment the provider answers, one statement) -> reported (row deleted). A bridge that
starts again finds rows its last run left behind: an accepted one is reported sent (the phone has
it: sending it again would be a double); one never accepted is handed back (`release`, due again
at once). The only window left is between the provider accepting and that one write, microseconds
wide: a kill inside it sends the alert a second time, never loses it.
"""
from __future__ import annotations

import time

from whatsapp_bridge.inbox import Inbox

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_claims (
    alert_id INTEGER PRIMARY KEY,
    lease_token TEXT,
    claimed_at REAL NOT NULL,
    provider_message_id TEXT,                -- set when the provider accepted it
    accepted_at REAL
)
"""


class AlertClaims:
    def __init__(self, inbox: Inbox):
        self._inbox = inbox
        inbox.execute(_SCHEMA)

    def held(self, alerts: list[dict]) -> None:
        """A lease renewed (the alert handed out again after its report failed) takes the new token
        and keeps the provider's id: the phone already has that alert."""
        at = time.time()
        for alert in alerts:
            self._inbox.execute("INSERT INTO alert_claims (alert_id, lease_token, claimed_at) VALUES (?, ?, ?) "
                                "ON CONFLICT (alert_id) DO UPDATE SET lease_token = excluded.lease_token, "
                                "claimed_at = excluded.claimed_at", (alert["id"], alert.get("lease_token"), at))

    def accepted_as(self, alert_id: int) -> str | None:
        """The provider's id if the provider already accepted this alert."""
        row = self._inbox.execute("SELECT provider_message_id FROM alert_claims WHERE alert_id = ?",
                                  (alert_id,)).fetchone()
        return row[0] if row else None

    def accepted(self, alert_id: int, provider_message_id: str) -> None:
        self._inbox.execute("UPDATE alert_claims SET provider_message_id = ?, accepted_at = ? WHERE alert_id = ?",
                            (provider_message_id, time.time(), alert_id))

    def settled(self, alert_id: int) -> None:
        """Reported to the backend (sent, failed or released): nothing left to do here."""
        self._inbox.execute("DELETE FROM alert_claims WHERE alert_id = ?", (alert_id,))

    def unreported(self) -> list[tuple[int, str | None, str]]:
        """(alert id, lease token, provider id) of alerts the provider accepted but the backend
        has not heard about."""
        return self._inbox.execute("SELECT alert_id, lease_token, provider_message_id FROM alert_claims "
                                   "WHERE provider_message_id IS NOT NULL ORDER BY alert_id").fetchall()

    def never_accepted(self) -> list[tuple[int, str | None]]:
        return self._inbox.execute("SELECT alert_id, lease_token FROM alert_claims "
                                   "WHERE provider_message_id IS NULL ORDER BY alert_id").fetchall()
