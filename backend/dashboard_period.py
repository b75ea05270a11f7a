"""The date range a dashboard figure covers, in the deployment's days.

Times are stored as Unix seconds; people count in local days. The zone is CHASQUI_TIMEZONE (the
backend's settings had none yet), default America/Lima: a message at 23:30 in Lima is that day's,
not the next UTC day's. The day of a row is computed in SQL, `day_sql(column)`, as a plain
arithmetic expression on the column: it keeps SQLite on its covering indexes, where a Python
function called for each of half a million rows would cost more than the whole page
(bench/dashboard.py). Zones with summer time get one CASE branch per offset in force over the
range (two or three a year), so the expression stays exact across the changes.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chasqui.env import env_str

log = logging.getLogger(__name__)

TIMEZONE_SETTING = "CHASQUI_TIMEZONE"
DEFAULT_TIMEZONE = "America/Lima"
DEFAULT_DAYS = 30
MAX_DAYS = 366
_EPOCH = date(1970, 1, 1)
_DOMAIN = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class BadPeriod(ValueError):
    """A query parameter that does not make a range; `param` names it."""

    def __init__(self, message: str, param: str):
        super().__init__(message)
        self.message, self.param = message, param


def deployment_zone() -> ZoneInfo:
    name = env_str(TIMEZONE_SETTING) or DEFAULT_TIMEZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone; using the default", extra={"setting": TIMEZONE_SETTING, "value": name,
                                                                    "default": DEFAULT_TIMEZONE})
        return ZoneInfo(DEFAULT_TIMEZONE)


def local_midnight(day: date, zone: ZoneInfo) -> float:
    return datetime.combine(day, time(), tzinfo=zone).timestamp()


@dataclass(frozen=True)
class Period:
    first: date
    last: date  # included
    domain: str | None
    zone: ZoneInfo

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(n) for n in range((self.last - self.first).days + 1)]

    @property
    def start_s(self) -> float:
        return local_midnight(self.first, self.zone)

    @property
    def end_s(self) -> float:
        """The first instant after the range (the next day's local midnight)."""
        return local_midnight(self.last + timedelta(1), self.zone)

    def since_s(self, days: int) -> float:
        """The start of the last `days` days of the range, `last` included."""
        return local_midnight(self.last - timedelta(days - 1), self.zone)

    def day_sql(self, column: str, dialect: str = "sqlite") -> str:
        """SQL for the local day of `column` (Unix seconds) as days since 1970-01-01, for the
        engine `dialect` names (Database.dialect)."""
        changes = _offsets(self.start_s - 2 * 86400, self.end_s + 2 * 86400, self.zone)
        if len(changes) == 1:
            offset = f"{changes[0][1]:+d}"
        else:
            branches = " ".join(f"WHEN {column} < {until} THEN {offset}" for until, offset in changes[:-1])
            offset = f"+ CASE {branches} ELSE {changes[-1][1]} END"
        if dialect == "postgresql":  # its CAST of a double to an integer rounds; SQLite's truncates
            return f"CAST(floor(({column} {offset}) / 86400) AS INTEGER)"
        return f"CAST(({column} {offset}) / 86400 AS INTEGER)"

    def as_dict(self) -> dict:
        return {"from": self.first.isoformat(), "to": self.last.isoformat(), "domain": self.domain,
                "timezone": self.zone.key}


def day_of(number: int) -> date:
    """The date of a day_sql() value."""
    return _EPOCH + timedelta(number)


def day_number(day: date) -> int:
    return (day - _EPOCH).days


def today(zone: ZoneInfo) -> date:
    return datetime.now(zone).date()


def default_period(zone: ZoneInfo, domain: str | None = None, last: date | None = None) -> Period:
    last = last or today(zone)
    return Period(last - timedelta(DEFAULT_DAYS - 1), last, domain, zone)


def parse_period(args: Mapping[str, str], domains: Iterable[str], zone: ZoneInfo | None = None,
                 now: date | None = None) -> Period:
    """`from`, `to` (YYYY-MM-DD, both included) and `domain` from a query string. Missing dates
    default to the last 30 days up to today; raises BadPeriod for anything else that is wrong."""
    zone = zone or deployment_zone()
    last = _date(args.get("to"), "to") or now or today(zone)
    first = _date(args.get("from"), "from") or last - timedelta(DEFAULT_DAYS - 1)
    if first > last:
        raise BadPeriod(f"'from' ({first}) is after 'to' ({last})", "from")
    if (last - first).days + 1 > MAX_DAYS:
        raise BadPeriod(f"the range covers {(last - first).days + 1} days; at most {MAX_DAYS}", "from")
    domain = (args.get("domain") or "").strip() or None
    if domain is not None and (not _DOMAIN.fullmatch(domain) or domain not in set(domains)):
        raise BadPeriod(f"'domain' must be one of the contacts' domains: {', '.join(sorted(domains)) or 'none yet'}",
                        "domain")
    return Period(first, last, domain, zone)


def _date(raw: str | None, param: str) -> date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise BadPeriod(f"'{param}' must be a date written YYYY-MM-DD, not {raw[:40]!r}", param) from None


def _offsets(start_s: float, end_s: float, zone: ZoneInfo) -> list[tuple[int, int]]:
    """[(until, offset_s)]: the UTC offset in force before each instant `until` (the last one's
    `until` is unused). Offsets are sampled daily (changes are months apart), and each change is
    found to the second by bisection."""
    def offset(at: int) -> int:
        return int(datetime.fromtimestamp(at, timezone.utc).astimezone(zone).utcoffset().total_seconds())

    at, current = int(start_s), offset(int(start_s))
    changes: list[tuple[int, int]] = []
    while at < end_s:
        following = at + 86400
        if offset(following) != current:
            low, high = at, following  # offset(low) == current != offset(high)
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if offset(middle) == current else (low, middle)
            changes.append((high, current))
            current = offset(high)
        at = following
    changes.append((int(end_s), current))
    return changes
