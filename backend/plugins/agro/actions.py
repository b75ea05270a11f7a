"""Field reports by chat, as actions: "ayer regué 2 horas", "llovió 15 mm", "vi gusano cogollero
en el lote 2", "coseché el lote 1", "sembré papa en el lote 2". Each is saved as the same form
submission /form/update would make, so it feeds the water balance and the pest signal. An
irrigation or a rain carries its own figures: it is saved at once and read back. A pest, a harvest
or a sowing is first checked (`prepare`) and asked (`ask`); the core keeps it until the producer's
«sí». `run` returns what `undo` needs to take it back («deshacer»): the submission, and the plot
it created or what it changed on one.
`detect()` reads the reports in the producer's own words: code, never the model, decides that a
report is made."""
from __future__ import annotations

import re
from datetime import date

from backend.plugin_api import Contact, core
from backend.plugins.agro import reports, store
from backend.plugins.agro.crops import UnknownCrop, lookup_crop
from backend.plugins.agro.facts import producer_plots
from backend.plugins.agro.pests import find_pest
from backend.plugins.agro.plot_changes import ACTION as CHANGE_PLOT
from backend.plugins.agro.plot_changes import detect_change
from backend.plugins.agro.plots import PlotRefused, find_plot, read_plot, save_new_plot
from backend.plugins.agro.profile import find_past_date
from backend.plugins.base import Action, ActionContext, ActionRefused
from backend.spanish import decimal

NUMBER = r"(\d+(?:[.,]\d+)?)"
IRRIGATED = re.compile(r"\b(regu?e|regamos|regaron|di riego|he regado|hice riego|riego de)\b")
RAINED = re.compile(r"\b(llovio|llueve|cayeron|cayo|lluvia de|pluviometro)\b")
SEEN = re.compile(r"\b(vi|veo|hay|tiene|tienen|aparecio|aparecieron|encontre|ataque|ataca|mucho|mucha)\b")
HARVESTED = re.compile(r"\b(cosech(?:e|amos|aron)|termine de cosechar|ya coseche)\b")
SOWN = re.compile(r"\b(sembr(?:e|amos|aron)|plant(?:e|amos))\b")
# "lote 2", "parcela alta"; not "mi chacra de arriba" (no name there: the producer's first plot)
PLOT_NAME = re.compile(r"\b(lote|parcela|chacra|campo)\s+(?!(?:de|del|la|el|los|las|mi|su|que|y|con|en|por|para|al|a|es|esta|son|tiene|queda|no|ya|se|le|lo|hoy|ayer)\b)(\w+)")
# In a sowing's arguments, never in the saved submission: the plot is new and the sowing makes it.
NEW_PLOT = "lote_nuevo"


def _day(arguments: dict, contact: Contact) -> date:
    today = contact.local_today()
    day = date.fromisoformat(arguments["fecha"]) if arguments.get("fecha") else today
    if day > today:
        raise ActionRefused("No anoté el reporte: la fecha no puede estar en el futuro.")
    return day


def _checked(form: str):
    """The report as it will run, or ActionRefused: a date in the future, an unknown crop, a plot
    the producer does not have (a sowing there makes it: it is marked `lote_nuevo`)."""
    def prepare(ctx: ActionContext, arguments: dict) -> dict:
        data = {key: value for key, value in arguments.items() if key != NEW_PLOT}
        data["fecha"] = _day(arguments, ctx.contact).isoformat()
        if form == "siembra":
            try:
                data["cultivo"] = lookup_crop(data["cultivo"]).name_es
            except UnknownCrop as problem:
                raise ActionRefused(f"No anoté la siembra: {problem}") from None
        plots = producer_plots(ctx.db, ctx.contact)
        if "lote" in data and find_plot(plots, data["lote"]) is None:
            if form != "siembra":
                raise ActionRefused(f"No anoté el reporte: no tienes un «{data['lote']}». Tus lotes: "
                                    f"{', '.join(p.name for p in plots)}. Para uno nuevo, cuéntame qué "
                                    f"sembraste: «sembré papa en el {data['lote']}».")
            _described_plot(ctx, data)  # what could not become a plot is refused now, not after «sí»
            data[NEW_PLOT] = True
        elif not plots and form in ("cosecha", "siembra"):
            raise ActionRefused("Aún no tienes un lote registrado.")
        return data
    return prepare


