"""The admin's Plots page: every producer's plots (newest first, optionally one producer's), and a
form that adds a plot to a producer, read the way onboarding reads the answers (the same
add_plot as POST /agro/plots)."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext, lazy_gettext
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional

from admin.auth import PanelView
from admin.forms import PanelForm
from admin.views.base import PAGE_ROWS, bind_form, refuse
from backend.plugin_api import Contact, InvalidPhone, core
from backend.plugins.agro import store
from backend.plugins.agro.crops import UnknownCrop, lookup_crop
from backend.plugins.agro.facts import producer_plots
from backend.plugins.agro.plots import FIELDS, NAME_LENGTH, PlotRefused, add_plot

# In this plug-in's templates/ folder, which its HTTP blueprint (routes.py) makes known to Flask.
TEMPLATE = "agro/plots.html"
MENU_NAME = lazy_gettext("Plots")  # the panel's menu entry (plugin.py)
_TEXT = [Optional(), Length(max=200)]
_FIRST_PLOT = ("cultivo", "fecha_siembra")  # the answers that describe a producer's first plot


class PlotForm(PanelForm):
    """Named like POST /agro/plots's body, so a refusal's field names the form's field."""
    phone = StringField(lazy_gettext("Producer's phone"), [DataRequired(), Length(max=40)])
    lote = StringField(lazy_gettext("Plot name"), [DataRequired(), Length(max=NAME_LENGTH)])
    cultivo = StringField(lazy_gettext("Crop"), [DataRequired(), Length(max=100)])
    fecha_siembra = StringField(lazy_gettext("Planting date"), [DataRequired(), Length(max=100)])
    variedad = StringField(lazy_gettext("Variety"), [Optional(), Length(max=60)])
    area = StringField(lazy_gettext("Area"), _TEXT)
    ubicacion = StringField(lazy_gettext("Place or coordinates"), _TEXT)
    suelo = StringField(lazy_gettext("Soil"), _TEXT)
    riego = StringField(lazy_gettext("Irrigation"), _TEXT)
    fuente_agua = StringField(lazy_gettext("Water source"), _TEXT)


class PlotsView(PanelView):
    @expose("/", methods=("GET", "POST"))
    def index(self):
        form = bind_form(PlotForm, phone=request.args.get("phone", ""))
        if request.method == "GET":
            return self._page(form)
        problem, status, done = self._add(form)
        if done is None:
            refuse(form, problem)  # a missing CSRF token is named by refuse() itself
            return self._page(form), status
        flash(done, "success")
        return redirect(url_for(".index"))

    def _add(self, form: PlotForm) -> tuple[str | None, int, str | None]:
        """(why nothing was saved, HTTP status, None), or (None, 200, what was added)."""
        if not form.validate():
            return None, 400, None
        contact, problem, status = self._producer(form.phone.data)
        if contact is None:
            form.phone.errors.append(problem)
            return problem, status, None
        answers = {name: (form[name].data or "").strip() for name in ("variedad", *FIELDS)}
        try:  # add_plot makes the onboarding's "lote 1" first, only if the new plot is saved
            added = add_plot(self.store.db, contact, form.lote.data, answers)
        except PlotRefused as refused:
            field = form[refused.field] if refused.field in form else form.lote
            field.errors.append(str(refused))
            return gettext("%(problem)s (field: %(field)s)", problem=refused, field=field.label.text), 409 if refused.exists else 400, None
        return None, 200, gettext("Added %(plot)r (%(crop)s) to %(phone)s.", plot=added.name, crop=crop_name(added.crop),
                                  phone=contact.phone)

    def _producer(self, raw_phone: str) -> tuple[Contact | None, str | None, int]:
        try:
            phone = core.normalize_phone(raw_phone)
        except InvalidPhone as problem:
            return None, str(problem), 400
        contact = core.find_contact(self.store.db, phone)
        if contact is None or contact.domain != "agro":
            return None, gettext("no producer with phone %(phone)s.", phone=phone), 404
        return contact, None, 200

    def _page(self, form: PlotForm):
        db = self.store.db
        if request.method == "GET":  # a refused post writes nothing, not even the onboarding plots
            with core.transaction(db):
                for contact in without_plots(db):
                    producer_plots(db, contact)
        shown, contact_id = request.args.get("phone", "").strip(), None
        if shown:
            contact, problem, _ = self._producer(shown)
            if contact is None:
                flash(gettext("Showing every plot: %(problem)s", problem=problem), "error")
                shown = ""
            else:
                shown, contact_id = contact.phone, contact.id
        rows = store.listed_plots(db, PAGE_ROWS + 1, contact_id)
        return self.render(TEMPLATE, form=form, rows=rows[:PAGE_ROWS], truncated=len(rows) > PAGE_ROWS,
                           shown=shown, crop_name=crop_name)


def without_plots(db) -> list[Contact]:
    """Onboarded producers (their answers name a crop and a planting date, whatever step they are
    at) whose first plot ("lote 1") is not made yet."""
    with_plots = store.producers_with_plots(db)
    return [contact for contact in core.contacts(db, "agro", settled=False) if contact.id not in with_plots
            and all(contact.profile.get(key) is not None for key in _FIRST_PLOT)]


def crop_name(key: str) -> str:
    try:
        return lookup_crop(key).name_es
    except UnknownCrop:
        return key
