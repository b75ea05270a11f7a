"""What a producer's message can mean, and the questions answered from the computed facts
(agro_facts: the FAO-56 water balance per plot, the reports on record) or from the curated pest
texts, with no model call."""
from __future__ import annotations

import re
from functools import lru_cache

from backend.plugins.agro.actions import NUMBER, PLOT_NAME, irrigation_amount, lookup_crop_in
from backend.plugins.agro.intent_examples import EXAMPLES
from backend.plugins.agro.knowledge import KNOWLEDGE_DIR
from backend.plugins.agro.crops import all_crops
from backend.plugins.agro.pests import ALIASES, AMBIGUOUS, BY_KEY, CROP_WORDS, PESTS, find_pest
from backend.spanish import day_name, decimal
from backend.text import fold
from backend.understanding.intents import ACTION, FACT, OPEN, OPEN_QUESTION, Intent

NO_PLOT = ("Aún no tengo tu cultivo y tu fecha de siembra. Cuéntame, por ejemplo: «sembré maíz el 15 de "
           "setiembre en el lote 1».")


def _pick(reading, *variants: str) -> str:
    return variants[reading.turn % len(variants)]


def _plots(facts: dict, reading) -> list[dict]:
    """The plots the question is about: the one it names, else all of them."""
    plots = facts.get("lotes", [])
    named = reading.slots.get("lote")
    chosen = [plot for plot in plots if plot["lote"] == named]
    return chosen or plots


def _per_plot(facts: dict, reading, sentence) -> str:
    """One sentence a plot (the one the message names, else each), with "tu maíz (lote 2)" when
    the producer has several: sentence(plot, what) -> str."""
    plots = _plots(facts, reading)
    if not plots:
        return NO_PLOT
    many = len(facts.get("lotes", [])) > 1
    return " ".join(sentence(plot, f"tu {plot['cultivo']} ({plot['lote']})" if many else f"tu {plot['cultivo']}")
                    for plot in plots)


def _not_advised(plot: dict, what: str) -> str:
    return f"Para {what}: {plot.get('proximo_riego') or plot.get('riego')}."


def _when(plot: dict) -> str:
    return "hoy" if plot["proximo_riego"] == "hoy" else f"el {plot['proximo_riego']}"


def next_irrigation(facts: dict, reading) -> str:
    def sentence(plot: dict, what: str) -> str:
        if "lamina_mm" not in plot:
            return _not_advised(plot, what)
        hours = f", unas {decimal(plot['horas_de_riego'])} horas de riego" if "horas_de_riego" in plot else ""
        return _pick(reading, f"Riega {what} {_when(plot)}: {plot['lamina_mm']} mm{hours}.",
                     f"A {what} le toca riego {_when(plot)}: {plot['lamina_mm']} mm{hours}.")
    return _per_plot(facts, reading, sentence) + _estimate_note(_plots(facts, reading))


def _estimate_note(plots: list[dict]) -> str:
    notes = {plot.get("datos") for plot in plots if "estim" in (plot.get("datos") or "")}
    return f" ({notes.pop()})" if len(notes) == 1 else ""


def irrigation_this_week(facts: dict, reading) -> str:
    def sentence(plot: dict, what: str) -> str:
        days = plot.get("dias_para_riego")
        if days is None:
            return _not_advised(plot, what)
        if days <= 6:
            return f"Sí, {what} necesita riego esta semana: {_when(plot)}, {plot['lamina_mm']} mm."
        return f"No, {what} no necesita riego esta semana; el próximo es el {plot['proximo_riego']}."
    return _per_plot(facts, reading, sentence)


def water_left(facts: dict, reading) -> str:
    def sentence(plot: dict, what: str) -> str:
        if "agua_disponible" not in plot:
            return f"No calculo el agua de {what}: {plot.get('riego')}."
        return f"En la zona de raíces de {what} quedan {plot['agua_disponible']} de agua aprovechable."
    return _per_plot(facts, reading, sentence)


def crop_stage(facts: dict, reading) -> str:
    def sentence(plot: dict, what: str) -> str:
        if "etapa" not in plot:
            return f"{what.capitalize()}: {plot.get('riego')}."
        return f"{what.capitalize()} está en etapa {plot['etapa']} ({plot['dias_desde_siembra']} días desde la siembra)."
    return _per_plot(facts, reading, sentence)


