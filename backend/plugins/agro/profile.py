"""The producer's profile: the onboarding questions and how each answer is read. Every parser
raises ValueError with a Spanish sentence the producer sees, followed by the question again.
The answers also describe the first plot ("lote 1"); more plots come later."""
from __future__ import annotations

import calendar

import re
from datetime import date, timedelta

from backend.spanish import MONTH_NUMBERS, MONTH_WORDS, find_calendar_date, nearest
from backend.text import fold

DONT_KNOW = ("no se", "nose", "no lo se", "ni idea", "no", "ninguna", "-")
METHODS = {  # what producers say -> the method; rates are typical when they do not know theirs
    "goteo": "goteo", "gota": "goteo", "aspersion": "aspersion", "aspersor": "aspersion",
    "gravedad": "gravedad", "surco": "gravedad", "inundacion": "gravedad", "melga": "gravedad",
    "secano": "secano", "lluvia": "secano", "temporal": "secano",
}
METHOD_NAMES_ES = {"goteo": "goteo", "aspersion": "aspersión", "gravedad": "gravedad (surcos)",
                   "secano": "secano (lluvia)"}
WATER_SOURCES = {"rio": "río", "pozo": "pozo", "canal": "canal", "acequia": "canal", "reservorio": "reservorio",
                 "qocha": "reservorio", "cocha": "reservorio", "lluvia": "lluvia", "manantial": "manantial",
                 "puquio": "manantial", "red": "red pública"}
NUMBER = r"\d+(?:[.,]\d+)?"


def parse_crop(answer: str) -> str:
    from backend.plugins.agro.crops import UnknownCrop, lookup_crop

    try:
        return lookup_crop(answer.strip()).key
    except UnknownCrop as problem:
        raise ValueError(str(problem)) from None  # it names the crop and lists the known ones


def parse_variety(answer: str) -> str:
    folded = fold(answer).strip(" .")
    return "" if folded in DONT_KNOW else answer.strip()[:60]


def parse_planting_date(answer: str, today: date | None = None) -> str:
    """An ISO date, not in the future: '15/08/2026', '15 de agosto', 'hace 3 meses', 'ayer'."""
    today = today or date.today()
    day = find_past_date(fold(answer), today)
    if day is None:
        raise ValueError("Escribe la fecha de siembra, por ejemplo 15/08/2026, «15 de agosto» o «hace 2 meses».")
    if day > today:
        raise ValueError("La fecha de siembra no puede estar en el futuro.")
    return day.isoformat()


OLDEST_DAYS = 100 * 365  # "hace N años" past a century is read as no date, not an overflow


def find_past_date(folded: str, today: date) -> date | None:
    if re.search(r"\bhoy\b", folded):
        return today
    if re.search(r"\banteayer\b", folded):
        return today - timedelta(days=2)
    if re.search(r"\bayer\b", folded):
        return today - timedelta(days=1)
    if match := re.search(r"hace\s+(\d+|un|una|dos|tres|cuatro|cinco|seis)\s+(dia|semana|mes|ano)", folded):
        count = {"un": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6}.get(match[1])
        count = count or int(match[1][:6])  # "hace 99999999 años" is no date anyone sowed on
        days = {"dia": 1, "semana": 7, "mes": 30, "ano": 365}[match[2]] * count
        if days > OLDEST_DAYS:
            return None
        if match[2] in ("mes", "ano"):  # the calendar's: «hace 3 meses» on 2 December is 2 September
            return _months_before(today, count * (12 if match[2] == "ano" else 1))
        return today - timedelta(days=days)
    return find_calendar_date(folded, today, ahead=False) or _month_alone(folded, today)


def _months_before(today: date, months: int) -> date:
    """The same day `months` calendar months back, or that month's last day (31 May - 3 = 28 Feb)."""
    year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
    return date(year, month + 1, min(today.day, calendar.monthrange(year, month + 1)[1]))


def _month_alone(folded: str, today: date) -> date | None:
    """«en octubre», «sembré en agosto»: the 15th of the last such month up to today."""
    match = re.search(rf"\b({MONTH_WORDS})\b", folded)
    return nearest(today, MONTH_NUMBERS[match[1]], 15, None, ahead=False) if match else None


