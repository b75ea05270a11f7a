"""Import the "Activities" CSV that Garmin Connect exports (connect.garmin.com → Actividades →
Exportar CSV) into RunRecords.

Garmin publishes no specification of this file. The format below was checked against real exports
committed to public repositories (read in November 2026), not invented:

* English, e.g. ConMogMatth92/running and tbidne/pacer (its Garmin reader quotes a full header):
  ``Activity Type,Date,Favorite,Title,Distance,Calories,Time,Avg HR,Max HR,Aerobic TE,...,Avg Pace,
  Best Pace,...,Moving Time,Elapsed Time,Min Elevation,Max Elevation``.
* Spanish (asierrodri/EDA-Running from Bilbao, alexisHuaracMallqui/garmin from Lima):
  ``Tipo de actividad,Fecha,Favorito,Título,Distancia,Calorías,Tiempo,Frecuencia cardiaca media,
  FC máxima,...,Ritmo medio,Ritmo óptimo,...,Tiempo en movimiento,Tiempo transcurrido,...``.
  Running types there are "Carrera", "Entrenamiento en cinta" (treadmill) and, untranslated,
  "Trail running".
* The header follows the account's language (a Danish export has "Aktivitetstype,Dato,..."), only
  English and Spanish are recognised here.
* The columns vary with the account and the devices (35 to 44 seen); only Activity Type, Date,
  Distance and Time are required, found by name, never by position.
* Dates are local ``2025-11-13 18:35:58``; times ``00:53:55``, ``00:04:53.4`` (decimals), rarely
  ``mm:ss``; missing values are ``--``; every value after the type and date is usually quoted.
* Numbers follow the account's number format, independently of the language: ``"8.78"`` with
  ``"1,381"`` thousands, or (a Lithuanian account with English headers) ``"10,50"``, ``"9.522"``
  and times like ``00:03:42,5``. The decimal separator is therefore guessed per file.
* There is no activity id column, so duplicates are keyed on start time, distance and time.
* Distances carry no unit: they are in the account's units (km, or miles for imperial accounts),
  and Track Running distances are in metres (``"6,640"`` for 6.64 km in a public test fixture).
  Only an explicit hint ("Distance (mi)", "5.2 mi") switches to miles; otherwise km is assumed and
  the report says so.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from backend.plugins.running.run_record import InvalidRun, RunRecord, dedupe_key, validate_run

MAX_BYTES = 5 * 1024 * 1024
KM_PER_UNIT = {"km": 1.0, "mi": 1.609344, "m": 0.001}
MISSING = {"", "--", "--:--", "--:--:--"}

# Canonical column -> accepted header names, folded (lowercase, no accents), best first.
COLUMNS = {
    "type": ("activity type", "tipo de actividad"),
    "date": ("date", "fecha"),
    "distance": ("distance", "distancia"),
    # "Time" is the timer time Garmin shows as the activity's duration ("Activity Time" in an
    # older export); "Moving Time"/"Elapsed Time" are not stand-ins: other apps' CSVs have them.
    "time": ("time", "tiempo", "activity time"),
    "title": ("title", "titulo"),
    "id": ("activity id", "id de actividad", "activityid"),
}
REQUIRED = ("type", "date", "distance", "time")
SHOWN_NAMES = {
    "en": {"type": "Activity Type", "date": "Date", "distance": "Distance", "time": "Time"},
    "es": {"type": "Tipo de actividad", "date": "Fecha", "distance": "Distancia", "time": "Tiempo"},
}
SPANISH_HEADERS = {"tipo de actividad", "fecha", "distancia", "tiempo", "titulo", "favorito"}

RUNNING_TYPES = {
    "running", "treadmill running", "trail running", "track running", "indoor running",
    "street running", "virtual run", "virtual running", "ultra run", "obstacle run",
    "carrera", "entrenamiento en cinta", "carrera en cinta", "carrera en pista", "carrera en interior",
    "carrera por senderos", "carrera de trail", "carrera virtual", "ultracarrera",
}
# Recorded in metres in the export (see the module docstring).
METRE_TYPES = {"track running", "carrera en pista"}


@dataclass(frozen=True)
class ImportReport:
    runs: list[RunRecord]  # valid runs, source "garmin"
    refused: list[tuple[int, str]]  # (line number in the file, Spanish reason)
    distance_unit: str = "km"  # the unit the Distance column was read in
    unit_assumed: bool = True  # True when the file gave no hint and km was assumed

    def summary_es(self, shown: int = 5) -> str:
        """"12 carreras importadas, 3 rechazadas (línea 5: no es una carrera: Cycling; …)."""
        text = _count(len(self.runs), "carrera importada", "carreras importadas")
        if self.refused:
            text += ", " + _count(len(self.refused), "rechazada", "rechazadas")
            details = "; ".join(f"línea {line}: {reason}" for line, reason in self.refused[:shown])
            if len(self.refused) > shown:
                details += f"; … y {len(self.refused) - shown} más"
            text += f" ({details})"
        text += "."
        if self.unit_assumed:
            text += " Leí las distancias en km: el archivo de Garmin no dice la unidad."
        elif self.distance_unit == "mi":
            text += " Las distancias venían en millas y las pasé a km."
        return text


