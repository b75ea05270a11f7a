"""Failures: what Chasqui could not do — messages /agent refused or failed on, and scheduled jobs
that failed as a whole or for one contact (the others went on) — plus each job's last run. Paged
by (last_at, id) on the failures_newest index: a failure that happens again moves to the top."""
from __future__ import annotations

from flask_admin import expose

from admin.auth import PanelView
from admin.paging import Keyset, keyset_page
from admin.views.base import choice_arg

KINDS = ("message", "job")


class FailuresView(PanelView):
    @expose("/")
    def index(self):
        db = self.store.db
        kind = choice_arg("kind", KINDS)
        where, params = (["f.kind = ?"], [kind]) if kind else ([], [])
        page = keyset_page(db, "SELECT f.id, f.kind, f.source, f.subject, f.detail, f.error, f.times, f.first_at, "
                               "f.last_at, c.id AS contact_id, c.phone FROM failures f "
                               "LEFT JOIN contacts c ON c.id = f.contact_id", where, params,
                           Keyset("f.id", "f.last_at", lambda cursor: _last_at(db, cursor)))
        counts = dict(db.execute("SELECT kind, COUNT(*) FROM failures GROUP BY kind").fetchall())
        jobs = list(db.query("SELECT name, last_started_at, last_finished_at, last_error, next_run_at "
                             "FROM job_runs ORDER BY name"))
        return self.render("chasqui/failures.html", page=page, failures=page.rows, kind=kind, kinds=KINDS, counts=counts, jobs=jobs)


def _last_at(db, failure_id: int) -> float | None:
    row = db.execute("SELECT last_at FROM failures WHERE id = ?", (failure_id,)).fetchone()
    return row[0] if row else None