def parse_area(answer: str) -> float:
    """Hectares: '2 ha', '2,5 hectáreas', 'media hectárea', '5000 m2', '1 topo' is not known."""
    folded = fold(answer)
    if re.search(r"\bmedia\s+hectarea", folded):
        return 0.5
    match = re.search(rf"({NUMBER})\s*(ha|hectareas?|m2|metros?|mts?|m²)?", folded)
    if match is None:
        raise ValueError("Escribe el área, por ejemplo «2 ha» o «5000 m2».")
    value = float(match[1].replace(",", "."))
    hectares = value / 10_000 if match[2] and match[2].startswith(("m", "mt")) else value
    if not 0 < hectares <= 10_000:
        raise ValueError("El área debe ser mayor que 0 y menor que 10 000 ha.")
    return round(hectares, 4)


def parse_location(answer: str) -> dict:
    """Coordinates ('-7.16, -78.51') or a named place ('Cajamarca'); the place is looked up on
    the map when the weather is first needed."""
    text = answer.strip()
    if match := re.search(rf"(-?{NUMBER})\s*[,;\s]\s*(-?{NUMBER})", text):
        latitude, longitude = (float(match[i].replace(",", ".")) for i in (1, 2))
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise ValueError("Esas coordenadas no existen: la latitud va de -90 a 90 y la longitud de -180 a 180.")
        return {"latitude": latitude, "longitude": longitude, "place": ""}
    if not re.search(r"[^\W\d_]{3,}", text) or VAGUE_PLACE.match(fold(text)):
        raise ValueError("¿En qué distrito o provincia? Por ejemplo «Huancayo» o «Chancay»; también puedes "
                         "enviarme tu ubicación 📍.")
    return {"latitude": None, "longitude": None, "place": text[:80]}


VAGUE_PLACE = re.compile(r"^\W*(por |en )?(aca|aqui|alla|ahi|cerca|lejos|mi casa|mi chacra|el campo|la sierra|"
                         r"la selva|la costa|mi pueblo|el pueblo)\W*$")


def parse_soil(answer: str) -> str:
    from backend.plugins.agro.soils import lookup_soil

    try:
        return lookup_soil(answer.strip()).key
    except ValueError as problem:
        raise ValueError(str(problem)) from None


MAX_RATE_MM_H = 200.0  # past any drip or sprinkler; the chat's plot change (plot_changes.SCHEMA) says the same


def parse_irrigation(answer: str) -> dict:
    """'goteo', 'aspersión 6 mm/h', 'por gravedad', 'secano': the method and its rate if given."""
    folded = fold(answer)
    method = next((m for word, m in METHODS.items() if word in folded), None)
    if method is None:
        raise ValueError("Responde goteo, aspersión, gravedad o secano (solo lluvia).")
    rate = re.search(rf"({NUMBER})\s*mm\s*(?:/|por|x)\s*h", folded, re.ASCII)
    if rate is None:
        return {"method": method, "rate_mm_h": None}
    rate_mm_h = float(rate[1].replace(",", "."))
    if not 0 < rate_mm_h <= MAX_RATE_MM_H:  # kept, «goteo 99999999 mm/h» failed every later answer
        raise ValueError(f"Un riego de {rate[1]} mm/h no es posible: un goteo da unos 1 a 10 mm/h y una "
                         f"aspersión hasta unos 50. ¿Cuántos mm por hora da tu riego?")
    return {"method": method, "rate_mm_h": rate_mm_h}


def parse_water_source(answer: str) -> str:
    folded = fold(answer)
    source = next((name for word, name in WATER_SOURCES.items() if word in folded), None)
    if source is None and folded.strip(" .") in DONT_KNOW:
        return ""
    return source or answer.strip()[:40]


# --- reading a free-form message for everything it states (onboarding's first messages) ----------
# «tengo papa en Huancayo», «papa canchán, 2 ha, sembré el 15 de setiembre, riego por aspersión»

def find_crop(text: str) -> str | None:
    """The first crop the message names («siembro maíz y quinua»: maíz), the longest name at that
    place («maíz amarillo» before «maíz»)."""
    from backend.plugins.agro.crops import crop_names

    folded = f" {' '.join(re.findall(r'[a-z0-9ñ]+', fold(text)))} "
    found = []  # (position, longer first, key)
    for name, key in crop_names():
        for form in (f" {name} ", f" {name}s ", f" {name}es "):
            if (position := folded.find(form)) >= 0:
                found.append((position, -len(name), key))
    return min(found)[2] if found else None


