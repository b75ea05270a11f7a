"""Answers users rated: the bad ones first, with the question they answered and where the answer
came from (code, model, cache, officer), to review. Writing the right answer adds it to the
knowledge base (backend/ratings.review), where the next such question finds it."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _

from admin.auth import PanelView
from admin.forms import CSRF_PROBLEM, ActionForm, RightAnswerForm
from admin.paging import Keyset, keyset_page
from admin.views.base import choice_arg
from backend import ratings
from backend.store.database import transaction

VALUES = {"bad": -1, "good": 1}
REVIEWS = ("to_review", "reviewed")


class RatingsView(PanelView):
    @expose("/")
    def index(self):
        db = self.store.db
        value = choice_arg("value", tuple(VALUES)) or ("bad" if "value" not in request.args else "")
        review = choice_arg("review", REVIEWS) or ("to_review" if "review" not in request.args else "")
        where, params = [], []
        if value:
            where.append("r.value = ?")
            params.append(VALUES[value])
        if review:
            where.append("r.reviewed_at IS NULL" if review == "to_review" else "r.reviewed_at IS NOT NULL")
        page = keyset_page(db, "SELECT r.id, r.value, r.via, r.emoji, r.reply_source, r.question, r.created_at, "
                               "r.reviewed_at, r.reviewed_by, r.knowledge_id, m.body AS reply, m.officer, "
                               "c.id AS contact_id, c.phone, c.domain FROM ratings r "
                               "JOIN messages m ON m.id = r.message_id JOIN contacts c ON c.id = r.contact_id",
                           where, params, Keyset("r.id"))
        counts = dict(db.execute("SELECT value, COUNT(*) FROM ratings GROUP BY value").fetchall())
        return self.render("chasqui/ratings.html", page=page, ratings=page.rows, value=value, review=review,
                           counts={"bad": counts.get(-1, 0), "good": counts.get(1, 0)}, form=ActionForm(),
                           answer_form=RightAnswerForm())

    @expose("/<int:rating_id>/review", methods=("POST",))
    def review(self, rating_id: int):
        """'Reviewed', or the right answer written (title and body): into the knowledge base."""
        writing = "body" in request.form
        form = RightAnswerForm(request.form) if writing else ActionForm(request.form)
        if not form.validate():
            flash(str(CSRF_PROBLEM) if form.csrf_failed else _("Write a title and the answer."), "error")
            return self.index(), 400
        try:
            with transaction(self.store.db) as connection:
                knowledge_id = ratings.review(connection, rating_id, self.signed_in_admin(),
                                              form.title.data if writing else None, form.body.data if writing else None)
        except LookupError:
            flash(_("There is no such rating."), "error")
            return self.index(), 404
        flash(_("Added to the knowledge base: the next such question finds it.") if knowledge_id
              else _("Marked as reviewed."), "info")
        return redirect(url_for(".index"))