def days_since_sowing(facts: dict, reading) -> str:
    return _per_plot(facts, reading, lambda plot, what:
                     f"{what.capitalize()} tiene {plot['dias_desde_siembra']} días desde la siembra.")


def last_report(key: str, what: str, how: str):
    def answer(facts: dict, reading) -> str:
        found = facts.get(key)
        if not found:
            return f"No tengo {what}. Cuando pase, cuéntame: «{how}»."
        return f"Lo último anotado: {found}."
    return answer


def pest_info(facts: dict, reading) -> str:
    pest = BY_KEY.get(reading.slots.get("plaga", ""))
    if pest is None:
        return ("¿Qué plaga o enfermedad es? Dime su nombre (por ejemplo «rancha», «gusano cogollero») o "
                "descríbeme lo que ves en las hojas o los frutos.")
    sections = pest_sections(pest.key)
    symptoms = sections.get("Síntomas", [])[:2]
    control = sections.get("Control cultural", [])[:3]
    text = f"{pest.name_es.capitalize()} ({pest.scientific})."
    if symptoms:
        text += " Se reconoce por: " + " ".join(symptoms)
    if control:
        text += "\nPara controlarla:\n" + "\n".join(f"• {line}" for line in control)
    help_lines = sections.get("Cuándo pedir ayuda", [])[:1]
    if help_lines:
        text += "\n" + help_lines[0]
    return text