def _saving(form: str):
    """Saves the report (and marks the harvest, replants, or makes the new plot); returns what
    undoing it needs."""
    prepare = _checked(form)

    def run(ctx: ActionContext, arguments: dict) -> dict:
        # Checked again: a report with its own figures runs without `prepare`, and the plots may
        # have changed since the question was asked.
        data = prepare(ctx, arguments)
        new_plot = data.pop(NEW_PLOT, False) or arguments.get(NEW_PLOT) is True
        connection = ctx.db
        undo: dict = {}
        if form == "siembra" and new_plot:
            name, described = _described_plot(ctx, data)
            try:
                undo["created_plot"] = save_new_plot(connection, ctx.contact, name, described).id
            except PlotRefused as problem:  # a plot of that name appeared since «¿Anoto…?»
                raise ActionRefused(f"No anoté la siembra: {problem}") from None
        elif form in ("cosecha", "siembra"):
            plot = _plot_for(ctx, data)
            columns = ("harvested_on",) if form == "cosecha" else ("crop", "planting_date", "harvested_on")
            undo.update(plot=plot.id, previous=store.plot_state(connection, plot.id, columns))
            day = date.fromisoformat(data["fecha"])
            if form == "cosecha":
                store.mark_harvested(connection, plot.id, day)
            else:
                store.replant(connection, plot.id, lookup_crop(data["cultivo"]).key, day)
        undo["submission"] = core.save_submission(connection, form, ctx.contact.id, data, "chat")
        return undo
    return run


def undo_report(ctx: ActionContext, undo: dict) -> None:
    """Takes back exactly what `run` did: the submission, the plot it made or the plot's previous state."""
    connection = ctx.db
    core.delete_submission(connection, ctx.contact.id, undo["submission"])
    if "created_plot" in undo:
        store.delete_plot(connection, ctx.contact.id, undo["created_plot"])
    if "plot" in undo:
        store.restore_plot(connection, ctx.contact.id, undo["plot"], undo["previous"])


def _described_plot(ctx: ActionContext, data: dict) -> tuple[str, dict]:
    """The new plot with place, soil and irrigation as the producer's first plot (onboarding) has them."""
    try:
        return read_plot(ctx.contact, data["lote"], {"cultivo": data["cultivo"], "fecha_siembra": data["fecha"]})
    except PlotRefused as problem:
        raise ActionRefused(f"No anoté la siembra: {problem}") from None


def _plot_for(ctx: ActionContext, data: dict) -> store.Plot:
    plot = find_plot(store.plots(ctx.db, ctx.contact.id), data.get("lote"))
    if plot is None:
        raise ActionRefused("Aún no tienes un lote registrado.")
    return plot


def _where(arguments: dict) -> str:
    return f" en el {arguments['lote']}" if arguments.get("lote") else ""


def _when(arguments: dict) -> str:
    return f" ({arguments['fecha']})" if arguments.get("fecha") else ""


# --- recognizing reports in the producer's words -----------------------------------------------------

def detect(reading, contact: Contact) -> dict[str, dict]:
    """The reports and plot changes the producer's words give (a Reading: folded, number words as
    digits, `text` as written)."""
    folded = message = reading.normalized
    day = find_past_date(folded, contact.local_today()) or contact.local_today()
    base = {"fecha": day.isoformat()}
    if plot := PLOT_NAME.search(folded):
        base["lote"] = f"lote {plot[2]}"
    detected = {}
    if IRRIGATED.search(folded) and (amount := irrigation_amount(folded)):
        detected["reportar_riego"] = {**base, **amount}
    if RAINED.search(folded) and (rain := re.search(NUMBER + r"\s*(?:mm|milimetros)", folded)):
        detected["reportar_lluvia"] = {"fecha": base["fecha"], "mm": float(rain[1].replace(",", "."))}
    if (pest := find_pest(message)) is not None and SEEN.search(folded):
        detected["reportar_plaga"] = {**base, "plaga": pest.name_es}
    if HARVESTED.search(folded):
        detected["reportar_cosecha"] = base
    if SOWN.search(folded):
        try:
            crop = lookup_crop_in(folded)
        except UnknownCrop:
            crop = None
        if crop:
            detected["reportar_siembra"] = {**base, "cultivo": crop}
    if not detected and (change := detect_change(message, base.get("lote"))):
        detected["corregir_lote"] = change
    return detected


