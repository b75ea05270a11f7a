"""Field reports by chat, as actions: "ayer regué 2 horas", "llovió 15 mm", "vi gusano cogollero
en el lote 2", "coseché el lote 1", "sembré papa en el lote 2". What was understood is read back
and kept pending until the producer answers «sí» (or «no»): then it is saved as the same form
submission /form/update would make, so it feeds the water balance and the pest signal.
`detect()` recognizes reports and answers in the producer's own words, so they are kept even when
a small model only answers "¡gracias!"."""
from __future__ import annotations

import re
from datetime import date

from backend.contacts import Contact, save_profile
from backend.forms import save_submission
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
from backend.text import fold

NUMBER = r"(\d+(?:[.,]\d+)?)"
IRRIGATED = re.compile(r"\b(regu?e|regamos|regaron|di riego|he regado|hice riego|riego de)\b")
RAINED = re.compile(r"\b(llovio|llueve|cayeron|cayo|lluvia de|pluviometro)\b")
SEEN = re.compile(r"\b(vi|veo|hay|tiene|tienen|aparecio|aparecieron|encontre|ataque|ataca|mucho|mucha)\b")
HARVESTED = re.compile(r"\b(cosech(?:e|amos|aron)|termine de cosechar|ya coseche)\b")
SOWN = re.compile(r"\b(sembr(?:e|amos|aron)|plant(?:e|amos))\b")
# "lote 2", "parcela alta"; not "mi chacra de arriba" (no name there: the producer's first plot)
PLOT_NAME = re.compile(r"\b(lote|parcela|chacra|campo)\s+(?!(?:de|del|la|el|los|las|mi|su|que|y|con|en|por|para|al|a|es|esta|son|tiene|queda|no|ya|se|le|lo|hoy|ayer)\b)(\w+)")
YES = re.compile(r"^\W*(si|sip|ok|dale|confirmo|correcto|asi es|claro|listo|de acuerdo|anotalo|guardalo)\b")
NO = re.compile(r"^\W*(no|nop|cancela|cancelar|descarta|borra|esta mal)\b")
PENDING = "reporte_pendiente"  # in the profile: the report waiting for the producer's "sí"


def _day(arguments: dict, contact: Contact) -> date:
    today = contact.local_today()
    day = date.fromisoformat(arguments["fecha"]) if arguments.get("fecha") else today
    if day > today:
        raise ActionRefused("No anoté el reporte: la fecha no puede estar en el futuro.")
    return day


def _propose(form: str):
    """A report is checked, then kept as pending: the producer confirms before it counts."""
    def run(ctx: ActionContext, arguments: dict) -> None:
        data = {**arguments, "fecha": _day(arguments, ctx.contact).isoformat()}
        pending = {"accion": form, "datos": data}
        if form == "siembra":
            try:
                data["cultivo"] = lookup_crop(data["cultivo"]).name_es
            except UnknownCrop as problem:
                raise ActionRefused(f"No anoté la siembra: {problem}") from None
        if "lote" in data and not _plot_named(ctx, data["lote"]):
            if form != "siembra":
                raise ActionRefused(f"No anoté el reporte: no tienes un «{data['lote']}». Tus lotes: "
                                    f"{', '.join(p.name for p in producer_plots(ctx.db, ctx.contact))}. Para uno "
                                    f"nuevo, cuéntame qué sembraste: «sembré papa en el {data['lote']}».")
            pending["lote_nuevo"] = True  # sowing a plot the producer never named: it becomes one
        save_profile(ctx.db, ctx.contact, {PENDING: pending})
    return run


def confirm_pending(ctx: ActionContext, arguments: dict) -> None:
    if ctx.contact.profile.get(PENDING) != arguments:
        raise ActionRefused("No tengo ningún reporte por confirmar. Cuéntame qué hiciste en tu chacra.")
    form, data = arguments["accion"], arguments["datos"]
    save_submission(ctx.db.conn, form, ctx.contact.id, data, "chat")
    if form == "cosecha":
        store.mark_harvested(ctx.db.conn, _plot_for(ctx, data).id, date.fromisoformat(data["fecha"]))
    if form == "siembra" and arguments.get("lote_nuevo"):
        _new_plot(ctx, data)
    elif form == "siembra":
        store.replant(ctx.db.conn, _plot_for(ctx, data).id, lookup_crop(data["cultivo"]).key,
                      date.fromisoformat(data["fecha"]))
    save_profile(ctx.db, ctx.contact, {PENDING: None})


def _new_plot(ctx: ActionContext, data: dict) -> None:
    """Place, soil and irrigation as the producer's first plot (onboarding) has them."""
    producer_plots(ctx.db, ctx.contact)  # the onboarding's plot stays "lote 1", the first
    try:
        name, described = read_plot(ctx.contact, data["lote"], {"cultivo": data["cultivo"],
                                                                "fecha_siembra": data["fecha"]})
        save_new_plot(ctx.db.conn, ctx.contact, name, described)
    except PlotRefused as problem:
        raise ActionRefused(f"No anoté la siembra: {problem}") from None


