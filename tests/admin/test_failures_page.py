"""The panel's «Failures» page shows what could not be done: messages and jobs, with each job's
last run."""
from __future__ import annotations

from backend import failures


def test_failures_of_messages_and_jobs_are_listed_with_the_contact_and_filterable(signed_in, db):
    failures.record(db, "message", "/agent", "TypeError: boom", "wamid.X1", contact_id=1, detail="¿Cuándo riego?")
    failures.record(db, "job", "agro.pest_signal", "ValueError: bad plot <b>", "contact 2", contact_id=2)
    db.execute("INSERT INTO job_runs (name, next_run_at, last_started_at, last_finished_at, last_error) "
               "VALUES ('agro.pest_signal', 2e9, 1.7e9, 1.7e9, 'RuntimeError: geocoder down')")
    page = signed_in.get("/admin/failures/")
    assert page.status_code == 200
    html = page.text
    assert "wamid.X1" in html and "¿Cuándo riego?" in html and "+51987000001" in html
    assert "ValueError: bad plot &lt;b&gt;" in html  # escaped, never markup
    assert "RuntimeError: geocoder down" in html
    only_jobs = signed_in.get("/admin/failures/?kind=job").text
    assert "bad plot" in only_jobs and "wamid.X1" not in only_jobs


def test_the_failures_page_needs_a_login(client):
    assert client.get("/admin/failures/").status_code in (302, 401, 403)