def find_variety(text: str) -> str | None:
    """The word after the crop when it names a variety: «papa canchán», «papa nativa»."""
    from backend.plugins.agro.crops import crop_names

    folded = fold(text)
    for name, _ in crop_names():
        if match := re.search(rf"\b{re.escape(name)}\s+([a-zñ]{{4,}})\b", folded):
            word = match[1]
            if word not in NOT_A_VARIETY and not re.match(r"(en|de|y|con|que|esta|tiene|por)$", word):
                return text[match.start(1):match.end(1)] if len(text) == len(folded) else word
    return None


NOT_A_VARIETY = {"tiene", "tengo", "esta", "estan", "para", "pero", "cuando", "como", "necesita", "hectareas",
                 "hectarea", "sembrada", "sembrado", "riego", "desde", "hace", "nomas", "tambien"}


def find_planting_date(text: str, today: date | None = None) -> str | None:
    """A sowing date the message tells («sembré el 15 de setiembre», «siembra hace 2 meses»);
    a date without a sowing word is not taken for one."""
    today = today or date.today()
    folded = fold(text)
    match = re.search(r"\b(sembr\w*|siembr\w*|plant\w*)\b(.*)", folded)
    if match is None:
        return None
    day = find_past_date(match[2], today) or find_past_date(folded[:match.start()], today)
    return day.isoformat() if day is not None and day <= today else None


def find_area(text: str) -> float | None:
    match = re.search(rf"({NUMBER})\s*(ha|hectareas?|has|m2|metros cuadrados|m²)\b", fold(text))
    if match is None:
        return None
    try:
        return parse_area(match[0])
    except ValueError:
        return None


PLACE_AFTER = re.compile(r"\b(?:en|de|desde|por|toy en|vivo en|distrito de|provincia de|region)\s+"
                         r"((?:la |el |los )?[a-zñ]{3,}(?: [a-zñ]{3,})?)")
NOT_A_PLACE = {"aca", "agua", "ahi", "alla", "anos", "aqui", "aspersion", "aspersor", "aspersores", "ayuda",
               "campo", "canal", "cerca", "chacra", "como", "con", "consejos", "costa", "cuando", "cultivo",
               "cultivos", "dias", "el", "estoy", "forma", "gota", "goteo", "gravedad", "ha", "hace",
               "hectarea", "hectareas", "la", "lluvia", "lote", "maiz", "manera", "mes", "meses", "mi", "mis",
               "nada", "nuevo", "papa", "parcela", "peso", "plaga", "plagas", "por", "pozo", "riego", "rio",
               "secano", "selva", "semana", "sembre", "siembra", "sierra", "soy", "su", "suelo", "surcos",
               "tengo", "tierra", "todo", "variedad", "zona",
               *MONTH_NUMBERS}  # words that follow «en/de/por» and are no place


def find_place(text: str) -> dict | None:
    """Coordinates (a WhatsApp location arrives as them), or the place after «en», «de», «por»…
    («tengo papa en Huancayo», «mi café está en la selva de Satipo»)."""
    if re.search(r"-?\d{1,2}[.,]\d+\s*[,;\s]\s*-?\d{1,3}[.,]\d+", text):
        try:
            return parse_location(text)
        except ValueError:
            return None
    folded = fold(text)
    if len(folded) != len(text):
        return None  # the folded offsets would not fit the text as written; very rare (ligatures)
    from backend.plugins.agro.crops import crop_names

    crops = {name for name, _ in crop_names()}
    for match in PLACE_AFTER.finditer(folded):
        words = match[1].split()
        if words[0] in ("la", "el", "los"):
            words = words[1:]
        words = words[:1] if len(words) > 1 and (words[1] in NOT_A_PLACE or words[1] in crops) else words
        if not words or words[0] in NOT_A_PLACE or words[0] in crops or " ".join(words) in crops:
            continue
        start = match.start(1) + match[1].index(words[0])
        return {"latitude": None, "longitude": None, "place": text[start:start + len(" ".join(words))].strip()}
    return _place_beside_crop(text, folded, crops)


