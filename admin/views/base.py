"""What the panel's views have in common: bind the posted data (or the stored values on a GET), say
plainly why a post was refused, and read a list's search and filters from the query string
(a value that is no filter is dropped with a warning, never a 500)."""
from __future__ import annotations

from typing import TypeVar

from flask import flash, request
from flask_babel import gettext as _

from admin.forms import CSRF_PROBLEM, PanelForm

FormT = TypeVar("FormT", bound=PanelForm)
PAGE_ROWS = 200  # superseded by admin.paging (every list pages through all rows); kept for old imports


def bind_form(form_class: type[FormT], **stored) -> FormT:
    """On POST the submitted values, on GET the stored ones (so a refused post keeps what was typed)."""
    if request.method == "POST":
        return form_class(request.form)
    return form_class(data=stored)


def refuse(form: PanelForm, problem: str | None = None) -> None:
    """Flash why nothing was saved; the fields' own errors are shown next to them."""
    if form.csrf_failed:
        flash(str(CSRF_PROBLEM), "error")
    else:
        flash(_("Nothing was saved: %(problem)s", problem=problem or _("fix the fields marked below.")), "error")


def escape_like(text: str) -> str:
    """A search string for LIKE ... ESCAPE '\\', with its own % and _ taken literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


MAX_SEARCH_CHARS = 100


def search_arg(name: str = "q") -> str:
    """A search box's text, trimmed (a pasted essay is cut, not an error)."""
    return request.args.get(name, "").strip()[:MAX_SEARCH_CHARS]


def choice_arg(name: str, allowed) -> str:
    """A filter's value when it is one of `allowed`; otherwise "" (no filter), and the page says why."""
    value = request.args.get(name, "")
    if value and value not in allowed:
        flash(_("%(value)r is not a %(name)s to filter by: showing all.", value=value[:40], name=name), "warning")
        return ""
    return value