class CsvFormatError(ValueError):
    """The file as a whole is not a Garmin activities export; the message says why, in Spanish."""


def parse_activities(data: bytes | str, today: date, *, distance_unit: str | None = None) -> ImportReport:
    """Every running activity of the export, validated; everything else refused with its line.

    `distance_unit` ("km" or "mi") overrides the guess, for callers that know the runner's Garmin
    settings. Duplicates inside the file are refused; duplicates against stored runs are the
    caller's job (compare `dedupe_key`)."""
    if distance_unit is not None and distance_unit not in KM_PER_UNIT:
        raise ValueError(f"distance_unit must be one of {sorted(KM_PER_UNIT)}")
    rows = _read_rows(_decode(data))
    _, header = rows[0]
    columns, header_unit = _map_columns(header)
    decimal = _decimal_separator(cell for _, row in rows[1:] for cell in row)
    hinted = header_unit or _unit_in_cells(row[columns["distance"]] for _, row in rows[1:]
                                           if len(row) > columns["distance"])
    unit = distance_unit or hinted or "km"
    assumed = distance_unit is None and hinted is None
    runs: list[RunRecord] = []
    refused: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for line, row in rows[1:]:
        try:
            record = _row_to_run(row, columns, decimal, unit, today)
        except InvalidRun as problem:
            refused.append((line, str(problem)))
            continue
        key = dedupe_key(record)
        if key in seen:
            refused.append((line, f"duplicada (igual que la línea {seen[key]})"))
            continue
        seen[key] = line
        runs.append(record)
    return ImportReport(runs, refused, unit, assumed)


# --- the file as a whole -------------------------------------------------------------------------

def _decode(data: bytes | str) -> str:
    raw = data.encode("utf-8", errors="replace") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_BYTES:
        raise CsvFormatError("El archivo pesa más de 5 MB; exporta menos actividades a la vez.")
    if b"\x00" in raw[:8192]:
        raise CsvFormatError("El archivo no es un CSV de texto (parece binario); "
                             "exporta las actividades de Garmin Connect como CSV.")
    if isinstance(data, str):
        text = data
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            # A CSV re-saved by Excel on Windows is cp1252, not UTF-8.
            try:
                text = raw.decode("cp1252")
            except UnicodeDecodeError:
                raise CsvFormatError("El archivo no es un CSV de texto legible.") from None
    text = text.lstrip("\ufeff")
    if _looks_binary(text):
        raise CsvFormatError("El archivo no es un CSV de texto (parece binario); "
                             "exporta las actividades de Garmin Connect como CSV.")
    if not text.strip():
        raise CsvFormatError("El archivo está vacío.")
    return text


def _looks_binary(text: str) -> bool:
    sample = text[:4096]
    controls = sum(1 for c in sample if ord(c) < 32 and c not in "\t\r\n")
    return controls > len(sample) // 100


