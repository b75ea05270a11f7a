"""What the panel's form handling has in common: bind the posted data (or the stored values on a
GET), and say plainly why a post was refused."""
from __future__ import annotations

from typing import TypeVar

from flask import flash, request

from admin.forms import CSRF_PROBLEM, PanelForm

FormT = TypeVar("FormT", bound=PanelForm)
PAGE_ROWS = 200  # the newest rows a list shows; more would need paging, which nobody needs yet


def bind_form(form_class: type[FormT], **stored) -> FormT:
    """On POST the submitted values, on GET the stored ones (so a refused post keeps what was typed)."""
    if request.method == "POST":
        return form_class(request.form)
    return form_class(data=stored)


def refuse(form: PanelForm, problem: str | None = None) -> None:
    """Flash why nothing was saved; the fields' own errors are shown next to them."""
    if form.csrf_failed:
        flash(CSRF_PROBLEM, "error")
    else:
        flash(f"Nothing was saved: {problem or 'fix the fields marked below.'}", "error")


def escape_like(text: str) -> str:
    """A search string for LIKE ... ESCAPE '\\', with its own % and _ taken literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