def discard_pending(ctx: ActionContext, arguments: dict) -> None:
    if not ctx.contact.profile.get(PENDING):
        raise ActionRefused("No tengo ningún reporte por confirmar.")
    save_profile(ctx.db, ctx.contact, {PENDING: None})


def _plot_named(ctx: ActionContext, name: str) -> bool:
    return find_plot(store.plots(ctx.db.conn, ctx.contact.id), name) is not None


def _plot_for(ctx: ActionContext, data: dict) -> store.Plot:
    plots = store.plots(ctx.db.conn, ctx.contact.id)
    if not plots:
        raise ActionRefused("Aún no tienes un lote registrado.")
    return find_plot(plots, data.get("lote")) or plots[0]


def _where(arguments: dict) -> str:
    return f" en el {arguments['lote']}" if arguments.get("lote") else ""


def _when(arguments: dict) -> str:
    return f" ({arguments['fecha']})" if arguments.get("fecha") else ""


# --- recognizing reports in the producer's words -----------------------------------------------------

def detect(message: str, contact: Contact) -> dict[str, dict]:
    folded = fold(message)
    pending = contact.profile.get(PENDING)
    if pending and YES.match(folded):
        return {"confirmar_reporte": pending}
    if pending and NO.match(folded):
        return {"descartar_reporte": pending}
    day = find_past_date(folded, contact.local_today()) or contact.local_today()
    base = {"fecha": day.isoformat()}
    if plot := PLOT_NAME.search(folded):
        base["lote"] = f"lote {plot[2]}"
    detected = {}
    if IRRIGATED.search(folded) and (amount := _irrigation_amount(folded)):
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


def _irrigation_amount(folded: str) -> dict | None:
    if match := re.search(NUMBER + r"\s*(?:mm|milimetros)", folded):
        return {"mm": float(match[1].replace(",", "."))}
    if match := re.search(NUMBER + r"\s*(?:h|hr|hrs|horas?)\b", folded):
        return {"horas": float(match[1].replace(",", "."))}
    if re.search(r"\buna hora\b", folded):
        return {"horas": 1.0}
    if re.search(r"\bmedia hora\b", folded):
        return {"horas": 0.5}
    return None


def lookup_crop_in(folded: str) -> str | None:
    for word in re.findall(r"[a-z]+", folded):
        try:
            return lookup_crop(word).key
        except UnknownCrop:
            continue
    return None


def _grounded(action: str):
    """The model's report matches what code reads in the message (or code read nothing to compare)."""
    def check(message: str, arguments: dict) -> bool:
        detected = detect(message, _ANYONE).get(action)
        return detected is not None and all(detected.get(k) == v for k, v in arguments.items()
                                            if k in ("mm", "horas", "lote", "plaga", "cultivo"))
    return check


_ANYONE = Contact(id=0, phone="", name=None, domain="agro", language="es", timezone="America/Lima",
                  opted_out=False, onboarding_step=None)

PENDING_SCHEMA = {"type": "object", "properties": {"accion": {"type": "string", "enum": list(reports.FORMS)},
                                                   "datos": {"type": "object"}, "lote_nuevo": {"type": "boolean"}},
                  "required": ["accion", "datos"], "additionalProperties": False}


def _proposal(name: str, form: str, description: str) -> Action:
    return Action(name, description, reports.FORMS[form], _propose(form),
                  confirm=lambda a: f"¿Anoto {describe(form, a)}? Responde «sí» para guardarlo o «no» para descartarlo.",
                  grounded=_grounded(name))


ACTIONS = {
    "reportar_riego": _proposal("reportar_riego", "riego", "el productor regó"),
    "reportar_lluvia": _proposal("reportar_lluvia", "lluvia", "llovió en la chacra"),
    "reportar_plaga": _proposal("reportar_plaga", "plaga", "el productor vio una plaga o enfermedad"),
    "reportar_cosecha": _proposal("reportar_cosecha", "cosecha", "el productor cosechó"),
    "reportar_siembra": _proposal("reportar_siembra", "siembra", "el productor sembró"),
    "confirmar_reporte": Action("confirmar_reporte", "el productor confirma el reporte pendiente", PENDING_SCHEMA,
                                confirm_pending, confirm=lambda a: _saved(a),
                                grounded=lambda message, a: bool(YES.match(fold(message)))),
    "corregir_lote": CHANGE_PLOT,
    "descartar_reporte": Action("descartar_reporte", "el productor descarta el reporte pendiente", PENDING_SCHEMA,
                                discard_pending, confirm=lambda a: "Listo, no lo guardé.",
                                grounded=lambda message, a: bool(NO.match(fold(message)))),
}


def _saved(pending: dict) -> str:
    text = f"Guardé {describe(pending['accion'], pending['datos'])}."
    if pending["accion"] == "plaga":
        text += " Si varios vecinos ven lo mismo, les aviso a todos."
    if pending.get("lote_nuevo"):
        lote = pending["datos"]["lote"]
        text += (" Es un lote nuevo: le puse el lugar, el suelo y el riego de tu primer lote. Si son otros, "
                 f"dímelo así: «el {lote} es de suelo arenoso» o «en el {lote} riego por aspersión».")
    return text


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
