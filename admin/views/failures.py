"""Failures: what Chasqui could not do — messages /agent refused or failed on, and scheduled jobs
that failed as a whole or for one contact (the others went on) — plus each job's last run."""
from __future__ import annotations

from flask import request
from flask_admin import expose

from admin.auth import PanelView
from admin.views.base import PAGE_ROWS

KINDS = ("message", "job")


class FailuresView(PanelView):
    @expose("/")
    def index(self):
        db = self.store.db
        kind = request.args.get("kind", "")
        kind = kind if kind in KINDS else ""
        sql = ("SELECT f.kind, f.source, f.subject, f.detail, f.error, f.times, f.first_at, f.last_at, "
               "c.id AS contact_id, c.phone FROM failures f LEFT JOIN contacts c ON c.id = f.contact_id")
        params: list = []
        if kind:
            sql += " WHERE f.kind = ?"
            params.append(kind)
        rows = list(db.query(sql + " ORDER BY f.last_at DESC, f.id DESC LIMIT ?", [*params, PAGE_ROWS + 1]))
        counts = dict(db.execute("SELECT kind, COUNT(*) FROM failures GROUP BY kind").fetchall())
        jobs = list(db.query("SELECT name, last_started_at, last_finished_at, last_error, next_run_at "
                             "FROM job_runs ORDER BY name"))
        return self.render("chasqui/failures.html", failures=rows[:PAGE_ROWS], truncated=len(rows) > PAGE_ROWS,
                           kind=kind, kinds=KINDS, counts=counts, jobs=jobs)
