"""An admin page to import a runner's Garmin activities CSV (the same import as the endpoint)."""
from __future__ import annotations

from flask import flash, request
from flask_admin import expose
from flask_babel import gettext, lazy_gettext
from wtforms import FileField, StringField
from wtforms.validators import DataRequired

from admin.auth import PanelView
from admin.forms import PanelForm
from admin.views.base import refuse
from backend.plugin_api import InvalidPhone, core
from backend.plugins.running.garmin_csv import CsvFormatError
from backend.plugins.running.garmin_import import MAX_FILE_BYTES, import_garmin

# In this plug-in's templates/ folder, which its HTTP blueprint (routes.py) makes known to Flask.
TEMPLATE = "running/garmin_import.html"
MENU_NAME = lazy_gettext("Garmin import")  # the panel's menu entry (plugin.py)


class GarminImportForm(PanelForm):
    phone = StringField(lazy_gettext("Runner's phone"), [DataRequired()])
    file = FileField(lazy_gettext("Activities CSV"))


class GarminImportView(PanelView):
    @expose("/", methods=("GET", "POST"))
    def index(self):
        form = GarminImportForm(request.form if request.method == "POST" else None)
        if request.method == "GET":
            return self.render(TEMPLATE, form=form, result=None)
        problem, status, result = self._import(form)
        if result is None:
            refuse(form, problem)  # a missing CSRF token is named by refuse() itself
        else:
            flash(result["summary_es"], "success")
        return self.render(TEMPLATE, form=form, result=result), status

    def _import(self, form: GarminImportForm) -> tuple[str | None, int, dict | None]:
        if not form.validate():
            return None if form.csrf_failed else gettext("enter the runner's phone."), 400, None
        try:
            contact = core.find_contact(self.store.db, core.normalize_phone(form.phone.data))
        except InvalidPhone as error:
            return str(error), 400, None
        if contact is None or contact.domain != "running":
            return gettext("no runner with phone %(phone)s.", phone=form.phone.data), 404, None
        upload = request.files.get("file")
        data = upload.read(MAX_FILE_BYTES + 1) if upload else b""
        if not data or len(data) > MAX_FILE_BYTES:
            return gettext("choose a CSV file of at most 5 MB."), 400, None
        try:
            return None, 200, import_garmin(self.store.db, contact, data, contact.local_today())
        except CsvFormatError as error:
            return str(error), 400, None
