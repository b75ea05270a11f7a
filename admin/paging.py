"""Paging for every list of the panel: all rows are reachable, one page at a time.

Big tables (messages, alerts, the audit log, voice notes, failures, contacts) page by *keyset*:
newest first by (sort column, id), and the next page is `?before=<id of the last row shown>`
(`?after=` goes back towards the newest, `?oldest=1` jumps to the end, `?at=<id>` is the page
that starts with that row: a search result shown in its conversation). Each page is then an
index range read of PAGE_SIZE + 1 rows however deep it is, where `LIMIT ... OFFSET` walks every
skipped row (on 1M messages: OFFSET 900,000 took 32 ms of SQL, the keyset page under 0.1 ms; see
bench/admin_lists.py). There are no exact totals on those lists: COUNT(*) over a million rows is
itself a scan (6 ms for 1M messages, more as they grow, on every page view).

Small tables (forms, knowledge, accounts) and the conversations list, whose order (last
activity) is computed and cannot be a keyset, use `?page=N` with a cheap total.

A parameter that is not a page (`?page=abc`, `?before=-1`, a cursor whose row was deleted, a page
past the end) is never an error: the first page is shown with a notice that says why.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import request, url_for
from flask_babel import gettext as _

from chasqui.http_input import row_id
from backend.store.database import Database

PAGE_SIZE = 50
MAX_PAGE = 2_000  # ?page= deeper than this is refused: OFFSET reads every row it skips
PAGING_ARGS = ("before", "at", "after", "oldest", "page")


@dataclass
class Page:
    rows: list[dict]
    newest_url: str | None = None   # each None when there is no such page (the link is shown disabled)
    newer_url: str | None = None
    older_url: str | None = None
    oldest_url: str | None = None
    notice: str | None = None       # why the page asked for is not the one shown
    number: int | None = None       # offset paging only: this page's number, and how many there are
    pages: int | None = None


@dataclass(frozen=True)
class Keyset:
    """A list's order, newest first: by `sort_column` then `id_column` (ties, and the cursor), or
    by the id alone. `sort_of(id)` gives a cursor row's sort value, None when it is gone.
    `read(db, cursor_conditions, their_params, descending, limit)`, when given, reads the rows
    itself (admin/message_search.py on PostgreSQL), in the order asked."""
    id_column: str
    sort_column: str | None = None
    sort_of: Callable[[int], object] | None = None
    read: Callable[[Database, list[str], list, bool, int], list[dict]] | None = None


def page_url(**changes) -> str:
    """This page's URL with its filters kept and the paging arguments replaced."""
    args = {k: v for k, v in request.args.items() if k not in PAGING_ARGS and v != ""}
    args.update({k: v for k, v in changes.items() if v is not None})
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def keyset_page(db: Database, select: str, where: list[str], params: list, keyset: Keyset,
                size: int = PAGE_SIZE) -> Page:
    """`select` is 'SELECT ... FROM ...' naming the id column `id`; `where` its conditions (ANDed)."""
    mode, cursor, notice = _cursor()
    key: list = []
    if cursor is not None:
        if keyset.sort_column is None:
            key = [cursor]
        else:
            sort_value = keyset.sort_of(cursor)
            if sort_value is None:
                cursor, mode, notice = None, "first", _("That page no longer exists: showing the newest rows.")
            else:
                key = [sort_value, cursor]
    columns = [c for c in (keyset.sort_column, keyset.id_column) if c]
    row_value = f"({', '.join(columns)}) %s ({', '.join('?' * len(columns))})"

    def fetch(extra: list[str], extra_params: list, descending: bool) -> list[dict]:
        if keyset.read is not None:
            return keyset.read(db, extra, extra_params, descending, size + 1)
        conditions = where + extra
        order = ", ".join(f"{c} {'DESC' if descending else 'ASC'}" for c in columns)
        sql = f"{select}{' WHERE ' + ' AND '.join(conditions) if conditions else ''} ORDER BY {order} LIMIT ?"
        return list(db.query(sql, [*params, *extra_params, size + 1]))

    if mode == "after":
        rows = fetch([row_value % ">"], key, descending=False)
        if len(rows) > size:
            rows = rows[:size][::-1]
            return Page(rows, newest_url=page_url(), newer_url=page_url(after=rows[0]["id"]),
                        older_url=page_url(before=rows[-1]["id"]), oldest_url=page_url(oldest=1))
        mode = "first"  # fewer than a page newer than the cursor: that is the newest page
    if mode == "oldest":
        rows = fetch([], [], descending=False)
        if not rows:
            return Page([])
        more = len(rows) > size
        rows = rows[:size][::-1]
        return Page(rows, newest_url=page_url() if more else None,
                    newer_url=page_url(after=rows[0]["id"]) if more else None)
    paged = mode in ("before", "at")
    rows = fetch([row_value % ("<" if mode == "before" else "<=")] if paged else [], key if paged else [],
                 descending=True)
    if paged and not rows:
        notice = _("There is nothing older: showing the newest rows.")
        mode, rows = "first", fetch([], [], descending=True)
    more = len(rows) > size
    rows = rows[:size]
    paged = mode != "first"
    return Page(rows, newest_url=page_url() if paged else None,
                newer_url=page_url(after=rows[0]["id"]) if paged else None,
                older_url=page_url(before=rows[-1]["id"]) if more else None,
                oldest_url=page_url(oldest=1) if more else None, notice=notice)


def offset_page(db: Database, sql: str, params: list, total: int, size: int = PAGE_SIZE) -> Page:
    """`sql` is a whole ordered query without LIMIT; `total` how many rows it has (a cheap count)."""
    pages = max(1, -(-total // size))
    number, notice = _page_number()
    if number > pages:
        notice = _("There is no page %(number)s (there are %(pages)s): showing the first.", number=number,
                   pages=pages)
        number = 1
    rows = list(db.query(f"{sql} LIMIT ? OFFSET ?", [*params, size, (number - 1) * size]))
    return Page(rows, newest_url=page_url() if number > 1 else None,
                newer_url=page_url(page=number - 1) if number > 1 else None,
                older_url=page_url(page=number + 1) if number < pages else None,
                oldest_url=page_url(page=pages) if number < pages else None,
                notice=notice, number=number, pages=pages)


def _cursor() -> tuple[str, int | None, str | None]:
    """(mode, cursor id, notice): mode is first, before, at (that row and older), after or oldest."""
    for mode in ("before", "at", "after"):
        raw = request.args.get(mode)
        if raw is None:
            continue
        cursor = row_id(raw.strip())
        if cursor is None or cursor == 0:
            return "first", None, _("%(value)r is not a page: showing the newest rows.", value=raw[:40])
        return mode, cursor, None
    if request.args.get("oldest"):
        return "oldest", None, None
    return "first", None, None


def _page_number() -> tuple[int, str | None]:
    raw = request.args.get("page")
    if raw is None or raw == "":
        return 1, None
    number = row_id(raw.strip())
    if number is None or not 1 <= number <= MAX_PAGE:
        return 1, _("%(value)r is not a page number: showing the first page.", value=raw[:40])
    return number, None