def _read_rows(text: str) -> list[tuple[int, list[str]]]:
    """(line number, cells) for the header and every non-blank row."""
    first_line = text.split("\n", 1)[0]
    # European Excel re-saves with semicolons; Garmin itself writes commas.
    delimiter = max(",;\t", key=first_line.count)
    # strict: a stray quote would otherwise swallow the rest of the file into one cell, silently.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows = []
    ended = 0
    try:
        for row in reader:
            # line_num is where a record ends; a quoted cell may wrap, so a row starts after the last.
            started, ended = ended + 1, reader.line_num
            if any(cell.strip() for cell in row):
                rows.append((started, row))
    except csv.Error:
        # csv's own message is English; the runner gets the line and the likely cause.
        raise CsvFormatError(f"El CSV está mal formado cerca de la línea {reader.line_num} "
                             "(unas comillas sin cerrar, por ejemplo).") from None
    if not rows:
        raise CsvFormatError("El archivo está vacío.")
    return rows


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().strip('"').lower())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def _split_unit(header: str) -> tuple[str, str | None]:
    """"distance (mi)" -> ("distance", "mi"): the only unit hint an export could carry."""
    match = re.fullmatch(r"(.*?)\s*\((km|kms|kilometros|mi|millas|miles|m|metros)\)", header)
    if not match:
        return header, None
    unit = {"kms": "km", "kilometros": "km", "millas": "mi", "miles": "mi", "metros": "m"}
    return match.group(1), unit.get(match.group(2), match.group(2))


def _map_columns(header: list[str]) -> tuple[dict[str, int], str | None]:
    """Column index of each canonical name, and the distance unit if the header names one."""
    folded = {}
    distance_unit = None
    for index, name in enumerate(header):
        plain, unit = _split_unit(_fold(name))
        folded.setdefault(plain, index)
        if plain in COLUMNS["distance"] and unit:
            distance_unit = unit
    columns = {}
    for key, aliases in COLUMNS.items():
        for alias in aliases:
            if alias in folded:
                columns[key] = folded[alias]
                break
    missing = [key for key in REQUIRED if key not in columns]
    if missing:
        raise CsvFormatError(_missing_message(missing, folded))
    return columns, distance_unit


def _missing_message(missing: list[str], folded: dict[str, int]) -> str:
    # With at most one column recognised ("Distance" is also Danish) this is another file or
    # another language, not a Garmin export with a column lost.
    if len(missing) >= len(REQUIRED) - 1:
        english = ", ".join(SHOWN_NAMES["en"][key] for key in REQUIRED)
        spanish = ", ".join(SHOWN_NAMES["es"][key] for key in REQUIRED)
        return ("No parece el CSV de actividades de Garmin Connect: no encuentro las columnas "
                f"{english} (en español: {spanish}). Si tu Garmin Connect está en otro idioma, "
                "ponlo en español o inglés y vuelve a exportar.")
    language = "es" if SPANISH_HEADERS & set(folded) else "en"
    names = ", ".join(SHOWN_NAMES[language][key] for key in missing)
    return (f"Al archivo le faltan columnas del CSV de actividades de Garmin Connect: {names}. "
            "Expórtalo desde Garmin Connect → Actividades → Exportar CSV.")


def _unit_in_cells(cells) -> str | None:
    """"mi" when distance cells carry their unit ("3.1 mi"), as some re-saved exports do."""
    for cell in cells:
        match = re.search(r"\d\s*(km|mi)\s*$", cell.strip().lower())
        if match:
            return match.group(1)
    return None


def _decimal_separator(cells) -> str:
    """"," when the file writes decimals with commas ("10,50", "00:03:42,5"), else ".".

    Two decimals after the separator decide it: Garmin writes distances that way, while
    thousands groups always have three digits."""
    commas = dots = 0
    for cell in cells:
        cell = cell.strip()
        if re.fullmatch(r"-?\d+,\d{1,2}|\d+:\d\d(:\d\d)?,\d+", cell):
            commas += 1
        elif re.fullmatch(r"-?\d+\.\d{1,2}|\d+:\d\d(:\d\d)?\.\d+", cell):
            dots += 1
    return "," if commas > dots else "."