@lru_cache(maxsize=32)
def pest_sections(key: str) -> dict[str, list[str]]:
    """The curated text's sections (data/agro/knowledge/<key>.md): heading -> its bullet lines."""
    sections: dict[str, list[str]] = {}
    current = None
    for line in (KNOWLEDGE_DIR / f"{key}.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            current = sections.setdefault(line[3:].strip(), [])
        elif current is not None and line.strip():
            current.append(line.strip().lstrip("-• ").strip())
    return sections


# Lowest temperature (2 m) from which a frost is a risk for crops: ground and leaves cool below the
# air at screen height on clear nights (SENAMHI warns of «heladas» from 0 °C; 2 °C leaves margin).
FROST_RISK_C = 2.0
RAIN_MM = 1.0  # a day with less is a dry day


def weather_outlook(facts: dict, reading) -> str:
    """Rain and frost for the next 3 days (7 when the question says «semana»), from the forecast."""
    outlook = facts.get("pronostico")
    if outlook is None:
        return NO_PLOT
    if isinstance(outlook, str):
        return (f"No tengo el pronóstico para tu chacra ({outlook}). Dime el distrito o la provincia del lote, por "
                "ejemplo «mi lote está en Huaral», y te digo si viene lluvia o helada.")
    from datetime import date

    days = outlook["dias"][:7 if "semana" in reading.normalized else 3]
    if not days:
        return "No tengo el pronóstico de los próximos días ahora; pregúntame otra vez más tarde."
    today = date.fromisoformat(days[0][0])

    def when(iso: str) -> str:
        day = date.fromisoformat(iso)
        return {0: "hoy", 1: "mañana"}.get((day - today).days, f"el {day_name(day)}")
    rainy = [f"{when(day)} {decimal(mm)} mm" for day, mm, _ in days if mm is not None and mm >= RAIN_MM]
    rain = f"lluvia {_and(rainy)}" if rainy else "sin lluvia"
    lows = [tmin for _, _, tmin in days if tmin is not None]
    frost = [(day, tmin) for day, _, tmin in days if tmin is not None and tmin <= FROST_RISK_C]
    span = f"los próximos {len(days)} días" if len(days) > 3 else "hoy, mañana y pasado"
    text = f"Pronóstico para {outlook['lugar']} ({span}, Open-Meteo): {rain}."
    if frost:
        coldest = min(frost, key=lambda item: item[1])
        text += (f" Riesgo de helada {_and([when(day) for day, _ in frost])} (mínima de {decimal(coldest[1])} °C): "
                 "riega la tarde anterior y cubre almácigos y plantas pequeñas al atardecer.")
    elif lows:
        text += f" Mínimas de {decimal(min(lows))} a {decimal(max(lows))} °C: sin riesgo de helada."
    return text


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " y " + parts[-1]


FACTS = {
    "cuando_regar": ("cuándo y cuánto regar", next_irrigation),
    "regar_semana": ("si necesita regar esta semana", irrigation_this_week),
    "agua_suelo": ("cuánta agua queda en el suelo", water_left),
    "etapa_cultivo": ("en qué etapa está el cultivo", crop_stage),
    "dias_siembra": ("cuántos días tiene el cultivo desde la siembra", days_since_sowing),
    "ultimo_riego": ("cuándo fue su último riego anotado",
                     last_report("ultimo_riego", "ningún riego anotado", "ayer regué 2 horas")),
    "ultima_lluvia": ("cuándo fue la última lluvia anotada",
                      last_report("ultima_lluvia", "ninguna lluvia anotada", "llovió 15 mm")),
    "plaga_info": ("qué es una plaga o cómo controlarla", pest_info),
    "pronostico": ("si va a llover o helar en los próximos días", weather_outlook),
}
ACTIONS = {
    "reportar_riego": ("cuenta un riego que hizo", "¿Cuánto regaste? Dime las horas o los mm, por ejemplo «regué "
                                                   "2 horas» o «regué 20 mm»."),
    "reportar_lluvia": ("cuenta cuánto llovió", "¿Cuántos mm llovió? Por ejemplo «llovió 15 mm»."),
    "reportar_plaga": ("vio una plaga o enfermedad en su campo", "¿Qué plaga viste? Por ejemplo «vi gusano "
                                                                 "cogollero en el lote 2»."),
    "reportar_cosecha": ("cuenta que cosechó", None),
    "reportar_siembra": ("cuenta que sembró", "¿Qué sembraste y dónde? Por ejemplo «sembré papa en el lote 2»."),
    "corregir_lote": ("dice el suelo o el riego de un lote", "Dime el suelo o el riego del lote, por ejemplo «el "
                                                             "lote 2 es arenoso» o «en el lote 2 riego por goteo»."),
}
INTENTS = [
    *(Intent(name, FACT, description, EXAMPLES[name], answer=answer) for name, (description, answer) in FACTS.items()),
    *(Intent(name, ACTION, description, EXAMPLES[name], missing=missing)
      for name, (description, missing) in ACTIONS.items()),
    Intent(OPEN_QUESTION, OPEN, "otra pregunta agrícola (abono, helada, semillas…)", EXAMPLES[OPEN_QUESTION]),
]
MENU = ["cuándo regar y cuánto («¿cuándo riego?»)", "el agua que queda en el suelo",
        "la etapa de tu cultivo", "si viene lluvia o helada («¿va a llover mañana?»)",
        "plagas y cómo controlarlas («¿cómo controlo la rancha?»)",
        "anotar un riego, una lluvia o una plaga («ayer regué 2 horas»)"]

PEST_SLOT_INTENTS = ("plaga_info", "reportar_plaga")


@lru_cache(maxsize=1)
def _entity_patterns() -> tuple[re.Pattern, re.Pattern]:
    pests = {fold(n) for aliases in ALIASES.values() for n in aliases} | set(AMBIGUOUS) | \
        {fold(p.name_es) for p in PESTS}
    crops = {fold(name) for crop in all_crops() for name in (crop.key, crop.name_es, *crop.aliases)} | set(CROP_WORDS)

    def alternation(names: set[str]) -> re.Pattern:
        ordered = sorted(names, key=len, reverse=True)  # "gusano cogollero" before "gusano"
        return re.compile(r"\b(?:" + "|".join(re.escape(n) + r"(?:s|es)?" for n in ordered) + r")\b")
    return alternation(pests), alternation(crops)


def mark_entities(normalized: str) -> str:
    """«cómo controlo la rancha en mi papa» -> «como controlo la zplaga en mi zcultivo»."""
    pests, crops = _entity_patterns()
    return crops.sub("zcultivo", pests.sub("zplaga", normalized))


def read_slots(reading, intent: str) -> dict:
    """The plot, pest, crop and amounts a message gives for its intent, in the labelled set's terms."""
    text = reading.normalized
    slots = {}
    if plot := PLOT_NAME.search(text):
        slots["lote"] = f"lote {plot[2]}"
    if intent in PEST_SLOT_INTENTS and (pest := find_pest(text) or find_pest(reading.corrected)) is not None:
        slots["plaga"] = pest.key
    if intent == "reportar_siembra" and (crop := lookup_crop_in(text) or lookup_crop_in(reading.corrected)):
        slots["cultivo"] = crop
    if intent == "reportar_riego":
        slots.update(irrigation_amount(text) or {})
    if intent == "reportar_lluvia" and (rain := re.search(NUMBER + r"\s*(?:mm|milimetros?|litros)?", text)):
        slots["mm"] = float(rain[1].replace(",", "."))
    return slots