def irrigation_amount(normalized: str) -> dict | None:
    """{"mm": …} or {"horas": …} in a normalized message ("media hora" reads "30 min" there)."""
    if match := re.search(NUMBER + r"\s*(?:mm|milimetros?)\b", normalized):
        return {"mm": float(match[1].replace(",", "."))}
    if match := re.search(NUMBER + r"\s*(?:h|hr|hrs|horas?)\b", normalized):
        return {"horas": float(match[1].replace(",", "."))}
    if match := re.search(NUMBER + r"\s*min\b", normalized):
        return {"horas": round(float(match[1].replace(",", ".")) / 60, 2)}
    return None


def lookup_crop_in(folded: str) -> str | None:
    """The first crop the text names, singular or plural ("mangos", "frijoles")."""
    for word in re.findall(r"[a-z]+", folded):
        for candidate in dict.fromkeys((word, word.removesuffix("s"), word.removesuffix("es"))):
            try:
                return lookup_crop(candidate).key
            except UnknownCrop:
                continue
    return None


def _saved(form: str):
    def read_back(arguments: dict) -> str:
        text = f"Guardé {describe(form, arguments)}."
        if form == "plaga":
            text += " Si varios vecinos ven lo mismo, les aviso a todos."
        if arguments.get(NEW_PLOT):
            lote = arguments["lote"]
            text += (" Es un lote nuevo: le puse el lugar, el suelo y el riego de tu primer lote. Si son otros, "
                     f"dímelo así: «el {lote} es de suelo arenoso» o «en el {lote} riego por aspersión».")
        return text
    return read_back


def describe(form: str, a: dict) -> str:
    where, when = _where(a), _when(a)
    return {"riego": lambda: f"tu riego de {_amount(a)}{where}{when}",
            "lluvia": lambda: f"{decimal(a['mm'])} mm de lluvia{when}",
            "plaga": lambda: f"{a['plaga']}{where}{when}",
            "cosecha": lambda: f"la cosecha{where}{when}",
            "siembra": lambda: f"la siembra de {a['cultivo']}{where}{when}"}[form]()


def _amount(arguments: dict) -> str:
    if arguments.get("mm"):
        return f"{decimal(arguments['mm'])} mm"
    hours = arguments["horas"]
    return f"{decimal(hours)} hora{'' if hours == 1 else 's'}"


def _report(name: str, form: str, description: str, asks_first: bool = True) -> Action:
    schema = reports.FORMS[form]
    if form == "siembra":  # the form's schema, and the mark `prepare` leaves on a sowing in a new plot
        schema = {**schema, "properties": {**schema["properties"], NEW_PLOT: {"type": "boolean"}}}
    return Action(name, description, schema, _saving(form), confirm=_saved(form),
                  ask=lambda a: f"¿Anoto {describe(form, a)}?", asks_first=lambda a: asks_first,
                  prepare=_checked(form), undo=undo_report)


ACTIONS = {
    # an irrigation's hours or millimetres, a rain's millimetres: saved at once and read back
    "reportar_riego": _report("reportar_riego", "riego", "el productor regó", asks_first=False),
    "reportar_lluvia": _report("reportar_lluvia", "lluvia", "llovió en la chacra", asks_first=False),
    "reportar_plaga": _report("reportar_plaga", "plaga", "el productor vio una plaga o enfermedad"),
    "reportar_cosecha": _report("reportar_cosecha", "cosecha", "el productor cosechó"),
    "reportar_siembra": _report("reportar_siembra", "siembra", "el productor sembró"),
    "corregir_lote": CHANGE_PLOT,
}
