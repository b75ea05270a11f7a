"""Phone numbers as WhatsApp sends them, in one canonical form (E.164: + and 8 to 15 digits)."""
from __future__ import annotations

import re

_WHATSAPP_WEB_SUFFIXES = ("@c.us", "@s.whatsapp.net")
_E164 = re.compile(r"^\+[1-9]\d{7,14}$", re.ASCII)  # "５１…" or "٥١…" would be contacts nobody can message


class InvalidPhone(ValueError):
    pass


def normalize_phone(raw: object) -> str:
    """'51987654321@c.us', '+51 987 654 321' and '51987654321' all become '+51987654321'."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidPhone("'phone' must be a non-empty string")
    phone = raw.strip()
    for suffix in _WHATSAPP_WEB_SUFFIXES:
        if phone.endswith(suffix):
            phone = phone[: -len(suffix)]
    phone = re.sub(r"[\s().-]", "", phone)
    if not phone.startswith("+"):
        phone = "+" + phone
    if not _E164.match(phone):
        raise InvalidPhone(f"'{raw}' is not a phone number in international form (country code and number)")
    return phone