# --- one row -------------------------------------------------------------------------------------

def _row_to_run(row: list[str], columns: dict[str, int], decimal: str, unit: str, today: date) -> RunRecord:
    if len(row) <= max(columns[key] for key in REQUIRED):
        raise InvalidRun("fila incompleta")

    def cell(key: str) -> str:  # optional columns (title, id) may be missing or cut short
        index = columns.get(key)
        return row[index].strip() if index is not None and index < len(row) else ""

    activity_type = cell("type")
    if not is_running(activity_type):
        raise InvalidRun(f"no es una carrera: {activity_type or 'sin tipo'}")
    start = parse_start(cell("date"))
    distance_km = parse_distance_km(cell("distance"), decimal, unit, _fold(activity_type))
    duration_s = parse_duration(cell("time"))
    external = cell("id")
    if external and external not in MISSING:
        external_id = f"garmin:{external}"
    else:
        external_id = f"garmin:{start:%Y-%m-%dT%H:%M:%S}|{distance_km:.2f}km|{round(duration_s)}s"
    record = RunRecord(day=start.date(), distance_km=distance_km, duration_s=duration_s,
                       notes=cell("title"), source="garmin", external_id=external_id)
    return validate_run(record, today)


def is_running(activity_type: str) -> bool:
    """Running in any of its Garmin flavours, in English or Spanish; walks and rides are not."""
    folded = _fold(activity_type)
    if folded in RUNNING_TYPES:
        return True
    # Newer or rarer sub-types ("Ultra Running", "Carrera de montaña") keep a recognisable word.
    return bool(re.search(r"\brun(ning)?\b", folded) or folded.startswith("carrera"))


def parse_start(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidRun(f"fecha no válida: {text!r}") from None


def parse_number(text: str, decimal: str = ".") -> float:
    """A Garmin number: "1,381" or "8.78" (decimal "."), "9.522" or "10,50" (decimal ",")."""
    cleaned = text.strip().lstrip("'").replace("\u00a0", "").replace(" ", "")
    thousands = "," if decimal == "." else "."
    cleaned = cleaned.replace(thousands, "").replace(decimal, ".")
    if not re.fullmatch(r"-?\d+(\.\d+)?", cleaned):
        raise ValueError(text)
    return float(cleaned)


def parse_distance_km(text: str, decimal: str, unit: str, folded_type: str = "") -> float:
    if text.strip() in MISSING:
        raise InvalidRun("sin distancia")
    match = re.fullmatch(r"(.*?)\s*(km|mi|m)?", text.strip().lower(), re.DOTALL)  # always matches
    number, cell_unit = match.group(1), match.group(2)
    try:
        value = parse_number(number, decimal)
    except ValueError:
        raise InvalidRun(f"distancia no válida: {text!r}") from None
    if cell_unit is None and folded_type in METRE_TYPES and value >= 100:
        cell_unit = "m"
    # Three decimals is a metre: enough, and no 6.640000000000001 in the runner's log.
    return round(value * KM_PER_UNIT[cell_unit or unit], 3)


def parse_duration(text: str) -> float:
    """Seconds from "01:05:30", "55:20", "00:04:53.4" or "00:03:42,5"."""
    match = re.fullmatch(r"(\d+):(\d{1,2})(?::(\d{1,2}))?(?:[.,](\d+))?", text.strip())
    if not match:
        raise InvalidRun(f"tiempo no válido: {text!r}")
    first, second, third, fraction = match.groups()
    hours, minutes, seconds = (first, second, third) if third is not None else ("0", first, second)
    if int(seconds) >= 60 or (third is not None and int(minutes) >= 60):
        raise InvalidRun(f"tiempo no válido: {text!r}")
    total = int(hours) * 3600 + int(minutes) * 60 + int(seconds)
    return total + (float("0." + fraction) if fraction else 0.0)


def _count(number: int, singular: str, plural: str) -> str:
    return f"{number} {singular if number == 1 else plural}"