def _place_beside_crop(text: str, folded: str, crops: set[str]) -> dict | None:
    """«maíz, Huaral» or «tomate, 0.5 ha, riego por gravedad, Cañete»: a short list naming a crop,
    and one item that is a bare name and nothing else Chasqui knows."""
    parts = [part.strip() for part in re.split(r"[,;/]| - ", folded)]
    if len(parts) < 2 or len(folded.split()) > 12 or not any(find_crop(part) for part in parts):
        return None
    names = [part for part in parts if re.fullmatch(r"[a-zñ]{3,}( [a-zñ]{3,})?", part) and not find_crop(part)
             and not any(word in NOT_A_PLACE for word in part.split()) and not VAGUE_PLACE.match(part)]
    if len(names) != 1:
        return None
    start = folded.index(names[0])
    return {"latitude": None, "longitude": None, "place": text[start:start + len(names[0])]}


def find_soil(text: str) -> str | None:
    from backend.plugins.agro.soils import find_soil_in

    words = re.sub(r"[^\w\s]", " ", text)  # «suelo arcilloso, goteo…»: the comma is no part of a name
    soil = find_soil_in(words) if re.search(r"\b(suelo|tierra)\b", fold(text)) else None
    return soil.key if soil else None


def find_irrigation(text: str) -> dict | None:
    folded = fold(text)
    # A method's own name is enough («goteo 4 mm/h»); the words that also mean other things
    # («lluvia», «surco», «temporal») count only as a way of irrigating («riego por surcos»).
    if not re.search(r"\b(riego|riegos|riegan?|regamos|por|con|de)\s+(goteo|aspersion|aspersores?|gravedad|surcos?|"
                     r"inundacion|melgas?|secano)\b|\b(secano|goteo|aspersion|aspersores|gravedad)\b", folded):
        return None
    try:
        return parse_irrigation(folded)
    except ValueError:
        return None


def find_water_source(text: str) -> str | None:
    match = re.search(r"\b(?:agua|riego|riego con agua)\s+(?:de|del)\s+(?:la |el )?([a-z]+)", fold(text))
    return WATER_SOURCES.get(match[1]) if match else None


def assumed_planting_date(profile: dict, today: date | None = None) -> str | None:
    """Sowing date unknown: the crop is taken to be in mid-season (the middle of its "media"
    stage), the stage most producers ask about; said to the producer, who can correct it."""
    from backend.plugins.agro.crops import UnknownCrop, lookup_crop

    if "cultivo" not in profile:
        return None
    try:
        crop = lookup_crop(profile["cultivo"])
    except UnknownCrop:
        return None
    today = today or date.today()
    l_ini, l_dev, l_mid, _ = crop.lengths
    return (today - timedelta(days=l_ini + l_dev + max(l_mid // 2, 30))).isoformat()


def needs_planting_date(profile: dict) -> bool:
    """Only an annual crop's stage depends on when it was sown; a perennial's is assumed."""
    from backend.plugins.agro.crops import UnknownCrop, lookup_crop

    try:
        return "cultivo" in profile and lookup_crop(profile["cultivo"]).habit == "annual"
    except UnknownCrop:
        return True


def describe(name: str, value) -> str:
    """How onboarding reads a field back: «papa», «Huancayo», «sembrada el 2 de octubre»."""
    from backend.plugins.agro.crops import lookup_crop
    from backend.spanish import long_date

    if name == "cultivo":
        return lookup_crop(value).name_es
    if name == "ubicacion":
        return value.get("place") or f"{value.get('latitude')}, {value.get('longitude')}"
    if name == "fecha_siembra":
        return f"sembrado el {long_date(date.fromisoformat(value))}"
    if name == "area_ha":
        return f"{value:g} ha"
    if name == "suelo":
        return f"suelo {value}"
    if name == "riego":
        return f"riego por {METHOD_NAMES_ES.get(value.get('method'), value.get('method'))}"
    if name == "fuente_agua":
        return f"agua de {value}" if value else ""
    return str(value)


def follow_profile(db, contact, changed: dict) -> None:
    """The first plot is made from the onboarding answers: a soil or irrigation given later
    reaches it too (store.update_plot leaves what is not given as it is)."""
    from backend.plugins.agro import store

    plots = store.plots(db, contact.id)
    if plots and ("suelo" in changed or "riego" in changed):
        irrigation = changed.get("riego") or {}
        store.update_plot(db, plots[0].id, soil=changed.get("suelo"), method=irrigation.get("method"),
                          rate_mm_h=irrigation.get("rate_mm_h"))
