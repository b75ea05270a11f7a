"""An admin page to import a runner's Garmin activities CSV (the same import as the endpoint)."""
from __future__ import annotations

from flask import flash, render_template_string, request
from flask_admin import expose
from wtforms import FileField, StringField
from wtforms.validators import DataRequired

from admin.auth import PanelView
from admin.forms import PanelForm
from admin.views.base import refuse
from backend.contacts import find_contact
from backend.phones import InvalidPhone, normalize_phone
from backend.plugins.running.facts import local_today
from backend.plugins.running.garmin_csv import CsvFormatError
from backend.plugins.running.garmin_import import MAX_FILE_BYTES, import_garmin

PAGE = """{% extends 'chasqui/layout.html' %}
{% from 'chasqui/macros.html' import field %}
{% block page_title %}<h4 class="mb-4">Import a Garmin activities CSV</h4>{% endblock %}
{% block body %}
<p class="text-muted">Garmin Connect → Activities → Export CSV. Runs already stored are skipped.</p>
<form method="post" enctype="multipart/form-data" id="garmin-form" class="col-md-6 px-0">
  {{ form.csrf_token }}
  {{ field(form.phone) }}
  {{ field(form.file) }}
  <button type="submit" class="btn btn-primary">Import</button>
</form>
{% if result %}
<div id="garmin-result" class="mt-4">
  <p><strong>{{ result.summary_es }}</strong></p>
  {% if result.refused %}<table class="table table-sm"><thead><tr><th>Line</th><th>Refused because</th></tr></thead>
  <tbody>{% for r in result.refused %}<tr><td>{{ r.line }}</td><td>{{ r.reason }}</td></tr>{% endfor %}</tbody></table>{% endif %}
</div>
{% endif %}
{% endblock %}"""


class GarminImportForm(PanelForm):
    phone = StringField("Runner's phone", [DataRequired()])
    file = FileField("Activities CSV")


class GarminImportView(PanelView):
    @expose("/", methods=("GET", "POST"))
    def index(self):
        form = GarminImportForm(request.form if request.method == "POST" else None)
        if request.method == "GET":
            return render_template_string(PAGE, form=form, result=None, **self._page_context())
        problem, status, result = self._import(form)
        if problem:
            refuse(form, problem)
        else:
            flash(result["summary_es"], "success")
        return render_template_string(PAGE, form=form, result=result, **self._page_context()), status

    def _import(self, form: GarminImportForm) -> tuple[str | None, int, dict | None]:
        if not form.validate():
            return None if form.csrf_failed else "enter the runner's phone.", 400, None
        try:
            contact = find_contact(self.store.db, normalize_phone(form.phone.data))
        except InvalidPhone as error:
            return str(error), 400, None
        if contact is None or contact.domain != "running":
            return f"no runner with phone {form.phone.data}.", 404, None
        upload = request.files.get("file")
        data = upload.read(MAX_FILE_BYTES + 1) if upload else b""
        if not data or len(data) > MAX_FILE_BYTES:
            return "choose a CSV file of at most 5 MB.", 400, None
        try:
            return None, 200, import_garmin(self.store.db, contact, data, local_today(contact))
        except CsvFormatError as error:
            return str(error), 400, None

    def _page_context(self) -> dict:
        # What PanelView.render adds for the layout, for a template given as a string.
        from admin.forms import ActionForm
        from flask_admin import helpers
        return {"admin_view": self, "admin_base_template": self.admin.theme.base_template,
                "h": helpers, "get_url": self.get_url, "signed_in_admin": self.signed_in_admin(),
                "logout_form": ActionForm()}
